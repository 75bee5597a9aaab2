"""`trident generate` on a fixture project (tests/fixtures/generate-project): placeholders filled,
--missing, the diff, --write with its backup, the JSONL and its log-probabilities, --records,
and the bad-input reports (file:line).

The model is a real tiny T5 trained here once (trident teacher, a few steps) on the synthetic
corpus with every target replaced by one fixed assertion, `assertNotNull(result);`: a model that
learns that in a dozen steps writes parseable Java, so what lands in the files is known in
advance and each expected file is written by hand (str.replace on the original), not by the code
under test."""
import json
import math
import shutil
import subprocess

import pytest
import torch

from conftest import tiny_overrides
from trident import java
from trident.cli import main
from trident.data.encoding import encode_records
from trident.data.records import Record
from trident.data.synth import write_splits

FIXTURE = "tests/fixtures/generate-project"
PKG = "src/test/java/com/example/shop"
LEARNED = "assertNotNull(result);"
P = "<AssertPlaceHolder>;"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("gen-data")
    write_splits(data, 120, seed=0)
    for split in ("train", "val", "test"):
        path = data / f"{split}.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({**r, "assertions": [LEARNED]}) + "\n" for r in rows))
    runs = tmp_path_factory.mktemp("gen-runs")
    args = tiny_overrides(data, runs, **{"model.teacher": "tiny-student", "teacher_train.max_steps": 12,
                                         "teacher_train.lr": 1e-2})
    assert main(["teacher", "--config", "experiments/legacy.yaml", *args]) == 0
    (run,) = runs.glob("teacher-*")
    return run


@pytest.fixture
def project(tmp_path):
    out = tmp_path / "project"
    shutil.copytree(FIXTURE, out)
    return out


