"""A W&B run written offline (`tracking.wandb=offline`, trident's default) read back from its
transaction log, `<run>/wandb/offline-run-<time>-<id>/run-<id>.wandb`, with no server.

The log is LevelDB's log format (github.com/google/leveldb, doc/log_format.md) as wandb
writes it: a 7-byte header (":W&B", magic 0xBEE1, version 0), then 32 KiB blocks of chunks,
each a CRC-32 (zlib's, of the type byte and the data), a length, a type (FULL, or FIRST,
MIDDLE…, LAST for a record split across blocks) and the data; every record is one
`wandb.proto.wandb_internal_pb2.Record`. The installed wandb (its core is a Go binary) has no
Python reader for the file, so the framing is read here and the records with wandb's own
protobuf classes.

`OfflineRun` has the attributes of a `wandb.apis.public.Run` that
trident.analysis.wandb_source reads (id, name, state, config, summary, scan_history,
history), so that adapter reads an offline run exactly as one fetched from a server.
"""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from trident.errors import DataError

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32768
CHUNK_HEADER = 7  # crc32 (4), length (2), type (1)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


@dataclass
class OfflineRun:
    path: Path  # the .wandb file
    id: str
    name: str
    project: str
    state: str  # finished | failed (a non-zero exit code) | unfinished (no exit record: still running, or killed)
    config: dict[str, Any]
    summary: dict[str, Any]
    rows: list[dict[str, Any]]  # one per wandb.log call, in order, with _step
    problems: list[str] = field(default_factory=list)  # a cut or damaged log, in words
    group: str = ""  # the run's W&B group and tags, as wandb.init was given them
    tags: list[str] = field(default_factory=list)

    def scan_history(self, keys: list[str] | None = None, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            if keys is None:
                yield dict(row)
            elif all(k in row for k in keys):  # as the public API: rows holding every key asked for
                yield {k: row[k] for k in ("_step", *keys) if k in row}

    def history(self, samples: int = 500, keys: list[str] | None = None, pandas: bool = True):
        rows = list(self.scan_history(keys))
        return pd.DataFrame(rows) if pandas else rows


def find_log(path: str | Path) -> Path:
    """The .wandb file of `path`: the file itself, an offline run's folder, or a folder whose
    `wandb/` (a trident run directory) or own subfolders hold exactly one offline run."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".wandb":
            raise DataError(f"{path}: not a W&B transaction log (run-<id>.wandb)")
        return path
    if not path.is_dir():
        raise DataError(f"{path} does not exist")
    for pattern in ("run-*.wandb", "*/run-*.wandb", "wandb/*/run-*.wandb"):
        # wandb/latest-run is a link to the newest run's folder: each log counted once
        found = sorted({p.resolve() for p in path.glob(pattern)})
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(p.parent.name for p in found)
            raise DataError(f"{path} holds {len(found)} offline W&B runs ({names}): name the one to read "
                            f"(e.g. {found[-1].parent})")
    raise DataError(f"{path}: no offline W&B run (run-<id>.wandb) in it, its subfolders or its wandb/ folder")


def _records(path: Path) -> tuple[list[bytes], list[str]]:
    """The records of a log, and, when it ends in a cut or damaged chunk, a problem naming where
    (the records before it are sound and kept)."""
    data = path.read_bytes()
    if data[: len(HEADER)] != HEADER:
        raise DataError(f"{path}: not a W&B transaction log (its header is not wandb's)")
    records: list[bytes] = []
    pending: bytes | None = None
    pos = len(HEADER)
    while pos < len(data):
        room = BLOCK - pos % BLOCK
        if room < CHUNK_HEADER:  # a block's tail too short for a chunk is padding
            pos += room
            continue
        if pos + CHUNK_HEADER > len(data):
            return records, [f"{path}: cut inside a chunk header at byte {pos}; the records before it are used"]
        crc, length, kind = struct.unpack("<IHB", data[pos:pos + CHUNK_HEADER])
        if kind == 0 and length == 0:  # zeros: space written ahead of the records
            break
        body = data[pos + CHUNK_HEADER:pos + CHUNK_HEADER + length]
        if len(body) < length or zlib.crc32(bytes([kind]) + body) != crc:
            why = "cut" if len(body) < length else "damaged (checksum mismatch)"
            return records, [f"{path}: {why} at byte {pos} (a run still writing, or a crash); "
                             "the records before it are used"]
        pos += CHUNK_HEADER + length
        if kind == FULL:
            records.append(body)
        elif kind == FIRST:
            pending = body
        elif kind in (MIDDLE, LAST) and pending is not None:
            pending += body
            if kind == LAST:
                records.append(pending)
                pending = None
        else:
            return records, [f"{path}: unexpected chunk type {kind} at byte {pos}; the records before it are used"]
    return records, []


def _key(item) -> str:
    return item.key or ".".join(item.nested_key)


def _value(item) -> Any:
    return json.loads(item.value_json) if item.value_json else None


def _set_nested(tree: dict, item) -> None:
    parts = list(item.nested_key) or [item.key]
    for part in parts[:-1]:
        tree = tree.setdefault(part, {})
    tree[parts[-1]] = _value(item)


def _remove_nested(tree: dict, item) -> None:
    parts = list(item.nested_key) or [item.key]
    for part in parts[:-1]:
        tree = tree.get(part) or {}
    if isinstance(tree, dict):
        tree.pop(parts[-1], None)


def read_offline_run(path: str | Path) -> OfflineRun:
    """The offline run at `path` (see find_log): its config, final summary and every history row."""
    from wandb.proto import wandb_internal_pb2 as pb

    log = find_log(path)
    blobs, problems = _records(log)
    run_id, name, project, state = log.stem.removeprefix("run-"), "", "", "unfinished"
    group, tags = "", []
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for blob in blobs:
        record = pb.Record()
        record.ParseFromString(blob)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run_id, name, project = record.run.run_id or run_id, record.run.display_name, record.run.project
            group, tags = record.run.run_group, list(record.run.tags)
            for item in record.run.config.update:
                _set_nested(config, item)
        elif kind == "config":
            for item in record.config.update:
                _set_nested(config, item)
            for item in record.config.remove:
                _remove_nested(config, item)
        elif kind == "history":
            row = {_key(item): _value(item) for item in record.history.item}
            row.setdefault("_step", record.history.step.num)
            rows.append(row)
        elif kind == "summary":
            for item in record.summary.update:
                summary[_key(item)] = _value(item)
            for item in record.summary.remove:
                summary.pop(_key(item), None)
        elif kind == "exit":
            state = "finished" if record.exit.exit_code == 0 else "failed"
    config.pop("_wandb", None)  # wandb's own bookkeeping, not the run's configuration
    return OfflineRun(path=log, id=run_id, name=name or run_id, project=project, state=state, config=config,
                      summary=summary, rows=rows, problems=problems, group=group, tags=tags)
