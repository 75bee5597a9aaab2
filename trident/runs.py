"""Shared run plumbing: data preparation, run directories, training a model, summaries."""
from __future__ import annotations

import hashlib
import platform
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from trident.config import RunConfig, save_config
from trident.data.records import Record, load_split, split_path
from trident.io import atomic_write_json


@dataclass
class Data:
    train: list[Record]
    val: list[Record]
    bad_counts: dict[str, dict[str, int]] = field(default_factory=dict)


def ensure_data(cfg: RunConfig) -> None:
    data_dir = Path(cfg.data.dir)
    if data_dir.exists() or cfg.data.synth_n <= 0:
        return
    from trident.data.synth import write_splits

    print(f"[trident] {data_dir} does not exist: generating {cfg.data.synth_n} synthetic records (seed {cfg.data.synth_seed})")
    write_splits(data_dir, cfg.data.synth_n, cfg.data.synth_seed)


def load_records(cfg: RunConfig, split: str, bad_counts: dict) -> list[Record]:
    counts: Counter = Counter()
    records = load_split(cfg.data.dir, split, skip_bad=cfg.data.skip_bad_records, bad_counts=counts)
    if counts:
        bad_counts[split] = dict(counts)
        print(f"[trident] skipped bad records in {split}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if not records:
        raise ValueError(f"the {split} split in {cfg.data.dir} holds no usable record")
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


def data_fingerprint(cfg: RunConfig) -> str:
    h = hashlib.sha256()
    for split in ("train", "val"):
        with split_path(cfg.data.dir, split).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def start_run(cfg: RunConfig, run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    # A summary from an earlier attempt must not vouch for this one until it finishes.
    (run_dir / "summary.json").unlink(missing_ok=True)
    save_config(cfg, run_dir / "config.yaml")


def library_versions() -> dict[str, str]:
    import accelerate
    import tokenizers
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "accelerate": accelerate.__version__, "tokenizers": tokenizers.__version__}


def write_summary(run_dir: Path, summary: dict) -> None:
    atomic_write_json(run_dir / "summary.json", summary)


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