def _generate(capsys, *argv):
    capsys.readouterr()
    code = main(["generate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def _parses(text: str) -> bool:
    return not java.parse(text.replace("<AssertPlaceHolder>", "assertPlaceHolder()").encode()).root_node.has_error


def test_the_diff_fills_every_placeholder_of_a_real_length_test_file(run_dir, project, capsys, tmp_path):
    test_file = project / PKG / "PriceCalculatorTest.java"
    before = test_file.read_text()
    assert before.count(P) == 5 and len(before.splitlines()) == 170
    code, out, err = _generate(capsys, test_file, "--source", project / "src/main/java", "--model", run_dir)
    assert code == 0, err
    assert test_file.read_text() == before  # a diff only: nothing written
    assert "generated for 5 of 5 methods in 1 file(s)" in err and "0 reported" in err
    assert out.startswith(f"--- a/{test_file}\n+++ b/{test_file}\n")
    # The diff applied by patch(1) gives the file with each placeholder replaced, nothing else changed.
    patched = tmp_path / "patched.java"
    shutil.copy(test_file, patched)
    subprocess.run(["patch", "--quiet", str(patched)], input=out, text=True, check=True)
    assert patched.read_text() == before.replace(P, LEARNED)
    assert _parses(patched.read_text())


def test_write_missing_backup_and_the_reports(run_dir, project, capsys):
    tests, sources = project / "src/test/java", project / "src/main/java"
    originals = {p.name: p.read_bytes() for p in (project / PKG).glob("*.java")}
    code, out, err = _generate(capsys, tests, "--source", sources, "--model", run_dir, "--write", "--missing")
    assert code == 1  # some methods and one file were reported
    assert out == ""
    cart = originals["CartTest.java"].decode()
    # testAdd's placeholder filled; testRemove's two placeholders get the one line the model writes
    # (the second stays, reported); clearEmptiesTheCart (no assertion) gets it after its last statement;
    # listsAreImmutable (no focal method) keeps its placeholder.
    expected = (cart.replace(f'cart.add(new Item("apple", 120, 3));\n        {P}',
                             f'cart.add(new Item("apple", 120, 3));\n        {LEARNED}', 1)
                .replace(f'boolean removed = cart.remove("apple");\n        {P}\n',
                         f'boolean removed = cart.remove("apple");\n        {LEARNED}\n')
                .replace("        cart.clear();\n", f"        cart.clear();\n        {LEARNED}\n"))
    assert expected.count(P) == 2 and expected != cart
    assert (project / PKG / "CartTest.java").read_text() == expected
    price = originals["PriceCalculatorTest.java"].decode()
    price_expected = price.replace(P, LEARNED).replace(
        "        long tax = untaxed.tax(99_999);\n", f"        long tax = untaxed.tax(99_999);\n        {LEARNED}\n")
    assert (project / PKG / "PriceCalculatorTest.java").read_text() == price_expected
    for name in ("CartTest.java", "PriceCalculatorTest.java"):
        assert (project / PKG / f"{name}.orig").read_bytes() == originals[name]
        assert _parses((project / PKG / name).read_text())
    # The unparsable file and the file without a focal class: untouched, no backup, reported with file:line.
    for name in ("BrokenTest.java", "WarehouseTest.java"):
        assert (project / PKG / name).read_bytes() == originals[name]
        assert not (project / PKG / f"{name}.orig").exists()
    lines = err.splitlines()
    assert f"{tests}/com/example/shop/BrokenTest.java:9: does not parse (parse error at line 9): skipped, nothing " \
           "written to it" in lines
    assert f"{tests}/com/example/shop/WarehouseTest.java:6: testRestock: no focal method found (no_focal_class): " \
           "skipped" in lines
    assert f"{tests}/com/example/shop/CartTest.java:48: listsAreImmutable: no focal method found (no_focal_method): " \
           "skipped" in lines
    assert f"{tests}/com/example/shop/CartTest.java:24: testRemove: the suggestion has 1 assertion(s) for 2 " \
           "placeholders: the last 1 left as they were" in lines
    assert "generated for 9 of 9 methods in 2 file(s)" in err and "4 reported" in err

    # Again: the backups are there, so nothing is overwritten; with --no-backup the files are written.
    written = (project / PKG / "CartTest.java").read_text()
    code, _, err = _generate(capsys, tests / "com/example/shop/CartTest.java", "--source", sources,
                             "--model", run_dir, "--write")
    assert code == 1 and "CartTest.java.orig already exists" in err
    assert (project / PKG / "CartTest.java").read_text() == written
    assert (project / PKG / "CartTest.java.orig").read_bytes() == originals["CartTest.java"]
    code, _, err = _generate(capsys, tests / "com/example/shop/CartTest.java", "--source", sources,
                             "--model", run_dir, "--write", "--no-backup")
    assert code == 1 and "listsAreImmutable: no focal method found" in err  # still reported
    assert (project / PKG / "CartTest.java").read_text() == written.replace(P, LEARNED, 1)


def test_without_missing_a_test_that_asserts_nothing_is_left_alone(run_dir, project, capsys):
    cart = project / PKG / "CartTest.java"
    code, out, err = _generate(capsys, cart, "--source", project / "src/main/java", "--model", run_dir,
                               "--jsonl", "-")
    rows = [json.loads(line) for line in out.splitlines()]  # --jsonl -: the JSONL is stdout, no diff
    assert [(r["method"], r["line"], r["kind"], r["placeholders"]) for r in rows] == \
        [("testAdd", 18, "placeholder", 1), ("testRemove", 24, "placeholder", 2)]
    code, out, err = _generate(capsys, cart, "--source", project / "src/main/java", "--model", run_dir,
                               "--jsonl", "-", "--missing")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["method"], r["kind"], r["placeholders"], r["focal_method_name"], r["focal_rule"]) for r in rows] == \
        [("testAdd", "placeholder", 1, "add", "test_name"), ("testRemove", "placeholder", 2, "remove", "test_name"),
         ("clearEmptiesTheCart", "missing", 0, "clear", "effect_before_assertion")]
    # What the model read for the test that asserted nothing: the placeholder after its last statement.
    assert rows[2]["test_method_masked"] == ("@Test\nvoid clearEmptiesTheCart() {\n"
                                             '    cart.add(new Item("apple", 120, 3));\n'
                                             '    cart.applyCoupon("TEN");\n    cart.clear();\n'
                                             f"    {P}\n}}")


def _teacher_forced_logprob(model, source_ids: list[int], target: list[int]) -> float:
    """Σ log p(token) of `target` given the source, from one teacher-forced pass in float64."""
    start = model.config.decoder_start_token_id
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([source_ids]),
                       decoder_input_ids=torch.tensor([[start, *target[:-1]]])).logits[0]
    logp = torch.log_softmax(logits, dim=-1)
    return math.fsum(logp[i, t].item() for i, t in enumerate(target))


