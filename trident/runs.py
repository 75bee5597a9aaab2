"""Shared run plumbing: data preparation, run directories, training a model, summaries."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import shutil
import socket
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from trident.config import RunConfig, save_config
from trident.data.records import Record, load_split, split_path
from trident.errors import DataError, RunDirError
from trident.io import atomic_write_json
from trident.rundir import RunDir


@dataclass
class Data:
    train: list[Record]
    val: list[Record]
    bad_counts: dict[str, dict[str, int]] = field(default_factory=dict)


def ensure_data(cfg: RunConfig) -> None:
    data_dir = Path(cfg.data.dir)
    if data_dir.exists() or cfg.data.synth_n <= 0:
        return
    from filelock import FileLock

    from trident.data.synth import write_splits

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # Several processes may start at once (torchrun ranks, sweep workers): one writes, the others wait.
    with FileLock(str(data_dir) + ".lock"):
        if data_dir.exists():
            return
        print(f"[trident] {data_dir} does not exist: generating {cfg.data.synth_n} synthetic records (seed {cfg.data.synth_seed})")
        tmp = data_dir.parent / f".{data_dir.name}.tmp-{os.getpid()}"
        write_splits(tmp, cfg.data.synth_n, cfg.data.synth_seed)
        os.replace(tmp, data_dir)


def existing_run(path: Path) -> RunDir:
    """The run at `path` (a folder with its config.yaml), or a RunDirError saying there is none."""
    if not path.is_dir():
        raise RunDirError(f"no run at {path}")
    run = RunDir(path)
    if not run.config.is_file():
        raise RunDirError(f"no run at {path}: the folder holds no config.yaml")
    return run


def world_size() -> int:
    """Processes training together (torchrun / accelerate launch set WORLD_SIZE), 1 otherwise."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """Whether this process owns the run directory's files: the only one, or rank 0 of several."""
    return int(os.environ.get("RANK", "0")) == 0


