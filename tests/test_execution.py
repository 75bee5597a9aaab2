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
