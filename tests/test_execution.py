"""Executing assertions: the synthetic corpus runs, wrong, broken, looping and JVM-killing
predictions are told apart, mutants are made and killed as documented."""
from collections import defaultdict

import pytest

from trident.data.records import Record
from trident.data.synth.writer import generate_labelled
from trident.execution.execute import Example, ExecResult, execute
from trident.execution.mutants import mutants, rename_method, schema
from trident.execution.sources import Executable, fill

CALC = Executable("Calc", ("private int total;",))
ADD = "public int add(int a, int b) {\n    total += a;\n    return a + b;\n}"
TEST = "@Test\nvoid testAdd() {\n    Calc calc = new Calc();\n    int sum = calc.add(1, 2);\n    <AssertPlaceHolder>;\n}"


def _example(prediction: str, i: int = 0, reference=("assertEquals(3, sum);",)) -> Example:
    return Example(str(i), ADD, TEST, CALC, tuple(reference), prediction)


@pytest.fixture(scope="module")
def corpus_results():
    labelled = generate_labelled(400, 7)
    examples = []
    for i, (_, r) in enumerate(labelled):
        record = Record(str(i), r["focal_method"], r["test_method_masked"], r["assertions"], {"executable": r["executable"]})
        examples.append(Example(str(i), r["focal_method"], r["test_method_masked"], Executable.of(record),
                                tuple(r["assertions"]), "\n".join(r["assertions"])))
    return labelled, execute(examples)


def test_every_reference_assertion_of_a_generated_corpus_compiles_and_passes(corpus_results):
    labelled, results = corpus_results
    failing = [(shape, r.error) for (shape, _), r in zip(labelled, results) if not (r.executable and r.passes)]
    assert not failing, failing[:5]


def test_the_reference_assertions_kill_a_mutant_of_every_shape(corpus_results):
    labelled, results = corpus_results
    killed = defaultdict(int)
    for (shape, _), r in zip(labelled, results):
        killed[shape] += r.killed_mutants
        assert r.killed_mutants == r.mutants  # the reference kills what it keeps, by definition
    assert len(killed) == 20 and all(killed.values()), dict(killed)


def test_right_wrong_broken_looping_and_exiting_predictions_in_one_batch():
    loop = "assertTrue(((java.util.function.BooleanSupplier) () -> { while (true) { } }).getAsBoolean());"
    exits = "assertEquals(0, ((java.util.function.IntSupplier) () -> { System.exit(1); return 0; }).getAsInt());"
    examples = [
        _example("assertEquals(3, sum);", 0),
        _example("assertEquals(4, sum);", 1),  # wrong value
        _example("assertEquals(3, total);", 2),  # no such variable
        _example(loop, 3),
        _example(exits, 4),
        _example("assertTrue(sum != 0);", 5),  # right, but weaker: a - b = -1 passes it too
        _example("assertEquals(3, sum);\nassertNotNull(calc);\nassertEquals(3, calc.add(2, 1));", 6),  # more lines than holes
    ]
    right, wrong, broken, looping, exiting, weak, extra = execute(examples, timeout_s=1.0)
    assert (right.compiles, right.passes, right.error) == (True, True, "")
    assert right.mutants >= 2 and right.killed_mutants == right.mutants
    assert (wrong.compiles, wrong.passes, wrong.killed_mutants) == (True, False, 0)
    assert "AssertionFailedError" in wrong.error and "expected: <4> but was: <3>" in wrong.error
    assert (broken.compiles, broken.passes) == (False, False)
    assert "cannot find symbol" in broken.error and "total" in broken.error
    assert (looping.compiles, looping.passes) == (True, False) and "still running after" in looping.error
    assert (exiting.compiles, exiting.passes) == (True, False) and "JVM exited" in exiting.error
    assert weak.passes and weak.killed_mutants == 1 and weak.mutants == right.mutants == 2
    assert extra.passes and extra.mutants == right.mutants
    assert all(r.executable for r in (right, wrong, broken, looping, exiting, weak, extra))