def load_records(cfg: RunConfig, split: str, bad_counts: dict) -> list[Record]:
    counts: Counter = Counter()
    records = load_split(cfg.data.dir, split, skip_bad=cfg.data.skip_bad_records, bad_counts=counts)
    if counts:
        bad_counts[split] = dict(counts)
        print(f"[trident] skipped bad records in {split}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if not records:
        skipped = f" (skipped: {', '.join(f'{k}={v}' for k, v in sorted(counts.items()))})" if counts else ""
        raise DataError(f"{split_path(cfg.data.dir, split)}: the {split} split holds no usable record{skipped}")
    return records


def subset_train(cfg: RunConfig, records: list[Record]) -> list[Record]:
    if cfg.data.max_train_records:
        records = records[: cfg.data.max_train_records]
    if cfg.data.train_fraction < 1.0:
        keep = max(1, round(len(records) * cfg.data.train_fraction))
        picked = sorted(random.Random(cfg.seed).sample(range(len(records)), keep))
        records = [records[i] for i in picked]
    return records


def limit_val(cfg: RunConfig, records: list[Record]) -> list[Record]:
    return records[: cfg.data.max_val_records] if cfg.data.max_val_records else records


def prepare_data(cfg: RunConfig) -> Data:
    ensure_data(cfg)
    bad: dict = {}
    train = subset_train(cfg, load_records(cfg, "train", bad))
    val = limit_val(cfg, load_records(cfg, "val", bad))
    return Data(train, val, bad)


# A cut above this share of a split's records is printed as a warning.
TRUNCATION_WARN_SHARE = 0.01

_CUT_WARNINGS = {  # count key -> (the limit that cut, what the cut costs)
    "source_cut": ("data.max_source_len", "{share} of {split} sources exceed {limit}={value} tokens and are cut "
                   "(the focal method first)"),
    "placeholders_lost": ("data.max_source_len", "{share} of {split} masked tests lost a placeholder (their "
                          "placeholder lines alone exceed {limit}={value} tokens): the model is asked to fill "
                          "placeholders it cannot see"),
    "target_cut": ("data.max_target_len", "{share} of {split} targets exceed {limit}={value} tokens: training sees "
                   "them cut (evaluation scores the whole reference)"),
    "targets_over_max_new_tokens": ("eval.max_new_tokens", "{share} of {split} references exceed {limit}={value} "
                                    "tokens: generation stops before they can be written whole"),
}


def _limit(cfg: RunConfig, key: str) -> int:
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def report_truncation(cfg: RunConfig, split: str, counts: dict[str, int]) -> dict[str, int]:
    """Print what encoding `split` cut (counts from `encoding.Truncation.counts`), with a warning
    on stderr for each kind of cut above TRUNCATION_WARN_SHARE of the records; returns `counts`
    for the run's summary."""
    n = counts["records"]

    def share(k: str) -> str:
        return f"{counts[k]} ({counts[k] / n:.1%})" if n else "0"

    parts = [f"{share('source_cut')} sources > data.max_source_len={cfg.data.max_source_len} "
             f"({counts['test_cut']} masked tests cut around their placeholders, "
             f"{counts['placeholders_lost']} lost one)",
             f"{share('target_cut')} targets > data.max_target_len={cfg.data.max_target_len}"]
    if "context_cut" in counts:
        parts.append(f"{share('context_cut')} focal contexts cut (data.focal_context={cfg.data.focal_context})")
    if "targets_over_max_new_tokens" in counts:
        parts.append(f"{share('targets_over_max_new_tokens')} references > eval.max_new_tokens={cfg.eval.max_new_tokens}")
    print(f"[trident] {split}: {n} records; cut to fit: " + "; ".join(parts))
    for key, (limit, text) in _CUT_WARNINGS.items():
        if n and counts.get(key, 0) / n > TRUNCATION_WARN_SHARE:
            message = text.format(share=f"{counts[key] / n:.1%}", split=split, limit=limit, value=_limit(cfg, limit))
            print(f"[trident] warning: {message}; raise {limit}", file=sys.stderr)
    return counts


def data_fingerprint(cfg: RunConfig) -> str:
    h = hashlib.sha256()
    for split in ("train", "val"):
        with split_path(cfg.data.dir, split).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


# RunDir.lock is the OS-level lock (flock through filelock), held for the whole run; RunDir.holder
# says who holds it (pid, host, since), for messages, and is removed on release.


def _read_holder(run_dir: Path) -> dict | None:
    try:
        return json.loads(RunDir(run_dir).holder.read_text())
    except (OSError, ValueError):
        return None


def _holder_text(holder: dict | None) -> str:
    if not holder:
        return "another process (it has not recorded itself yet)"
    return f"pid {holder.get('pid')} on host {holder.get('host')} (since {holder.get('since')})"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _stale_note(run_dir: Path, holder: dict) -> str:
    """What happened to a holder that left its record behind but no longer holds the OS lock."""
    who = f"pid {holder.get('pid')} on host {holder.get('host')}"
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        state = "is no longer running" if not _pid_alive(holder["pid"]) else "no longer holds its lock"
    else:
        state = "left it without releasing it (its lock is free, so that process is gone)"
    return f"[trident] taking over {run_dir}: its lock was held by {who}, which {state}"


@contextmanager
def hold_run_dir(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir` for this process, or raise RunDirError naming the live holder.

    The OS lock is the arbiter (the kernel drops it when its holder dies, even by SIGKILL); the
    holder file only names the holder. A holder file left behind with the lock free is a dead
    run's: it is taken over, and that is said.
    """
    from filelock import FileLock, Timeout

    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(RunDir(run_dir).lock))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunDirError(f"{run_dir} is in use by another run: {_holder_text(_read_holder(run_dir))}; "
                          "wait for it to finish, or give this run another --name") from None
    try:
        stale = _read_holder(run_dir)
        if stale is not None:
            print(_stale_note(run_dir, stale))
        atomic_write_json(RunDir(run_dir).holder, {"pid": os.getpid(), "host": socket.gethostname(),
                                                  "since": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        yield
    finally:
        RunDir(run_dir).holder.unlink(missing_ok=True)
        lock.release()


def _clear_run_dir(run_dir: Path, why: str) -> None:
    """Remove an earlier run's files, so nothing of it mixes into this one (the lock stays)."""
    run = RunDir(run_dir)
    old = [p for p in run_dir.iterdir() if p not in (run.lock, run.holder)]
    if not old:
        return
    if not run.config.exists():  # every run saves it first: this folder is not a run's
        raise RunDirError(f"{run_dir} is not empty and holds no trident run (no config.yaml); "
                          "give this run another --name or --runs_dir")
    print(f"[trident] {why}: removing the earlier run's files in {run_dir}")
    for path in old:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def _checkpoints(run_dir: Path) -> list[str]:
    return sorted(p.name for p in RunDir(run_dir).checkpoints.glob("checkpoint-*"))


def prepare_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """Make the (held) directory this run's: continue it, start it over, or refuse."""
    if resume and overwrite:
        raise RunDirError(f"{run_dir}: --overwrite starts the run over and --train.resume=true continues it; pass one")
    if overwrite:
        _clear_run_dir(run_dir, "starting the run over")
    elif resume:
        # A summary from an earlier attempt must not vouch for this one until it finishes.
        RunDir(run_dir).summary.unlink(missing_ok=True)
    elif RunDir(run_dir).is_finished():
        raise RunDirError(f"{run_dir} holds a finished run (summary.json): pass --overwrite to replace it, "
                          "--train.resume=true to continue it, or give this run another --name")
    elif _checkpoints(run_dir):
        raise RunDirError(f"{run_dir} holds an unfinished run with checkpoints ({', '.join(_checkpoints(run_dir))}): "
                          "pass --train.resume=true to continue it, or --overwrite to start it over")
    else:
        _clear_run_dir(run_dir, "an earlier attempt stopped before its first checkpoint")


@contextmanager
def start_run(cfg: RunConfig, run_dir: Path, resume: bool, overwrite: bool = False) -> Iterator[None]:
    """Hold `run_dir` for the whole run (see hold_run_dir), make it this run's (see
    prepare_run_dir) and save the config; the lock is released when the block ends."""
    if not is_main_process():  # rank 0 of a multi-process run holds and prepares the folder for all
        yield
        return
    with hold_run_dir(run_dir):
        prepare_run_dir(run_dir, resume, overwrite)
        save_config(cfg, RunDir(run_dir).config)
        yield


def library_versions() -> dict[str, str]:
    import accelerate
    import tokenizers
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "accelerate": accelerate.__version__, "tokenizers": tokenizers.__version__}


class Timer:
    @classmethod
    def started(cls) -> "Timer":
        return cls().__enter__()

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = self.elapsed()

    def elapsed(self) -> float:
        """Seconds since the timer started (it may still be running)."""
        return time.perf_counter() - self.t0
