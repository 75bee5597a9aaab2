import gzip
import json
import zlib
from collections import Counter

import pytest

from trident.cli import main
from trident.data.records import iter_records, load_split
from trident.errors import BadRecord, DataError

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


LINE = json.dumps(GOOD)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe\n\x00\x08\x06"


def _write_bytes(path, lines: list[bytes]):
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _bad_utf8_line() -> bytes:
    raw = LINE.encode()
    return raw[:20] + b"\xff" + raw[20:]  # the 21st byte of the line


def test_a_non_utf8_line_names_file_line_and_byte(tmp_path):
    path = _write_bytes(tmp_path / "train.jsonl", [LINE.encode(), _bad_utf8_line(), LINE.encode()])
    with pytest.raises(BadRecord) as err:
        list(iter_records(path))
    assert (err.value.line, err.value.reason) == (2, "not_utf8")
    assert str(err.value) == f"{path}:2: not UTF-8 text (byte 0xff at byte 21 of the line)"


def test_skipping_counts_undecodable_lines_and_keeps_the_rest(tmp_path):
    path = _write_bytes(tmp_path / "train.jsonl", [LINE.encode(), _bad_utf8_line(), b"{oops", PNG, LINE.encode()])
    counts = Counter()
    records = list(iter_records(path, skip_bad=True, bad_counts=counts))
    # PNG is 4 lines: "\x89PNG\r" (not UTF-8), "\x1a" (JSON), "...\xff\xfe" (not UTF-8), "\x00\x08\x06" (JSON)
    assert [r.id for r in records] == ["train:1", "train:8"]
    assert counts == {"not_utf8": 1 + 2, "invalid_json": 1 + 2}


def test_a_bom_at_the_start_of_a_file_is_accepted(tmp_path):
    _write_bytes(tmp_path / "train.jsonl", [b"\xef\xbb\xbf" + LINE.encode(), LINE.encode()])
    with gzip.open(tmp_path / "val.jsonl.gz", "wb") as fh:
        fh.write(b"\xef\xbb\xbf" + LINE.encode() + b"\n")
    assert [r.focal_method for r in load_split(tmp_path, "train")] == [GOOD["focal_method"]] * 2
    assert [r.id for r in load_split(tmp_path, "val")] == ["val:1"]


@pytest.mark.parametrize("record, words", [
    (dict(GOOD, focal_method="int f() { return \ud800; }"), "field 'focal_method' holds a lone surrogate (\\ud800 at character 18)"),
    (dict(GOOD, assertions=["assertEquals(1, f());", "assertTrue(\udfff);"]), "assertions[1] holds a lone surrogate (\\udfff"),
    (dict(GOOD, id="a\ud83d"), "field 'id' holds a lone surrogate"),
])
def test_a_lone_surrogate_is_a_bad_record(tmp_path, record, words):
    path = _write(tmp_path / "train.jsonl", [LINE, json.dumps(record)])  # json.dumps writes it as a \\u escape
    assert "\\ud" in path.read_text()
    with pytest.raises(BadRecord) as err:
        list(iter_records(path))
    assert (err.value.line, err.value.reason) == (2, "lone_surrogate") and words in str(err.value)
    counts = Counter()
    assert len(list(iter_records(path, skip_bad=True, bad_counts=counts))) == 1 and counts == {"lone_surrogate": 1}