def test_scores():
    assert ExecResult("a", True, True, True, 3, 4, "").score() == pytest.approx(0.5 + 0.5 * 3 / 4)
    assert ExecResult("a", True, True, True, 0, 0, "").score() == 1.0
    assert ExecResult("a", True, True, False, 0, 4, "x").score() == 0.0


def test_fill_puts_assertions_at_placeholders():
    masked = "void t() {\n    <AssertPlaceHolder>;\n    x();\n    <AssertPlaceHolder>;\n}"
    assert fill(masked, ["a();", "b();"]) == "void t() {\n    a();\n    x();\n    b();\n}"
    assert fill(masked, ["a();"]) == "void t() {\n    a();\n    x();\n    ;\n}"
    assert fill(masked, ["a();", "b();", "c();"]) == "void t() {\n    a();\n    x();\n    b();\nc();\n}"


def test_mutant_operators_at_their_first_site():
    method = ("public int f(int[] xs, int n) {\n"
              "    int s = 0;\n"
              "    for (int i = 0; i < n; i++) {\n"
              "        s += xs[i] * 2;\n"
              "    }\n"
              "    log(s);\n"
              "    if (s == 0) {\n"
              "        return -1;\n"
              "    }\n"
              "    return s;\n"
              "}")
    got = {m.operator: (m.line, [line for line in m.source.splitlines() if line not in method.splitlines()])
           for m in mutants(method)}
    assert got == {
        "relational": (3, ["    for (int i = 0; i <= n; i++) {"]),
        "arithmetic": (4, ["        s += xs[i] / 2;"]),
        "negate_condition": (7, ["    if (!(s == 0)) {"]),
        "return_constant": (8, ["        return 0;"]),
        "remove_call": (6, ["    ;"]),
        "remove_assignment": (4, ["        ;"]),
    }
    # `+` joining a string is not an arithmetic site; a method returning an object returns null.
    text = 'public String g(int n) {\n    return "n=" + n;\n}'
    assert [(m.operator, m.source.splitlines()[1]) for m in mutants(text)] == [("return_constant", "    return null;")]


def test_schema_dispatches_every_variant():
    variants = [ADD, *(m.source for m in mutants(ADD))]
    s = schema(ADD, variants)
    lines = s.source.splitlines()
    assert lines[0] == "public int add(int a, int b) {" and "switch (tridentexec.Mutant.active)" in lines[1]
    for k, (first, last) in enumerate(s.lines):
        assert lines[first - 1].startswith(f"public int add$v{k}(int a, int b)") and lines[last - 1] == "}"
    assert rename_method(TEST, "withAssertions").splitlines()[1] == "void withAssertions() {"
    # `total += a` is an assignment, not an arithmetic site; removing it changes no result the test sees,
    # which is why the runner keeps only the mutants the reference assertions kill.
    assert [m.operator for m in mutants(ADD)] == ["arithmetic", "return_constant", "remove_assignment"]


