"""Records: one JSON object per line (`.jsonl` or `.jsonl.gz`).

A record holds `focal_method`, `test_method_masked` (each assertion replaced by
`<AssertPlaceHolder>;`) and `assertions` (non-empty list, in source order). Extra fields are
kept and ignored. A bad line stops the load with file, line number and problem, unless the
caller asks to skip bad lines, in which case each skip is counted by reason.
"""
from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

PLACEHOLDER = "<AssertPlaceHolder>;"
SPLITS = ("train", "val", "test")


@dataclass
class Record:
    id: str
    focal_method: str
    test_method_masked: str
    assertions: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


class BadRecord(ValueError):
    def __init__(self, path: Path, line: int, reason: str, detail: str):
        self.path, self.line, self.reason, self.detail = path, line, reason, detail
        super().__init__(f"{path}:{line}: {detail}")


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else path.open(encoding="utf-8")


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


def iter_records(path: str | Path, skip_bad: bool = False, bad_counts: Counter | None = None,
                 id_prefix: str | None = None) -> Iterator[Record]:
    """Yield the records of one file. Blank lines are not records and are passed over."""
    path = Path(path)
    prefix = id_prefix if id_prefix is not None else path.name.split(".")[0]
    with _open(path) as fh:
        for lineno, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise BadRecord(path, lineno, "invalid_json", f"invalid JSON ({exc.msg} at column {exc.colno})") from None
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
    candidates = [data_dir / f"{split}.jsonl", data_dir / f"{split}.jsonl.gz"]
    for c in candidates:
        if c.exists():
            return c
    raise FileNotFoundError(f"no {split} split in {data_dir}: expected one of {', '.join(str(c) for c in candidates)}")


def load_split(data_dir: str | Path, split: str, skip_bad: bool = False, bad_counts: Counter | None = None) -> list[Record]:
    return list(iter_records(split_path(data_dir, split), skip_bad=skip_bad, bad_counts=bad_counts, id_prefix=split))
