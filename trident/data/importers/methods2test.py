"""methods2test (Tufano et al., 2022): one JSON object per mapped test case.

Layout: SOURCE/{train,eval,test}/…/*.json (`eval` is our `val`; `val` is read too), each file one
object, or a .jsonl file of such objects. Fields read: `test_case.body` (split into masked test
and assertions with the miner's extractor, so both paths mean the same thing),
`focal_method.body` (annotations dropped), `focal_class` (`identifier`, `superclass`, `fields[]`
`.original_string`, `methods[]` `.full_signature/.modifiers/.constructor`, for the focal
context), `test_class.identifier`, `repository.url`/`repo_id`. The corpus' split is kept.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from trident.data.importers.registry import ImportOptions, Imported, Item, Skipped
from trident.data.mining.assertions import split_test_source
from trident.data.mining.focal import format_class_context
from trident.data.mining.javafile import method_source
from trident.data.records import json_lines
from trident.errors import BadRecord, DataError

SPLIT_DIRS = {"train": "train", "eval": "val", "val": "val", "test": "test"}


def _objects(path: Path) -> Iterator[tuple[int, Any]]:
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        yield from json_lines(path)
        return
    raw = path.read_bytes()
    try:
        yield 1, json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        yield line, BadRecord(path, line, "not_utf8", "not UTF-8 text")
    except json.JSONDecodeError as exc:
        yield exc.lineno, BadRecord(path, exc.lineno, "invalid_json", f"invalid JSON ({exc.msg} at column {exc.colno})")


def _field(obj: dict, dotted: str, path: Path, line: int, kind=str):
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise BadRecord(path, line, "missing_field", f"missing field {dotted!r}")
        cur = cur[part]
    if not isinstance(cur, kind):
        raise BadRecord(path, line, "wrong_type", f"field {dotted!r} must be {kind.__name__}, got {type(cur).__name__}")
    return cur


def _context(focal_class: dict) -> str:
    superclass = str(focal_class.get("superclass") or "").replace("extends", "").strip() or None
    fields = [" ".join(str(f.get("original_string", "")).split()) for f in focal_class.get("fields") or []
              if isinstance(f, dict) and f.get("original_string")]
    methods = [m for m in focal_class.get("methods") or [] if isinstance(m, dict) and m.get("full_signature")]
    sig = [(" ".join(str(m["full_signature"]).split()), bool(m.get("constructor")), "public" in str(m.get("modifiers", "")))
           for m in methods]
    return format_class_context(str(focal_class.get("identifier", "")), superclass, fields,
                                [s for s, ctor, _ in sig if ctor], [s for s, ctor, pub in sig if not ctor and pub])


def _record(obj: Any, path: Path, line: int, split: str, root: Path) -> Item:
    if not isinstance(obj, dict):
        return BadRecord(path, line, "not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    try:
        body = _field(obj, "test_case.body", path, line)
        focal_body = _field(obj, "focal_method.body", path, line)
        focal_class = _field(obj, "focal_class", path, line, dict)
        test_class = _field(obj, "test_class.identifier", path, line)
    except BadRecord as bad:
        return bad
    split_test = split_test_source(body)
    if split_test is None:
        return Skipped("test_case_does_not_parse")
    if not split_test.assertions:
        return Skipped("no_assertion")
    if split_test.multiline_literal:
        return Skipped("text_block_in_assertion")
    focal = method_source(focal_body)
    if focal is None:
        return Skipped("focal_method_does_not_parse")
    repo = obj.get("repository") if isinstance(obj.get("repository"), dict) else {}
    return Imported(split, {
        "id": f"methods2test/{path.relative_to(root).as_posix()}" + (f":{line}" if path.suffix != ".json" else ""),
        "focal_method": focal,
        "test_method_masked": split_test.masked,
        "assertions": list(split_test.assertions),
        "focal_context": _context(focal_class),
        "repo": str(repo.get("url") or repo.get("repo_id") or ""),
        "test_class": test_class,
        "test_name": str((obj.get("test_case") or {}).get("identifier", "")),
        "focal_class": str(focal_class.get("identifier", "")),
        "test_file": str((obj.get("test_class") or {}).get("file", "")),
        "focal_file": str(focal_class.get("file", "")),
        "assertion_kinds": list(split_test.kinds),
    })


def read(source: Path, options: ImportOptions) -> Iterator[Item]:
    dirs = [(source / name, split) for name, split in SPLIT_DIRS.items() if (source / name).is_dir()]
    if not dirs:
        raise DataError(f"{source}: no train/, eval/ or test/ folder (methods2test's dataset/ layout)")
    for folder, split in dirs:
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".json", ".jsonl", ".jsonl.gz")))
        for path in files:
            for line, obj in _objects(path):
                yield obj if isinstance(obj, BadRecord) else _record(obj, path, line, split, source)
