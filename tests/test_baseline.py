"""The retrieval baseline: on a corpus built so that every record's nearest training record is
known, it copies exactly that record's assertions; as a run it is a row like any other."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from trident import metrics
from trident.baseline import RetrievalIndex, query_words, words
from trident.data.records import PLACEHOLDER, Record
from trident.rundir import RunDir, read_summary

# Each training record speaks of its own domain (no word shared with another domain), so BM25's
# nearest neighbour of a query that uses one domain's words is that domain's record.
DOMAINS = ["invoice tax", "kettle boil", "planet orbit", "violin string", "glacier melt"]


def _record(rid: str, domain: str, assertions: list[str], placeholders: int = 1, extra: str = "") -> Record:
    a, b = domain.split()
    focal = f"public int {a}{b.title()}(int {a}) {{ return {a} * 2; }}"
    test = "@Test\nvoid test() {\n    int " + b + f" = util.{a}{b.title()}(3);{extra}\n" + \
        "".join(f"    {PLACEHOLDER}\n" for _ in range(placeholders)) + "}"
    return Record(rid, focal, test, assertions)


def _train() -> list[Record]:
    return [_record(f"train:{k}", d, [f"assertEquals({k}, {d.split()[1]});", f"assertTrue({d.split()[0]}{k});"][: 1 + k % 2])
            for k, d in enumerate(DOMAINS)]


def test_words_split_identifiers_and_keep_literals():
    assert words('int userName = getUserName("a b", 42);') == [
        "int", "userName", "user", "name", "getUserName", "get", "user", "name", '"a b"', "42"]
    assert words(PLACEHOLDER) == []  # the placeholder is not evidence of anything


def test_each_record_copies_its_known_nearest_neighbour():
    train = _train()
    index = RetrievalIndex(train)
    queries = [_record(f"test:{k}", d, ["x"]) for k, d in enumerate(DOMAINS)]
    assert [n[0] for n in index.neighbours(queries)] == [0, 1, 2, 3, 4]
    # one placeholder each: the first assertion of the neighbour
    assert index.predict(queries) == [train[k].assertions[0] for k in range(5)]


def test_more_placeholders_than_the_neighbour_has_are_filled_from_the_next_nearest():
    train = _train()
    # train:0 has one assertion; the query shares most with domain 0 and some words with domain 2
    query = _record("test:q", DOMAINS[0], ["x"], placeholders=3, extra=" planet.check();")
    near = RetrievalIndex(train).neighbours([query])[0]
    # the rest share no word with the query: they tie at 0, so the earliest comes next
    assert near[:3] == [0, 2, 1]
    assert [len(train[k].assertions) for k in (0, 2, 1)] == [1, 1, 2]
    pred = RetrievalIndex(train).predict([query])[0]
    # three placeholders: train:0's one, train:2's one, then only the first of train:1's two
    assert pred.splitlines() == [train[0].assertions[0], train[2].assertions[0], train[1].assertions[0]]


def test_a_training_record_never_retrieves_itself():
    train = _train()
    index = RetrievalIndex(train)
    assert all(k not in near for k, near in enumerate(index.neighbours(train)))


def test_ties_go_to_the_earlier_training_record():
    # identical documents: every query scores them equally
    train = [Record(f"train:{k}", "public void f() {}", "@Test void t() { f(); }", [f"assertEquals({k}, 1);"])
             for k in range(4)]
    query = Record("test:0", "public void f() {}", "@Test void t() { f(); }", ["x"])
    assert RetrievalIndex(train).neighbours([query])[0] == [0, 1, 2, 3]
    assert query_words(query) == ["public", "void", "f", "Test", "void", "t", "f"]


def _write_corpus(root, train, val, test):
    root.mkdir(parents=True)
    for split, records in (("train", train), ("val", val), ("test", test)):
        (root / f"{split}.jsonl").write_text("".join(
            json.dumps({"id": r.id, "focal_method": r.focal_method, "test_method_masked": r.test_method_masked,
                        "assertions": r.assertions}) + "\n" for r in records))


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "trident", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_the_baseline_is_a_run_that_evaluate_reads(tmp_path):
    train = _train()
    # val: records 0..2 carry their neighbour's first assertion as reference (right), 3..4 another line (wrong)
    val = [_record(f"val:{k}", d, [train[k].assertions[0] if k < 3 else "assertNull(nothing);"])
           for k, d in enumerate(DOMAINS)]
    test = [_record(f"test:{k}", d, [train[k].assertions[0]]) for k, d in enumerate(DOMAINS)]
    _write_corpus(tmp_path / "data", train, val, test)
    common = [f"--data.dir={tmp_path / 'data'}", f"--runs_dir={tmp_path / 'runs'}", "--name=exp",
              "--tracking.progress=false", "--data.max_val_records=4"]
    done = _run(["baseline", "retrieval", *common, "--split", "test"], tmp_path)
    assert done.returncode == 0, done.stderr
    run = RunDir(tmp_path / "runs" / "exp-retrieval")
    summary = read_summary(run)
    assert summary.role == "baseline" and summary.model == "retrieval-bm25" and summary.val_records == 4
    assert summary.train_records == 5 and summary.versions["bm25s"]
    # val limited to 4 records as training validates: 3 right, 1 wrong → tp 3, fp 1, fn 1 → F1 = 6/8
    assert summary.val_metrics["f1"] == pytest.approx(0.75)
    rows = [json.loads(line) for line in run.predictions("val").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["val:0", "val:1", "val:2", "val:3"]
    assert json.loads(run.metrics("test").read_text())["f1"] == pytest.approx(1.0)
    # trident evaluate reads it like a trained run (no model: the baseline runs on the split again)
    run.metrics("test").unlink()
    done = _run(["evaluate", "--run", str(run.root), "--split", "test"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(run.metrics("test").read_text())["f1"] == pytest.approx(1.0)
    table = done.stdout.split("records):\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in table[1:]] == ["exp-retrieval"]  # no second baseline row beside itself


def test_the_baseline_scores_like_the_metrics_module(tmp_path, synth_dir):
    """On the synthetic corpus the run's metrics are exactly metrics.compute_all of its predictions."""
    done = _run(["baseline", "retrieval", f"--data.dir={synth_dir}", f"--runs_dir={tmp_path}", "--name=s",
                 "--tracking.progress=false", "--split", "test"], tmp_path)
    assert done.returncode == 0, done.stderr
    run = RunDir(tmp_path / "s-retrieval")
    rows = [json.loads(line) for line in run.predictions("test").read_text().splitlines()]
    expected = metrics.compute_all([r["prediction"] for r in rows], [r["references"] for r in rows])
    got = json.loads(run.metrics("test").read_text())
    assert {k: got[k] for k in expected} == expected
    assert all(r["prediction"] for r in rows)  # every record gets assertions