def test_jsonl_suggestions_and_their_log_probabilities(run_dir, project, capsys, tmp_path):
    from transformers import AutoModelForSeq2SeqLM

    from trident.models import load_tokenizer

    out_file = tmp_path / "suggestions.jsonl"
    test_file = project / PKG / "PriceCalculatorTest.java"
    code, out, err = _generate(capsys, test_file, "--source", project / "src/main/java", "--model", run_dir,
                               "--jsonl", out_file, "--num-return", 3, "--num-beams", 4)
    assert code == 0, err
    assert out.startswith("--- a/")  # --jsonl FILE: the diff still goes to stdout
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [(r["line"], r["method"], r["focal_method_name"]) for r in rows] == [
        (56, "testApplyDiscount", "applyDiscount"), (86, "testCouponDiscount", "couponDiscount"),
        (105, "testTax", "tax"), (136, "testFormat", "format"), (163, "totalOfAFilledCartWithCoupon", "total")]
    assert all(r["file"] == str(test_file) and r["test_class"] == "com.example.shop.PriceCalculatorTest" for r in rows)
    assert rows[2]["focal_method"].startswith("public long tax(long cents) {")
    assert rows[3]["test_class"] == "com.example.shop.PriceCalculatorTest"  # the @Nested class's top-level class

    tokenizer = load_tokenizer(run_dir / "model")
    model = AutoModelForSeq2SeqLM.from_pretrained(run_dir / "model").double().eval()
    for row in rows:
        assert len(row["suggestions"]) == 3
        assert row["suggestions"][0]["text"] == LEARNED and row["suggestions"][0]["valid"] and row["applied"] == 0
        record = Record(id="x", focal_method=row["focal_method"], test_method_masked=row["test_method_masked"],
                        assertions=[])
        (features,) = encode_records([record], tokenizer, 96, 32)  # the run's data.max_source_len / max_target_len
        for s in row["suggestions"]:
            ids = s["token_ids"]
            assert len(ids) == s["tokens"] and (ids[-1] == tokenizer.eos_token_id) == s["finished"]
            assert tokenizer.decode(ids, skip_special_tokens=True) == s["text"]
            if s["valid"]:  # whole characters: the text's own tokens are the ones generated
                assert tokenizer(s["text"], add_special_tokens=False)["input_ids"] == (ids[:-1] if s["finished"] else ids)
            expected = _teacher_forced_logprob(model, features["input_ids"], ids)
            assert s["logprob"] == pytest.approx(expected, abs=1e-4)
            assert s["valid"] == all(java.is_valid_statement(line) for line in s["text"].splitlines() if line.strip())
        scores = [s["logprob"] / s["tokens"] for s in row["suggestions"]]  # beam order: length-normalised (penalty 1)
        assert scores == sorted(scores, reverse=True)


def test_records_are_annotated_by_id(run_dir, tmp_path, capsys):
    records = tmp_path / "some.jsonl"
    rows = [{"id": f"r{k}", "focal_method": "public int size() {\n    return items.size();\n}",
             "test_method_masked": f"@Test\nvoid testSize{k}() {{\n    Cart cart = new Cart();\n    {P}\n}}",
             "assertions": [f"assertEquals({k}, cart.size());"]} for k in range(3)]
    records.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = _generate(capsys, "--records", records, "--model", run_dir / "model")
    assert code == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    assert [g["id"] for g in got] == ["r0", "r1", "r2"]
    assert [g["references"] for g in got] == [r["assertions"] for r in rows]
    assert all(g["suggestions"][0]["text"] == LEARNED for g in got)
    assert "encoding: the config defaults (a bare model folder has no run config)" in err

    records.write_text(records.read_text() + '{"id": "bad", "focal_method": "x"}\n')
    code, out, err = _generate(capsys, "--records", records, "--model", run_dir)
    assert code == 2 and f"{records}:4: missing field 'test_method_masked'" in err and out == ""


def test_bad_invocations_are_errors_before_any_work(project, capsys, tmp_path):
    test_file = project / PKG / "CartTest.java"
    code, _, err = _generate(capsys, test_file, "--model", tmp_path)
    assert code == 2 and "--source" in err
    code, _, err = _generate(capsys, test_file, "--source", project / "nowhere", "--model", tmp_path)
    assert code == 2 and "nowhere: not a folder" in err
    code, _, err = _generate(capsys, test_file, "--source", project / "src/main/java", "--model", tmp_path)
    assert code == 2 and "neither a run directory" in err
    # Only unusable input: reported, exit 1, and no model is needed to say so.
    code, out, err = _generate(capsys, project / PKG / "BrokenTest.java", "--source", project / "src/main/java",
                               "--model", tmp_path)
    assert code == 1 and out == "" and "BrokenTest.java:9: does not parse" in err


