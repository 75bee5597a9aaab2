"""The trials' table a sweep ends with, each F1 with its bootstrap interval, and the best point."""
from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd
from optuna.trial import TrialState

from trident import metrics
from trident.rundir import RunDir
from trident.sweeps.intervals import LEVEL, F1Interval, bootstrap_f1, read_counts, separation
from trident.sweeps.spec import SweepSpec, decode_value



def _real_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("duplicate_of") is None]


def f1_draws(study: optuna.Study, seed: int = 0):
    """Bootstrap F1 of every completed trial whose run saved its validation predictions."""
    counts = {}
    for t in _real_trials(study):
        run_dir = t.user_attrs.get("run_dir")
        predictions = RunDir(Path(run_dir)).predictions("val") if run_dir else None
        if t.state == TrialState.COMPLETE and predictions is not None and predictions.exists():
            counts[t.number] = read_counts(predictions)
    return bootstrap_f1(counts, seed)


def values_of(t: optuna.trial.FrozenTrial) -> dict:
    """The values a trial ran with (its `values`; for quantile-drawn kinds its params are quantiles)."""
    return t.user_attrs.get("values") or t.params


def _interval_text(iv: F1Interval | None) -> str | None:
    return None if iv is None else f"[{iv.lo:.4f}, {iv.hi:.4f}]"


# Beside F1 (and its interval), the table shows the syntactic metrics; the rest are in each run's summary.
TABLE_METRICS = tuple(k for k in metrics.REPORTED_KEYS if k in ("pans", "ast_validity", "assertion_validity"))


def trials_table(study: optuna.Study, intervals: dict[int, F1Interval] | None = None) -> pd.DataFrame:
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
        row["run_dir"] = t.user_attrs.get("run_dir")
        rows.append(row)
    table = pd.DataFrame(rows).set_index("trial") if rows else pd.DataFrame()
    return table.drop(columns=[k for k in metrics.EXECUTION_KEYS if k in table and table[k].isna().all()])


def summary_text(spec: SweepSpec, study: optuna.Study) -> str:
    intervals, draws, order = f1_draws(study)
    table = trials_table(study, intervals)
    lines = [f"sweep {spec.name}: {len(table)} trials ({spec.metric}, {spec.goal}); "
             f"F1 intervals: paired bootstrap over the validation examples"]
    if not table.empty:
        lines.append(table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="n/a"))
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if completed:
        best = study.best_trial  # on a tie, the lowest trial number (the first to reach the value)
        params = ", ".join(f"{k}={decode_value(v)}" for k, v in values_of(best).items())
        lines.append(f"best: trial {best.number}: {params} → {spec.metric}={best.value:.4f}")
        for k, v in values_of(best).items():
            lines.append(f"  as an override: --{k}={decode_value(v)}")
        if spec.metric == "eval/f1" and best.number in order and len(order) > 1:
            lines.append(separation_text(separation(best.number, draws, order)))
    return "\n".join(lines)


def separation_text(sep) -> str:
    tied = sep.tied_with
    if not tied:
        return (f"trial {sep.best} is separated from every other trial: each paired {LEVEL:.0%} interval "
                "of its F1 lead excludes 0")
    spans = ", ".join(f"trial {t} [{sep.others[t][0]:+.4f}, {sep.others[t][1]:+.4f}]" for t in tied)
    return (f"not separated: trial {sep.best}'s F1 lead over {spans} (paired {LEVEL:.0%} intervals) includes 0, "
            "so the validation set cannot tell these points apart; treat the choice as a tie "
            "(more validation records or seeds would decide it)")
