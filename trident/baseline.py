"""The retrieval baseline: copy the assertions of the nearest training record.

A results table is only worth reading if its models do better than copying. For each record
this predicts the assertions of the training record whose focal method and masked test are
nearest by BM25 (the `bm25s` library), as many as the record has placeholders: a model that
does not beat it has learned nothing the training set does not already say verbatim.

It indexes the whole training split (`data.max_train_records` applies, `data.train_fraction`
does not: the teacher sees the whole split too, so the baseline is never handicapped against
either model) and writes a normal run directory, so `trident evaluate`, the sweeps' trials
table and the before/after report read it like any run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from trident.config import RunConfig
from trident.data.records import PLACEHOLDER, Record
from trident.predictions import score_predictions
from trident.rundir import RunDir, Summary, read_summary, write_summary
from trident.runs import Timer, ensure_data, library_versions, limit_val, load_records, start_run

MODEL = "retrieval-bm25"
ROLE = "baseline"  # Summary.role of a baseline run (a model run's is "teacher" or "student")
LABEL = "retrieval"  # its row in every table: trials, `trident evaluate`, the before/after report
# Neighbours asked of BM25 per record: a record's placeholders are filled from the nearest
# training record first and, when it has fewer assertions, from the next ones in rank order.
NEIGHBOURS = 8

# Java words for BM25: identifiers, numbers and string/char literals as written; each identifier
# also gives its camelCase parts, so `getUserName` meets `userName` and `setName`.
_WORD = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|[A-Za-z_$][A-Za-z0-9_$]*|\d+(?:\.\d+)?')
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def words(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.replace(PLACEHOLDER, " ")):
        out.append(w)
        if w[0].isalpha():
            parts = _CAMEL.findall(w)
            if len(parts) > 1:
                out.extend(p.lower() for p in parts)
    return out


def query_words(record: Record) -> list[str]:
    """What the baseline searches with, and what it indexes: focal method + masked test."""
    return words(record.focal_method) + words(record.test_method_masked)


def placeholders(record: Record) -> int:
    return max(1, record.test_method_masked.count(PLACEHOLDER))


@dataclass
class RetrievalIndex:
    """BM25 over the training records; `predict` copies the nearest ones' assertions."""

    train: list[Record]

    def __post_init__(self):
        import bm25s

        self._bm25 = bm25s.BM25()
        self._bm25.index([query_words(r) for r in self.train], show_progress=False)

    def neighbours(self, records: Sequence[Record], k: int = NEIGHBOURS) -> list[list[int]]:
        """Per record, training indices from nearest on; ties go to the earlier training record
        (the order does not depend on the library's partial sort), and a record never retrieves
        itself (same id: evaluating on the training split)."""
        if not records:
            return []
        asked = min(len(self.train), k + 1)  # one more, in case the record itself is among them
        docs, scores = self._bm25.retrieve([query_words(r) for r in records], k=asked, show_progress=False,
                                           n_threads=1)
        out = []
        for record, row_docs, row_scores in zip(records, docs, scores):
            ranked = sorted(zip(row_scores.tolist(), row_docs.tolist()), key=lambda sd: (-sd[0], sd[1]))
            out.append([d for _, d in ranked if self.train[d].id != record.id][:k])
        return out

    def predict(self, records: Sequence[Record]) -> list[str]:
        """One prediction per record: as many assertions as it has placeholders, taken in order
        from its nearest training records (one per line, like a model's output)."""
        preds = []
        for record, near in zip(records, self.neighbours(records)):
            want, picked = placeholders(record), []
            for d in near:
                picked.extend(self.train[d].assertions[: want - len(picked)])
                if len(picked) >= want:
                    break
            preds.append("\n".join(picked))
        return preds


def _train_records(cfg: RunConfig, bad: dict) -> list[Record]:
    train = load_records(cfg, "train", bad)
    return train[: cfg.data.max_train_records] if cfg.data.max_train_records else train


def baseline_name(cfg: RunConfig) -> str:
    return f"{cfg.name}-retrieval"


def run_retrieval(cfg: RunConfig, splits: Sequence[str] = (), execute: bool | None = None) -> Summary:
    """Index the training split, predict the validation records that training validates on
    (`data.max_val_records`) and every split in `splits` (whole), and write a run directory
    `<runs_dir>/<name>-retrieval`: summary.json (val_metrics), eval/<split>/{predictions.jsonl,
    metrics.json}, and execution results where records are executable and `execute` (default:
    eval.execute) asks for them. A run there is replaced: the baseline is deterministic and costs seconds."""
    execute = cfg.eval.execute if execute is None else execute
    run_cfg = replace(cfg, name=baseline_name(cfg))
    run = RunDir(run_cfg.run_dir)
    ensure_data(cfg)
    with start_run(run_cfg, run.root, resume=False, overwrite=True), Timer() as timer:
        bad: dict = {}
        train = _train_records(cfg, bad)
        index = RetrievalIndex(train)
        val = limit_val(cfg, load_records(cfg, "val", bad))
        val_metrics = score_predictions(val, index.predict(val), run.eval_dir("val"), execute=execute,
                                        progress=cfg.tracking.progress)
        for split in splits:
            records = load_records(cfg, split, bad)
            score_predictions(records, index.predict(records), run.eval_dir(split), execute=execute,
                              progress=cfg.tracking.progress,
                              extra={"split": split, "records": len(records), "bad_records": bad})
    summary = Summary(
        name=run_cfg.name, val_metrics=val_metrics, train_runtime_s=None, train_samples_per_second=None,
        global_step=0, max_steps=0, completed=True, train_records=len(train), val_records=len(val),
        bad_records=bad, truncation={}, nonfinite_skipped=0, wandb_run_id=None,
        sweep=cfg.tracking.sweep or None, trial=None, semantic_auto_beta=None,
        versions={**library_versions(), "bm25s": _bm25s_version()}, role=ROLE, model=MODEL,
        run_dir=str(run.root), wall_time_before_resume_s=0.0, wall_time_s=timer.seconds)
    write_summary(run, summary)
    return summary


def is_baseline(run: RunDir) -> bool:
    return run.is_finished() and read_summary(run).role == ROLE


def evaluate_retrieval(cfg: RunConfig, split: str, out_dir: Path, execute: bool = False) -> dict:
    """The baseline on a whole split, scored into `out_dir` (a model run's eval/<split>-retrieval,
    or a baseline run's own eval/<split>), like `trident evaluate` scores a model."""
    bad: dict = {}
    train = _train_records(cfg, bad)
    records = load_records(cfg, split, bad)
    preds = RetrievalIndex(train).predict(records)
    return score_predictions(records, preds, out_dir, execute=execute, progress=cfg.tracking.progress,
                             extra={"split": split, "records": len(records), "bad_records": bad})


def _bm25s_version() -> str:
    import bm25s

    return bm25s.__version__
