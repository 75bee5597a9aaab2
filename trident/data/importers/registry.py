"""Corpus importers for `trident data import --format NAME`, in one table.

An importer is `fn(source: Path, options: ImportOptions) -> Iterator[Item]`: it yields one
`Imported` per record, `Skipped` for a case the corpus holds but trident cannot use (counted by
reason), and `BadRecord` for a malformed line. It never raises on bad input itself, so the
bad-input policy (stop with file:line, or skip and count with --skip-bad-records) lives in one
place, `trident.data.importers.run`. Adding one is one function and one line below (or a
`register_importer` call from your own code).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable, Iterator, Union

from trident.errors import BadRecord


@dataclass(frozen=True)
class ImportOptions:
    mapping: dict[str, str] = field(default_factory=dict)  # trident field → source field (jsonl)


@dataclass(frozen=True)
class Imported:
    split: str  # train / val / test
    record: dict


@dataclass(frozen=True)
class Skipped:
    reason: str


Item = Union[Imported, Skipped, BadRecord]


@dataclass(frozen=True)
class Entry:
    name: str
    target: Union[str, Callable[..., Iterator[Item]]]  # "module:function", or the function itself
    doc: str

    def load(self) -> Callable[..., Iterator[Item]]:
        if callable(self.target):
            return self.target
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


IMPORTERS: dict[str, Entry] = {e.name: e for e in (
    Entry("methods2test", "trident.data.importers.methods2test:read",
          "methods2test's dataset/ folder: train/eval/test JSON files, one mapped test case each"),
    Entry("atlas", "trident.data.importers.atlas:read",
          "ATLAS assert generation: Training/Eval/Testing folders of testMethods.txt + assertLines.txt"),
    Entry("jsonl", "trident.data.importers.jsonl:read",
          "a folder of train/val/test .jsonl(.gz) files with other field names (--map)"),
)}


def register_importer(name: str, target, doc: str) -> Entry:
    if name in IMPORTERS:
        raise ValueError(f"importer {name!r} registered twice")
    IMPORTERS[name] = Entry(name, target, doc)
    return IMPORTERS[name]
