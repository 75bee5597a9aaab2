"""Other people's JSONL: SOURCE/{train,val,test}.jsonl(.gz) with their own field names.

`--map focal_method=src_fm,test_method=src_test` names, for each trident field, the field that
holds it. Fields: `focal_method`, and either `test_method_masked` plus `assertions` (a list, or one
string of newline-separated assertions) or `test_method` (a whole test, split with the miner's
extractor); optional `id` and `focal_context`. Unmapped fields keep their own names. Every
record is then checked as `trident train` would load it. A line with a masked test is taken as
it is even where `test_method` is mapped, so one file may hold both forms.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from trident.data.importers.registry import ImportOptions, Imported, Item, Skipped
from trident.data.mining.assertions import split_test_source
from trident.data.records import SPLITS, check_record, json_lines, split_path
from trident.errors import BadRecord, ConfigError

TARGETS = ("id", "focal_method", "test_method_masked", "assertions", "test_method", "focal_context")


def parse_mapping(text: str) -> dict[str, str]:
    """`a=x,b=y` → {"a": "x", "b": "y"}, checked against the fields trident knows."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        target, sep, field = part.partition("=")
        if not sep or not field.strip():
            raise ConfigError(f"--map entries are TRIDENT_FIELD=SOURCE_FIELD, got {part!r}")
        if target.strip() not in TARGETS:
            raise ConfigError(f"--map: unknown field {target.strip()!r}; trident's fields are {', '.join(TARGETS)}")
        out[target.strip()] = field.strip()
    return out


def _mapped(obj: dict, mapping: dict[str, str], path: Path, line: int) -> dict | Skipped:
    sources = {mapping.get(t, t) for t in TARGETS}
    out = {k: v for k, v in obj.items() if k not in sources}
    for target in TARGETS:
        field = mapping.get(target, target)
        if field in obj:
            out[target] = obj[field]

    def missing(target: str) -> BadRecord:
        field = mapping.get(target, target)
        return BadRecord(path, line, "missing_field",
                         f"missing field {field!r}" + (f" (mapped to {target})" if target in mapping else ""))

    if "focal_method" not in out:
        raise missing("focal_method")
    if "test_method_masked" not in out and "test_method" not in out:
        raise missing("test_method" if "test_method" in mapping else "test_method_masked")
    if "test_method_masked" not in out:
        if not isinstance(out["test_method"], str):
            raise BadRecord(path, line, "wrong_type", f"field {mapping.get('test_method', 'test_method')!r} must be a string")
        split = split_test_source(out.pop("test_method"))
        if split is None:
            return Skipped("test_method_does_not_parse")
        if not split.assertions:
            return Skipped("no_assertion")
        out["test_method_masked"], out["assertions"] = split.masked, list(split.assertions)
    if isinstance(out.get("assertions"), str):
        out["assertions"] = [a for a in out["assertions"].split("\n") if a.strip()]
    return out


def read(source: Path, options: ImportOptions) -> Iterator[Item]:
    for split in SPLITS:
        path = split_path(source, split)
        for line, obj in json_lines(path):
            if isinstance(obj, BadRecord):
                yield obj
                continue
            try:
                if not isinstance(obj, dict):
                    raise BadRecord(path, line, "not_an_object", f"expected a JSON object, got {type(obj).__name__}")
                record = _mapped(obj, options.mapping, path, line)
                if isinstance(record, Skipped):
                    yield record
                    continue
                check_record(record, path, line)
            except BadRecord as bad:
                yield bad
                continue
            record.setdefault("id", f"{split}:{line}")
            yield Imported(split, record)
