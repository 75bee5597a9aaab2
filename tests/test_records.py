import gzip
import json
from collections import Counter

import pytest

from trident.data.records import BadRecord, iter_records, load_split

GOOD = {"focal_method": "int f() { return 1; }", "test_method_masked": "@Test void t() { <AssertPlaceHolder>; }",
        "assertions": ["assertEquals(1, f());"]}


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_reads_jsonl_and_gz_and_keeps_extra_fields(tmp_path):
    rec = dict(GOOD, id="r1", repo="x/y")
    _write(tmp_path / "train.jsonl", [json.dumps(rec)])
    with gzip.open(tmp_path / "val.jsonl.gz", "wt") as fh:
        fh.write(json.dumps(GOOD) + "\n\n" + json.dumps(GOOD) + "\n")
    [r] = load_split(tmp_path, "train")
    assert (r.id, r.assertions, r.extra) == ("r1", ["assertEquals(1, f());"], {"repo": "x/y"})
    val = load_split(tmp_path, "val")
    assert [r.id for r in val] == ["val:1", "val:3"]  # ids name the line when the record has none


@pytest.mark.parametrize("line, reason, words", [
    ("{not json", "invalid_json", "invalid JSON"),
    ("[1, 2]", "not_an_object", "expected a JSON object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "assertions"}), "missing_field", "'assertions'"),
    (json.dumps(dict(GOOD, focal_method=3)), "wrong_type", "'focal_method' must be a string"),
    (json.dumps(dict(GOOD, assertions="assertTrue(x);")), "wrong_type", "must be a list"),
    (json.dumps(dict(GOOD, assertions=[])), "empty_assertions", "empty list"),
    (json.dumps(dict(GOOD, assertions=["assertTrue(x);", " "])), "empty_string", "assertions[1] is empty"),
    (json.dumps(dict(GOOD, test_method_masked="")), "empty_string", "'test_method_masked' is empty"),
])
def test_bad_line_names_file_line_and_problem(tmp_path, line, reason, words):
    path = _write(tmp_path / "train.jsonl", [json.dumps(GOOD), line, json.dumps(GOOD)])
    with pytest.raises(BadRecord) as err:
        list(iter_records(path))
    assert err.value.line == 2 and err.value.reason == reason
    assert str(err.value).startswith(f"{path}:2: ") and words in str(err.value)


def test_skip_bad_records_counts_every_reason(tmp_path):
    path = _write(tmp_path / "train.jsonl", [
        json.dumps(GOOD), "{oops", json.dumps(dict(GOOD, assertions=[])), "{also bad", json.dumps(GOOD)])
    counts = Counter()
    records = list(iter_records(path, skip_bad=True, bad_counts=counts))
    assert len(records) == 2
    assert counts == {"invalid_json": 2, "empty_assertions": 1}


def test_missing_split_names_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="test.jsonl"):
        load_split(tmp_path, "test")