def test_exec_reward_scores_by_running_and_its_term_moves_the_student():
    import torch
    from trident.losses import catalog  # the built-ins register there
    assert "exec" in [name for name, _, _ in catalog.describe()]
    from trident.losses.registry import COMPONENTS, LossInputs, SampledRewards
    from trident.execution.reward import exec_score
    from trident.models import build_model, train_tokenizer

    assert COMPONENTS["exec"].kind == "sequence" and COMPONENTS["exec"].needs.records
    record = Record("r", ADD, TEST, ["assertEquals(3, sum);"],
                    {"executable": {"class_name": "Calc", "members": ["private int total;"]}})
    plain = Record("p", ADD, TEST, ["assertEquals(3, sum);"])  # not executable: scores 0 either way
    texts = ["assertEquals(3, sum);", "assertEquals(4, sum);", "assertTrue(sum != 0);", "assertEquals(3, sum);"]
    scores = exec_score(texts, [], {}, None, "cpu", records=[record, record, record, plain])
    # right: passes and kills both mutants (1/2 + 1/2); wrong: 0; weak: kills one of two (1/2 + 1/4); plain: 0
    assert scores.tolist() == [1.0, 0.0, 0.75, 0.0]

    tok = train_tokenizer([ADD, TEST, texts[0]] * 4, 300)
    torch.manual_seed(0)
    model = build_model("tiny-student", tok, 0)
    enc = tok(["x"] * 2, return_tensors="pt")
    logp = model(**enc, labels=torch.tensor([[5, 6], [7, 8]])).logits.log_softmax(-1).mean((1, 2))
    rewards = SampledRewards(torch.zeros(2, 1), logp, {"exec": scores[:2]}, {"exec": scores[1:3]})
    term = COMPONENTS["exec"].fn(LossInputs(torch.zeros(2, 1, 5), torch.zeros(2, 1), rewards=rewards), None)
    assert term.item() == pytest.approx(1 - 0.5)  # the logged value: 1 − mean sample score
    term.backward()
    assert sum(p.grad.abs().sum().item() for p in model.parameters() if p.grad is not None) > 0


def test_exec_reward_pays_only_for_real_assertions_on_records_whose_reference_passes():
    from trident.execution.reward import exec_score

    record = Record("r", ADD, TEST, ["assertEquals(3, sum);"],
                    {"executable": {"class_name": "Calc", "members": ["private int total;"]}})
    # each of these passes when run, and asserts nothing: none is run, each scores 0
    nothing = ["", "// nothing", ";", "int x = 1;", "assertEquals(3, sum);\nint y = 2;"]
    scores = exec_score(nothing, [], {}, None, "cpu", records=[record] * len(nothing))
    assert scores.tolist() == [0.0] * len(nothing)
    # a real assertion is paid by what it checks: right 1, wrong 0, vacuous (passes, kills no mutant) 1/2
    real = ["assertEquals(3, sum);", "assertEquals(4, sum);", "assertTrue(true);"]
    assert exec_score(real, [], {}, None, "cpu", records=[record] * 3).tolist() == [1.0, 0.0, 0.5]
    # a record whose own reference assertion fails is left out, as evaluation leaves it out: 0 for all
    broken = Record("b", ADD, TEST, ["assertEquals(5, sum);"],
                    {"executable": {"class_name": "Calc", "members": ["private int total;"]}})
    assert exec_score(["", "assertEquals(3, sum);"], [], {}, None, "cpu", records=[broken] * 2).tolist() == [0.0, 0.0]


def test_execution_statistics_and_their_corpus_metrics():
    import numpy as np
    from trident.analysis import stats as st

    rows = [{"id": "a", "executable": True, "compiles": True, "passes": True, "killed_mutants": 1, "mutants": 2},
            {"id": "b", "executable": True, "compiles": False, "passes": False, "killed_mutants": 0, "mutants": 3},
            {"id": "c", "executable": True, "compiles": True, "passes": False, "killed_mutants": 0, "mutants": 0},
            {"id": "d", "executable": False, "compiles": True, "passes": False, "killed_mutants": 0, "mutants": 0}]
    x = st.execution_array(["a", "b", "c", "d", "e"], rows)
    stats = st.example_stats(["a", "b", "c", "d", "e"], ["x"] * 5, [["x"]] * 5, execution=x)
    # executable: a, b, c. compile 2/3, pass 1/3; mutation over a and b: (1/2 + 0/3) / 2
    assert st.full_sample(stats, "compile_rate") == pytest.approx(2 / 3)
    assert st.full_sample(stats, "pass_rate") == pytest.approx(1 / 3)
    assert st.full_sample(stats, "mutation_score") == pytest.approx(0.25)
    weights = np.array([[2, 0, 1, 1, 1], [0, 0, 0, 1, 1]], float)  # a twice and c; then nothing executable
    got = st.corpus_metric(stats, "pass_rate", weights)
    assert got[0] == pytest.approx(2 / 3) and np.isnan(got[1])  # n/a, never 0
    without = st.example_stats(["a"], ["x"], [["x"]])
    assert np.isnan(st.full_sample(without, "pass_rate"))


