"""Bootstrap intervals of the trials' validation F1, so a sweep's "best" says how sure it is.

Every trial of a sweep is validated on the same examples, so one resample of the examples is
shared by all trials (a paired bootstrap): the interval of a difference between two trials
then reflects how the trials differ on the same examples, not the noise of the set itself.
Micro F1 is recomputed from summed per-example line counts on each replicate, so each
replicate is an exact corpus F1.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trident import metrics

REPLICATES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class F1Interval:
    value: float  # F1 on the whole validation set
    lo: float
    hi: float


@dataclass(frozen=True)
class Separation:
    best: int
    others: dict[int | str, tuple[float, float]]  # trial (or baseline row) → interval of F1(best) − F1(it)

    @property
    def tied_with(self) -> list[int]:
        """Trials whose difference to the best is not clearly positive (its interval reaches 0)."""
        return sorted(t for t, (lo, _) in self.others.items() if lo <= 0.0)


def read_counts(predictions: Path) -> dict[str, tuple[int, int, int]]:
    """id → (tp, fp, fn) from a run's eval/val/predictions.jsonl."""
    rows = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines() if line.strip()]
    exs = metrics.prepare([r["prediction"] for r in rows], [r["references"] for r in rows])
    return {r["id"]: metrics.line_counts(ex) for r, ex in zip(rows, exs)}


def micro_f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Elementwise micro F1 = 2tp / (2tp + fp + fn); 0 where nothing was predicted or expected."""
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)


def bootstrap_f1(counts: dict[int | str, dict[str, tuple[int, int, int]]], seed: int = 0,
                 replicates: int = REPLICATES) -> tuple[dict[int | str, F1Interval], np.ndarray, list[int | str]]:
    """Per trial (or named row, e.g. a baseline): F1 and its percentile interval; also the
    [trials, replicates] F1 draws (rows in the returned order: `counts`' own), computed on the
    examples every trial has predictions for."""
    trials = list(counts)
    ids = sorted(set.intersection(*(set(c) for c in counts.values()))) if trials else []
    if not ids:
        return {}, np.zeros((0, replicates)), trials
    arr = np.asarray([[counts[t][i] for i in ids] for t in trials], dtype=float)  # [trials, n, 3]
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(ids), size=(replicates, len(ids)))
    weights = np.zeros((replicates, len(ids)))
    np.add.at(weights, (np.repeat(np.arange(replicates), len(ids)), picks.ravel()), 1.0)
    summed = np.einsum("rn,tnk->trk", weights, arr)  # [trials, replicates, 3]
    draws = micro_f1(summed[..., 0], summed[..., 1], summed[..., 2])
    whole = arr.sum(axis=1)
    point = micro_f1(whole[:, 0], whole[:, 1], whole[:, 2])
    tail = (1 - LEVEL) / 2 * 100
    out = {t: F1Interval(float(point[k]), *map(float, np.percentile(draws[k], [tail, 100 - tail])))
           for k, t in enumerate(trials)}
    return out, draws, trials


def separation(best: int, draws: np.ndarray, trials: list[int | str]) -> Separation:
    """Paired intervals of F1(best) − F1(other) for every other trial."""
    k = trials.index(best)
    tail = (1 - LEVEL) / 2 * 100
    others = {}
    for j, t in enumerate(trials):
        if t != best:
            lo, hi = np.percentile(draws[k] - draws[j], [tail, 100 - tail])
            others[t] = (float(lo), float(hi))
    return Separation(best, others)