def _truncated_gz(path, n: int) -> int:
    """A .jsonl.gz of n records cut in the middle; returns how many whole lines its bytes still hold."""
    data = b"".join(json.dumps(dict(GOOD, id=f"r{i}", focal_method=f"int f{i}() {{ return {i * 7919}; }}")).encode()
                    + b"\n" for i in range(n))
    whole = gzip.compress(data)
    path.write_bytes(whole[: len(whole) // 2])
    return zlib.decompressobj(wbits=31).decompress(whole[: len(whole) // 2]).count(b"\n")


@pytest.mark.parametrize("skip", [False, True])
def test_a_truncated_gzip_is_an_error_naming_the_last_good_line_even_when_skipping(tmp_path, skip):
    path = tmp_path / "train.jsonl.gz"
    good = _truncated_gz(path, 400)
    assert 0 < good < 400
    with pytest.raises(DataError) as err:
        list(iter_records(path, skip_bad=skip, bad_counts=Counter()))
    assert str(err.value).startswith(f"{path}: gzip data ends early or is corrupt after line {good}, the last complete one")


def test_a_gz_file_that_is_not_gzip_is_an_error(tmp_path):
    path = _write(tmp_path / "train.jsonl.gz", [LINE])
    with pytest.raises(DataError, match="before its first line"):
        list(iter_records(path, skip_bad=True))


def test_gzip_data_in_a_plain_jsonl_name_is_an_error(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(gzip.compress(LINE.encode()))
    with pytest.raises(DataError, match="rename it train.jsonl.gz"):
        list(iter_records(path, skip_bad=True))


def _cli(tmp_path, capsys, *extra) -> tuple[int, str]:
    code = main(["teacher", f"--data.dir={tmp_path / 'data'}", f"--runs_dir={tmp_path / 'runs'}",
                 "--tracking.wandb=disabled", *extra])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("trident: error: "), err
    return code, err[len("trident: error: "):].rstrip("\n")


def _data(tmp_path, train: list[bytes] | None = None, val: list[bytes] | None = None):
    data = tmp_path / "data"
    data.mkdir()
    _write_bytes(data / "train.jsonl", [LINE.encode()] * 3 if train is None else train)
    _write_bytes(data / "val.jsonl", [LINE.encode()] * 2 if val is None else val)
    return data


def test_cli_non_utf8_line(tmp_path, capsys):
    data = _data(tmp_path, train=[LINE.encode(), _bad_utf8_line()])
    assert _cli(tmp_path, capsys) == (2, f"{data / 'train.jsonl'}:2: not UTF-8 text (byte 0xff at byte 21 of the line)")


def test_cli_binary_file_named_jsonl(tmp_path, capsys):
    data = _data(tmp_path)
    (data / "train.jsonl").write_bytes(PNG * 4)
    assert _cli(tmp_path, capsys) == (2, f"{data / 'train.jsonl'}:1: not UTF-8 text (byte 0x89 at byte 1 of the line)")
    code, msg = _cli(tmp_path, capsys, "--data.skip_bad_records=true")
    assert code == 2
    # 13 lines: each PNG's 3 newlines, and each PNG's tail "\x00\x08\x06" joins the next one's "\x89PNG\r" line;
    # not UTF-8: the 4 "\x89PNG" lines and the 4 "\xff\xfe" lines; invalid JSON: the 4 "\x1a" lines and the last tail
    assert msg == f"{data / 'train.jsonl'}: the train split holds no usable record (skipped: invalid_json=5, not_utf8=8)"


def test_cli_lone_surrogate(tmp_path, capsys):
    data = _data(tmp_path, train=[LINE.encode(), json.dumps(dict(GOOD, test_method_masked="\ud800")).encode()])
    code, msg = _cli(tmp_path, capsys)
    assert code == 2 and msg.startswith(f"{data / 'train.jsonl'}:2: field 'test_method_masked' holds a lone surrogate")


def test_cli_truncated_gzip_with_skipping_on(tmp_path, capsys):
    data = _data(tmp_path)
    (data / "train.jsonl").unlink()
    good = _truncated_gz(data / "train.jsonl.gz", 400)
    code, msg = _cli(tmp_path, capsys, "--data.skip_bad_records=true")
    assert code == 2
    assert msg.startswith(f"{data / 'train.jsonl.gz'}: gzip data ends early or is corrupt after line {good}, the last complete one")


def test_cli_empty_split(tmp_path, capsys):
    data = _data(tmp_path, val=[])
    assert _cli(tmp_path, capsys) == (2, f"{data / 'val.jsonl'}: the val split holds no usable record")


def test_cli_folder_where_a_file_is_expected(tmp_path, capsys):
    data = _data(tmp_path)
    (data / "val.jsonl").unlink()
    (data / "val.jsonl").mkdir()
    assert _cli(tmp_path, capsys) == (2, f"{data / 'val.jsonl'} is a folder, not a file: the val split must be a .jsonl or .jsonl.gz file")
    assert _cli(tmp_path, capsys, "--config", str(data)) == (2, f"config file {data} is a folder, not a file")


def test_cli_malformed_yaml(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\ntrain: {lr: 1e-3\nseed: 1\n")
    code, msg = _cli(tmp_path, capsys, "--config", str(path))
    assert code == 2 and msg.startswith(f"{path}:3:") and "invalid YAML" in msg
