"""The trials' table a sweep ends with."""
from __future__ import annotations

import optuna
import pandas as pd
from optuna.trial import TrialState

from trident.sweeps.spec import SweepSpec, decode_value


def trials_table(study: optuna.Study) -> pd.DataFrame:
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("duplicate_of") is not None:
            continue
        row = {"trial": t.number, "state": t.state.name.lower()}
        row.update({k: decode_value(v) for k, v in t.params.items()})
        for k in ("f1", "pans", "ast_validity"):
            row[k] = t.user_attrs.get(k)
        row["wall_time_s"] = t.user_attrs.get("wall_time_s")
        row["run_dir"] = t.user_attrs.get("run_dir")
        rows.append(row)
    return pd.DataFrame(rows).set_index("trial") if rows else pd.DataFrame()


def summary_text(spec: SweepSpec, study: optuna.Study) -> str:
    table = trials_table(study)
    lines = [f"sweep {spec.name}: {len(table)} trials ({spec.metric}, {spec.goal})"]
    if not table.empty:
        lines.append(table.to_string(float_format=lambda v: f"{v:.4f}"))
    completed = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if completed:
        best = study.best_trial
        params = ", ".join(f"{k}={decode_value(v)}" for k, v in best.params.items())
        lines.append(f"best: trial {best.number}: {params} → {spec.metric}={best.value:.4f}")
        for k, v in best.params.items():
            lines.append(f"  as an override: --{k}={decode_value(v)}")
    return "\n".join(lines)
