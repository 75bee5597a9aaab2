"""Scoring a split's predictions and writing them into an eval folder.

One path for every row of a results table, whatever made the predictions (a model's
generation in `trident.evaluate`, the retrieval baseline in `trident.baseline`), so their
files and metrics have one meaning.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from trident import metrics
from trident.data.records import Record
from trident.io import atomic_write_json, atomic_write_jsonl
from trident.rundir import EXECUTION_FILE, METRICS_FILE, PREDICTIONS_FILE


def score_predictions(records: Sequence[Record], preds: Sequence[str], out_dir: Path, *, execute: bool = False,
                      progress: bool = False, extra: dict | None = None) -> dict:
    """Metrics of `preds` against the records' whole references (plus `extra`); with `execute`,
    compile and run them too. Writes predictions.jsonl, metrics.json (and execution.jsonl) in
    `out_dir`, each atomically; returns the metrics."""
    result = metrics.compute_all(list(preds), [r.assertions for r in records])
    result.update(extra or {})
    if execute:
        from trident.execution.scoring import execute_predictions

        ran, rates = execute_predictions(records, preds, progress=progress)
        result.update(rates)
        atomic_write_jsonl(out_dir / EXECUTION_FILE, (r.to_dict() for r in ran))
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_jsonl(out_dir / PREDICTIONS_FILE,
                       ({"id": r.id, "prediction": p, "references": r.assertions} for r, p in zip(records, preds)))
    atomic_write_json(out_dir / METRICS_FILE, result)
    return result
