"""The trials' table a sweep ends with, each F1 with its bootstrap interval, the inference
figures of each trial's model (size, memory, p50 latency, from its run's summary.json), and the
best point."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import optuna
import pandas as pd
from optuna.trial import TrialState

from trident import metrics
from trident.analysis.inference import ReportFigures, figure_text, read_inference
from trident.errors import RunDirError
from trident.rundir import RunDir, read_summary
from trident.sweeps.intervals import LEVEL, F1Interval, bootstrap_f1, read_counts, separation
from trident.sweeps.spec import SweepSpec, decode_value

from trident.baseline import LABEL as RETRIEVAL  # the baseline's row label (and bootstrap key)


def _real_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("duplicate_of") is None]


def f1_draws(study: optuna.Study, seed: int = 0, baseline: Path | None = None):
    """Bootstrap F1 of every completed trial whose run saved its validation predictions, and of
    the baseline run (key RETRIEVAL) when given: one paired resample for all."""
    counts: dict = {}
    for t in _real_trials(study):
        run_dir = t.user_attrs.get("run_dir")
        predictions = RunDir(Path(run_dir)).predictions("val") if run_dir else None
        if t.state == TrialState.COMPLETE and predictions is not None and predictions.exists():
            counts[t.number] = read_counts(predictions)
    if baseline is not None:
        counts[RETRIEVAL] = read_counts(RunDir(baseline).predictions("val"))
    return bootstrap_f1(counts, seed)


BASELINE_ATTR = "retrieval_run_dir"  # the study's user attribute naming its baseline run


def retrieval_baseline(spec: SweepSpec, study: optuna.Study) -> Path | None:
    """The retrieval baseline on the data and validation records of the first completed trial
    (every trial of a sweep validates on the same records unless the sweep varies the data), run
    into `<runs_dir>/<sweep>-retrieval`; None before any trial completed."""
    from trident.baseline import run_retrieval
    from trident.config import load_config

    for t in _real_trials(study):
        run_dir = t.user_attrs.get("run_dir")
        if t.state == TrialState.COMPLETE and run_dir and RunDir(Path(run_dir)).config.exists():
            cfg = load_config(RunDir(Path(run_dir)).config)
            cfg = replace(cfg, name=spec.name, tracking=replace(cfg.tracking, trial=-1, progress=False))
            path = Path(run_retrieval(cfg).run_dir)
            study.set_user_attr(BASELINE_ATTR, str(path))  # where the report finds the row
            return path
    return None


def values_of(t: optuna.trial.FrozenTrial) -> dict:
    """The values a trial ran with (its `values`; for quantile-drawn kinds its params are quantiles)."""
    return t.user_attrs.get("values") or t.params


def _interval_text(iv: F1Interval | None) -> str | None:
    return None if iv is None else f"[{iv.lo:.4f}, {iv.hi:.4f}]"


# Beside F1 (and its interval), the table shows the syntactic metrics; the rest are in each run's summary.
TABLE_METRICS = tuple(k for k in metrics.REPORTED_KEYS if k in ("pans", "ast_validity", "assertion_validity"))


# The inference figures' columns: column -> ReportFigures field (MB = 2^20 bytes, ms at batch 1).
FIGURE_COLUMNS = {"size_mb": "size_mb", "memory_mb": "peak_rss_mb", "p50_ms": "latency_p50_ms"}


def run_inference(run_dir: str | Path | None) -> tuple[ReportFigures | None, list[str]]:
    """A trial's inference figures from its run's summary.json; (None, []) where the run has none
    (not measured, or no finished run), (None or some, [problems]) where they are damaged."""
    if not run_dir or not RunDir(Path(run_dir)).is_finished():
        return None, []
    try:
        summary = read_summary(RunDir(Path(run_dir)))
    except RunDirError as exc:
        return None, [str(exc)]
    return read_inference(summary, str(RunDir(Path(run_dir)).summary))


def _figures(figures: ReportFigures | None) -> dict:
    return {column: None if figures is None else getattr(figures, name) for column, name in FIGURE_COLUMNS.items()}


def _baseline_row(run_dir: Path, interval: F1Interval | None) -> dict:
    summary = read_summary(RunDir(run_dir))
    m = summary.val_metrics
    figures, _ = read_inference(summary, str(RunDir(run_dir).summary))
    return {"trial": RETRIEVAL, "state": "baseline", "f1": m.get("f1"), f"f1 {LEVEL:.0%} CI": _interval_text(interval),
            **{k: m.get(k) for k in (*TABLE_METRICS, *metrics.EXECUTION_KEYS)},
            "wall_time_s": summary.wall_time_s, **_figures(figures), "run_dir": str(run_dir)}


def trials_table(study: optuna.Study, intervals: dict | None = None, baseline: Path | None = None,
                 problems: list[str] | None = None) -> pd.DataFrame:
    """One row per trial, and a last row for the retrieval baseline when `baseline` (its run) is
    given. Size, memory and p50 latency come from each run's summary.json (n/a where it has no
    inference figures); damaged figures are n/a and named in `problems`, when given."""
    intervals = intervals or {}
    rows = []
    for t in _real_trials(study):
        row = {"trial": t.number, "state": t.state.name.lower()}
        row.update({k: decode_value(v) for k, v in values_of(t).items()})
        row["f1"] = t.user_attrs.get("f1")
        row[f"f1 {LEVEL:.0%} CI"] = _interval_text(intervals.get(t.number))
        for k in TABLE_METRICS:
            row[k] = t.user_attrs.get(k)
        for k in metrics.EXECUTION_KEYS:  # columns only where some trial ran its predictions
            row[k] = t.user_attrs.get(k)
        row["wall_time_s"] = t.user_attrs.get("wall_time_s")
        figures, found = run_inference(t.user_attrs.get("run_dir")) if t.state == TrialState.COMPLETE else (None, [])
        row.update(_figures(figures))
        if problems is not None:
            problems += [f"trial {t.number}: {p}" for p in found]
        row["run_dir"] = t.user_attrs.get("run_dir")
        rows.append(row)
    if rows and baseline is not None:
        rows.append(_baseline_row(baseline, intervals.get(RETRIEVAL)))
    if not rows:
        return pd.DataFrame()
    # Parameters keep their own type (β 7 prints as 7, not 7.0000, beside the baseline's n/a); metrics are numbers.
    table = pd.DataFrame(rows, dtype=object).set_index("trial")
    for k in ("f1", *TABLE_METRICS, *metrics.EXECUTION_KEYS, "wall_time_s", *FIGURE_COLUMNS):
        table[k] = pd.to_numeric(table[k])
    # Columns only where some trial has them: execution metrics where runs were executed, inference
    # figures where they were measured (not with --eval.speed=false, nor by an older trident).
    unmeasured = all(table[k].isna().all() for k in FIGURE_COLUMNS)  # the three go together
    return table.drop(columns=[k for k in metrics.EXECUTION_KEYS if k in table and table[k].isna().all()]
                      + (list(FIGURE_COLUMNS) if unmeasured else []))


def summary_text(spec: SweepSpec, study: optuna.Study, baseline: Path | None = None) -> str:
    """The trials table and the best point; with `baseline` (a retrieval baseline run on the same
    validation records) its row too, and whether the best trial beats copying."""
    intervals, draws, order = f1_draws(study, baseline=baseline)
    problems: list[str] = []
    table = trials_table(study, intervals, baseline, problems)
    trials = len(table) - (baseline is not None and not table.empty)
    figures = [k for k in FIGURE_COLUMNS if k in table]
    lines = [f"sweep {spec.name}: {trials} trials ({spec.metric}, {spec.goal}); "
             f"F1 intervals: paired bootstrap over the validation examples"
             + (f"; row {RETRIEVAL}: copy the nearest training record's assertions (BM25)" if baseline else "")
             + ("; size_mb: weights on disk (MB = 2^20 bytes), memory_mb: peak RSS while generating, "
                "p50_ms: latency per record at batch 1" if figures else "")]
    if not table.empty:
        lines.append(table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="n/a",
                                     formatters={k: figure_text for k in figures}))
    lines += [f"warning: {p}" for p in problems]
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if completed:
        best = study.best_trial  # on a tie, the lowest trial number (the first to reach the value)
        params = ", ".join(f"{k}={decode_value(v)}" for k, v in values_of(best).items())
        lines.append(f"best: trial {best.number}: {params} → {spec.metric}={best.value:.4f}")
        for k, v in values_of(best).items():
            lines.append(f"  as an override: --{k}={decode_value(v)}")
        trial_order = [t for t in order if t != RETRIEVAL]
        if spec.metric == "eval/f1" and best.number in trial_order and len(trial_order) > 1:
            sep = separation(best.number, draws, order)
            lines.append(separation_text(replace(sep, others={t: v for t, v in sep.others.items() if t != RETRIEVAL})))
        if best.number in order and RETRIEVAL in order:
            lines.append(baseline_text(best.number, separation(best.number, draws, order).others[RETRIEVAL]))
    return "\n".join(lines)


def baseline_text(best: int, lead: tuple[float, float]) -> str:
    lo, hi = lead
    verdict = ("beats copying" if lo > 0 else "does worse than copying" if hi < 0 else
               "cannot be told apart from copying")
    return (f"against {RETRIEVAL}: trial {best}'s F1 lead [{lo:+.4f}, {hi:+.4f}] (paired {LEVEL:.0%} interval): "
            f"it {verdict}")


def separation_text(sep) -> str:
    tied = sep.tied_with
    if not tied:
        return (f"trial {sep.best} is separated from every other trial: each paired {LEVEL:.0%} interval "
                "of its F1 lead excludes 0")
    spans = ", ".join(f"trial {t} [{sep.others[t][0]:+.4f}, {sep.others[t][1]:+.4f}]" for t in tied)
    return (f"not separated: trial {sep.best}'s F1 lead over {spans} (paired {LEVEL:.0%} intervals) includes 0, "
            "so the validation set cannot tell these points apart; treat the choice as a tie "
            "(more validation records or seeds would decide it)")