def test_train_evaluate_and_execute_commands_report_execution_metrics(synth_dir, tmp_path, capsys):
    import json

    from conftest import tiny_overrides
    from trident.cli import main

    args = ["--config", "experiments/legacy.yaml",
            *tiny_overrides(synth_dir, tmp_path / "runs", name="exec", **{"eval.execute": "true"})]
    assert main(["train", *args]) == 0
    run = tmp_path / "runs" / "exec"
    summary = json.loads((run / "summary.json").read_text())
    val_rows = (run / "eval" / "val" / "execution.jsonl").read_text().splitlines()
    assert len(val_rows) == summary["val_records"] == 12
    for key in ("compile_rate", "pass_rate", "mutation_score"):
        value = summary["val_metrics"][key]
        assert value is None or 0.0 <= value <= 1.0
    assert summary["val_metrics"]["executable_records"] == 12  # every synthetic reference passes
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run), "--split", "test", "--execute"]) == 0
    out = capsys.readouterr().out
    assert "12 executable" in out and "pass_rate" in out
    metrics = json.loads((run / "eval" / "test" / "metrics.json").read_text())
    rows = [json.loads(line) for line in (run / "eval" / "test" / "execution.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and metrics["pass_rate"] == pytest.approx(sum(r["passes"] for r in rows) / 12)
    assert metrics["compile_rate"] == pytest.approx(sum(r["compiles"] for r in rows) / 12)
    # `trident execute` on the same predictions gives the same numbers
    assert main(["execute", str(run / "eval" / "test" / "predictions.jsonl")]) == 0
    again = capsys.readouterr().out
    shown = "n/a" if metrics["pass_rate"] is None else f"{metrics['pass_rate']:.4f}"
    assert "12 of 12 records executable" in again and f"pass_rate {shown}" in again


def test_records_without_executable_report_not_applicable():
    from trident.execution.scoring import execute_predictions

    records = [Record("a", ADD, TEST, ["assertEquals(3, sum);"])]
    results, rates = execute_predictions(records, ["assertEquals(3, sum);"])
    assert results == [] and rates == {"compile_rate": None, "pass_rate": None, "mutation_score": None,
                                       "executable_records": 0}


def test_running_the_validation_predictions_does_not_ask_for_another_teacher(synth_dir):
    from trident.config import load_run_config
    from trident.teacher import teacher_key

    def key(*extra):
        return teacher_key(load_run_config(["--config", "experiments/smoke.yaml", f"--data.dir={synth_dir}", *extra]))

    assert key() == key("--eval.execute=true")
    assert key() != key("--eval.num_beams=2")


def test_a_sweep_over_the_students_seed_shares_one_teacher(synth_dir, tmp_path):
    from trident.config import load_run_config
    from trident.teacher import teacher_config, teacher_key

    def cfg(*extra):
        return load_run_config(["--config", "experiments/smoke.yaml", f"--data.dir={synth_dir}", *extra])

    # teacher_seed=42 makes the teacher of a seed-1 and a seed-2 student the seed-42 teacher
    assert teacher_key(cfg("--seed=1", "--teacher_seed=42")) == teacher_key(cfg("--seed=2", "--teacher_seed=42")) \
        == teacher_key(cfg("--seed=42"))
    assert teacher_key(cfg("--seed=1")) != teacher_key(cfg("--seed=2"))  # without it, each seed its own teacher
    assert teacher_config(cfg("--seed=1", "--teacher_seed=42")).seed == 42  # and the teacher trains with that seed
    assert teacher_config(cfg("--seed=1")).seed == 1