def test_execute_compiles_and_runs_each_suggestion_of_executable_records(run_dir, tmp_path, capsys):
    data = tmp_path / "synth"
    write_splits(data, 120, seed=0)  # the corpus' own assertions: its records are executable
    by_id = {r["id"]: r for r in map(json.loads, (data / "test.jsonl").read_text().splitlines())}
    # 000050 declares `String result = …getCapital("Norway")` (non-null): the learned assertNotNull(result)
    # compiles and passes; 000012 has no `result`: it does not compile; a record without `executable` is not run.
    assert "String result = capitalDirectory.getCapital(\"Norway\");" in by_id["synth-000050"]["test_method_masked"]
    assert " result" not in by_id["synth-000012"]["test_method_masked"]
    plain = {k: v for k, v in by_id["synth-000017"].items() if k != "executable"}
    records = tmp_path / "exec.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in (by_id["synth-000050"], by_id["synth-000012"], plain)))
    code, out, err = _generate(capsys, "--records", records, "--model", run_dir, "--execute")
    assert code == 0, err
    got = {g["id"]: g["suggestions"][0] for g in map(json.loads, out.splitlines())}
    assert all(s["text"] == LEARNED for s in got.values())
    passed, broken = got["synth-000050"]["execution"], got["synth-000012"]["execution"]
    assert passed["executable"] and passed["compiles"] and passed["passes"] and passed["error"] == ""
    assert broken["executable"] and not broken["compiles"] and not broken["passes"] and "result" in broken["error"]
    assert got["synth-000017"]["execution"] is None
    assert "executed 2 suggestions of 2 executable records" in err


def _one_file(tmp_path, name: str, data: bytes):
    from trident.suggest.linking import link

    (tmp_path / "src/main/java/p").mkdir(parents=True)
    (tmp_path / "src/test/java/p").mkdir(parents=True)
    (tmp_path / "src/main/java/p/Box.java").write_text(
        "package p;\npublic class Box {\n    private int n;\n    public void put(int k) { n += k; }\n"
        "    public int count() { return n; }\n}\n")
    path = tmp_path / "src/test/java/p" / name
    path.write_bytes(data)
    return link([path], [tmp_path / "src/main/java"], missing=True)


def test_edits_keep_the_files_bom_line_endings_and_indentation(tmp_path):
    """The pure edit step, on suggestions given by hand: two lines for one placeholder, and an
    insertion after the last statement, in a CRLF file with a byte order mark and tab indentation."""
    from trident.suggest.edits import choose, edit_file
    from trident.suggest.suggestions import Suggestion

    text = ("package p;\r\nimport org.junit.Test;\r\nclass BoxTest {\r\n\t@Test\r\n\tpublic void testPut() {\r\n"
            "\t\tBox box = new Box();\r\n\t\tbox.put(2);\r\n\t\t<AssertPlaceHolder>;\r\n\t}\r\n"
            "\t@Test\r\n\tpublic void testCount() {\r\n\t\tBox box = new Box();\r\n\t\tint c = box.count(); // read\r\n\t}\r\n}\r\n")
    linked = _one_file(tmp_path, "BoxTest.java", b"\xef\xbb\xbf" + text.encode())
    assert linked.problems == [] and [j.target.kind for j in linked.jobs] == ["placeholder", "missing"]
    bad = Suggestion("assertEquals(2, box.count()", -1.0, 3, True)
    two = Suggestion("assertEquals(2, box.count());\nassertTrue(box.count() > 0);", -2.0, 9, True)
    one = Suggestion("assertEquals(0, c);", -1.5, 6, True)
    choices = [choose(linked.jobs[0].target, [bad, two]), choose(linked.jobs[1].target, [one])]
    assert [c.rank for c in choices] == [1, 0] and all(c.problem is None for c in choices)
    edited = edit_file(linked.test_files[0], choices)
    assert edited.problem is None
    assert edited.text == "\ufeff" + text.replace(
        "\t\t<AssertPlaceHolder>;\r\n", "\t\tassertEquals(2, box.count());\r\n\t\tassertTrue(box.count() > 0);\r\n"
    ).replace("\t\tint c = box.count(); // read\r\n", "\t\tint c = box.count(); // read\r\n\t\tassertEquals(0, c);\r\n")

    # No suggestion parses: left as it was, reported with file:line.
    (none,) = [choose(linked.jobs[0].target, [bad])]
    assert none.rank is None and none.fills == ()
    assert str(none.problem).endswith("BoxTest.java:4: testPut: no suggestion parses as Java statements (best: "
                                      "'assertEquals(2, box.count()'): left as it was")
    # The guard: an edit that leaves the file unparsable is not applied, whatever chose it.
    from trident.suggest.edits import Choice

    spot = linked.jobs[0].target.spots[0]
    broken = edit_file(linked.test_files[0], [Choice(linked.jobs[0].target, 0, ((spot, "}"),))])
    assert broken.text == linked.test_files[0].text and "would not parse" in broken.problem.message
