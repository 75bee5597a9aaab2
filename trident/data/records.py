"""Records: one JSON object per line (`.jsonl` or `.jsonl.gz`).

A record holds `focal_method`, `test_method_masked` (each assertion replaced by
`<AssertPlaceHolder>;`) and `assertions` (non-empty list, in source order). Extra fields are
kept and ignored. A bad line stops the load with file, line number and problem, unless the
caller asks to skip bad lines, in which case each skip is counted by reason.

Lines are read as bytes and decoded one by one, so a line that is not UTF-8 is one bad line
(`not_utf8`), not the end of the file; a UTF-8 byte order mark at the start of a file is
dropped. A text field holding a lone surrogate (`"\\ud800"`, valid JSON but not encodable
text) is a bad line (`lone_surrogate`). A gzip stream that is cut short or corrupt is an error
naming the last complete line even when skipping: the lines after it are lost, and that must
not pass silently.
"""
from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from trident.errors import BadRecord, DataError

PLACEHOLDER = "<AssertPlaceHolder>;"
SPLITS = ("train", "val", "test")


@dataclass
class Record:
    id: str
    focal_method: str
    test_method_masked: str
    assertions: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"


def _plain_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as fh:
        if fh.read(2) == GZIP_MAGIC:
            raise DataError(f"{path}: holds gzip-compressed data; rename it {path.name}.gz")
        fh.seek(0)
        yield from enumerate(fh, start=1)


def _gzip_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    done = 0
    with gzip.open(path, "rb") as fh:
        try:
            for done, raw in enumerate(fh, start=1):
                yield done, raw
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            where = f"after line {done}, the last complete one" if done else "before its first line"
            raise DataError(f"{path}: gzip data ends early or is corrupt {where} ({exc})") from None


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of a .jsonl or .jsonl.gz file."""
    return _gzip_lines(path) if path.name.endswith(".gz") else _plain_lines(path)


def _decode(raw: bytes, path: Path, lineno: int) -> str:
    if lineno == 1 and raw.startswith(BOM):
        raw = raw[len(BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRecord(path, lineno, "not_utf8",
                        f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)") from None


def _check_encodable(text: str, name: str, path: Path, line: int) -> None:
    """JSON's \\uXXXX escapes can spell a lone surrogate, which no tokenizer can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRecord(path, line, "lone_surrogate",
                        f"{name} holds a lone surrogate (\\u{ord(text[exc.start]):04x} at character {exc.start + 1})") from None


def _check(obj: Any, path: Path, line: int) -> None:
    if not isinstance(obj, dict):
        raise BadRecord(path, line, "not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    for key in ("focal_method", "test_method_masked", "assertions"):
        if key not in obj:
            raise BadRecord(path, line, "missing_field", f"missing field {key!r}")
    for key in ("focal_method", "test_method_masked"):
        if not isinstance(obj[key], str):
            raise BadRecord(path, line, "wrong_type", f"field {key!r} must be a string, got {type(obj[key]).__name__}")
        if not obj[key].strip():
            raise BadRecord(path, line, "empty_string", f"field {key!r} is empty")
    assertions = obj["assertions"]
    if not isinstance(assertions, list):
        raise BadRecord(path, line, "wrong_type", f"field 'assertions' must be a list, got {type(assertions).__name__}")
    if not assertions:
        raise BadRecord(path, line, "empty_assertions", "field 'assertions' is an empty list")
    for i, a in enumerate(assertions):
        if not isinstance(a, str):
            raise BadRecord(path, line, "wrong_type", f"assertions[{i}] must be a string, got {type(a).__name__}")
        if not a.strip():
            raise BadRecord(path, line, "empty_string", f"assertions[{i}] is empty")
    texts = [(f"field {k!r}", obj[k]) for k in ("id", "focal_method", "test_method_masked") if isinstance(obj.get(k), str)]
    for name, text in [*texts, *((f"assertions[{i}]", a) for i, a in enumerate(assertions))]:
        _check_encodable(text, name, path, line)


def check_record(obj: Any, path: Path, line: int) -> None:
    """Raise BadRecord when `obj` (one parsed line) is not a usable record."""
    _check(obj, path, line)


def json_lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON value or BadRecord) for each non-blank line of a .jsonl or
    .jsonl.gz file, for importers that map other people's fields before checking them."""
    path = Path(path)
    for lineno, raw in _raw_lines(path):
        try:
            text = _decode(raw, path, lineno)
            if not text.strip():
                continue
            try:
                yield lineno, json.loads(text)
            except json.JSONDecodeError as exc:
                raise BadRecord(path, lineno, "invalid_json", f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        except BadRecord as bad:
            yield lineno, bad


def iter_records(path: str | Path, skip_bad: bool = False, bad_counts: Counter | None = None,
                 id_prefix: str | None = None) -> Iterator[Record]:
    """Yield the records of one file. Blank lines are not records and are passed over."""
    path = Path(path)
    prefix = id_prefix if id_prefix is not None else path.name.split(".")[0]
    for lineno, obj in json_lines(path):
        try:
            if isinstance(obj, BadRecord):
                raise obj
            _check(obj, path, lineno)
        except BadRecord as bad:
            if not skip_bad:
                raise
            if bad_counts is not None:
                bad_counts[bad.reason] += 1
            continue
        extra = {k: v for k, v in obj.items() if k not in ("id", "focal_method", "test_method_masked", "assertions")}
        yield Record(id=str(obj.get("id", f"{prefix}:{lineno}")), focal_method=obj["focal_method"],
                     test_method_masked=obj["test_method_masked"], assertions=list(obj["assertions"]), extra=extra)


def split_path(data_dir: str | Path, split: str) -> Path:
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"data folder {data_dir} is a file, not a folder")
    candidates = [data_dir / f"{split}.jsonl", data_dir / f"{split}.jsonl.gz"]
    for c in candidates:
        if c.is_dir():
            raise DataError(f"{c} is a folder, not a file: the {split} split must be a .jsonl or .jsonl.gz file")
        if c.exists():
            return c
    raise FileNotFoundError(f"no {split} split in {data_dir}: expected one of {', '.join(str(c) for c in candidates)}")


def load_split(data_dir: str | Path, split: str, skip_bad: bool = False, bad_counts: Counter | None = None) -> list[Record]:
    return list(iter_records(split_path(data_dir, split), skip_bad=skip_bad, bad_counts=bad_counts, id_prefix=split))
