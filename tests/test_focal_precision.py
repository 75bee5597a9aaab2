"""benchmarks/focal_precision.py: labels matched to the miner's records of a checkout, and the
precision / mapping figures with their Wilson intervals, on tests/fixtures/mine-project (copied,
never changed) with a five-line labels file whose figures are worked out by hand below."""
from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "mine-project"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _load():
    spec = importlib.util.spec_from_file_location("focal_precision", ROOT / "benchmarks" / "focal_precision.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fp = _load()


def _label(file, line, cls, method, focal, also=None):
    d = {"repo": "acme/mine-project", "commit": COMMIT, "file": file, "line": line, "test_class": cls,
         "test_method": method, "focal": focal}
    if also:
        d["also"] = also
    return d


CALC = "core/src/test/java/org/acme/core/CalculatorTest.java"
STRINGS = "core/src/test/java/org/acme/core/StringsTest.java"
LABELS = [
    # mapped (rule: name of the test), focal is the label's: correct
    _label(CALC, 17, "CalculatorTest", "testAdd", {"class": "Calculator", "method": "add", "params": 3}),
    # mapped; the label's own answer differs but one of its `also` answers is the miner's: correct
    _label(STRINGS, 11, "StringsTest", "testReverse", {"class": "Strings", "method": "isBlank", "params": 1},
           also=[{"class": "Strings", "method": "reverse", "params": 1}]),
    # mapped to subtract; the label says divide: wrong
    _label(CALC, 24, "CalculatorTest", "shouldSubtract", {"class": "Calculator", "method": "divide", "params": 2}),
    # mapped to isBlank, labelled as having no single focal method: wrong
    _label(STRINGS, 22, "StringsTest", "testIsBlank", "none"),
    # no class Report anywhere: the miner makes no record
    _label("app/src/test/java/org/acme/app/ReportTest.java", 8, "ReportTest", "testRender", "none"),
]


@pytest.fixture
def checkouts(tmp_path):
    root = tmp_path / "checkouts"
    shutil.copytree(FIXTURE, root / "acme+mine-project")
    (root / "acme+mine-project" / fp.MARKER).write_text(COMMIT + "\n")
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(d) + "\n" for d in LABELS))
    return root, labels


def test_precision_and_mapping_of_the_fixture(checkouts):
    root, labels_path = checkouts
    labels = fp.load_labels(labels_path)
    roots = [fp.ensure_checkout(root, "acme/mine-project", COMMIT, None)]
    pairs = fp.match(labels, fp.mined_records(roots, workers=1))
    assert [rec is not None for _, rec in pairs] == [True, True, True, True, False]
    assert [fp.correct(lab, rec) for lab, rec in pairs[:4]] == [True, True, False, False]
    table = fp.summarise(pairs)
    everything = table[table.rule == "all"].iloc[0]
    # precision 2 of 4 mapped; mapping 4 of 5 labelled; Wilson 95% bounds worked out by hand
    # (z = 1.96: centre (p + z²/2n)/(1 + z²/n), half-width z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n))
    assert (everything["records"], everything["correct"], everything["labelled none"]) == (4, 2, 1)
    assert everything["precision"] == 0.5
    assert everything["precision 95% low"] == pytest.approx(0.150039, abs=1e-5)
    assert everything["precision 95% high"] == pytest.approx(0.849961, abs=1e-5)
    assert (everything["labelled"], everything["mapping"]) == (5, 0.8)
    assert everything["mapping 95% low"] == pytest.approx(0.375535, abs=1e-5)
    assert everything["mapping 95% high"] == pytest.approx(0.963776, abs=1e-5)
    per_rule = table[table.rule != "all"]
    assert per_rule["records"].sum() == 4 and per_rule["correct"].sum() == 2
    wrong = fp.wrong(pairs)
    assert sorted(wrong["label"]) == ["Calculator.divide/2", "none"]
    assert sorted(wrong["mined"]) == ["Calculator.subtract/2", "Strings.isBlank/1"]


def test_records_without_a_rule_count_as_unknown_and_lines_split_repeated_names():
    label = fp.Label("a/b", COMMIT, "T.java", 20, "T", "same", ("Foo", "bar", 1))
    records = [{"repo": "a+b", "test_file": "T.java", "test_name": "same", "id": f"a+b/T.java:{line}",
                "focal_class": "p.Foo", "focal_method_name": name, "focal_method": source}
               for line, name, source in [(10, "baz", "int baz(int x) { return x; }"),
                                          (20, "bar", "int bar(int x) { return x; }")]]
    (pair,) = fp.match([label], records)
    assert pair[1]["id"].endswith(":20")
    table = fp.summarise([pair])
    assert list(table.rule) == ["unknown", "all"]
    assert list(table.precision) == [1.0, 1.0]


def test_parameter_count_tells_overloads_apart():
    assert fp.param_count("public int add(int a, int b, int c) { return a + b + c; }") == 3
    assert fp.param_count("static String join(String sep, String... parts) { return sep; }") == 2
    assert fp.param_count("void run() {}") == 0


def test_a_checkout_at_another_commit_is_refused(checkouts, capsys):
    root, labels_path = checkouts
    (root / "acme+mine-project" / fp.MARKER).write_text("f" * 40 + "\n")
    assert fp.main(["--checkouts", str(root), "--labels", str(labels_path), "--no-record"]) == 2
    err = capsys.readouterr().err
    assert f"holds commit {'f' * 40}, the labels were made at {COMMIT}" in err


def test_a_bad_label_line_is_named(tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(LABELS[0]) + "\n" + json.dumps({**LABELS[0], "focal": {"class": "C"}}) + "\n")
    with pytest.raises(fp.DataError, match=r"labels.jsonl:2: not a label"):
        fp.load_labels(path)


def test_fetch_hint_names_each_repository_once(checkouts, capsys):
    _, labels_path = checkouts
    assert fp.main(["--labels", str(labels_path), "--fetch-hint"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"git clone -q https://github.com/acme/mine-project DIR/acme+mine-project && "
                   f"git -C DIR/acme+mine-project checkout -q {COMMIT}"]
