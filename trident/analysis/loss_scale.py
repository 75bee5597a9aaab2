"""Loss-scale analysis of a run: are the components' magnitudes (and gradients) balanced?

Reads `<run>/step_metrics.csv` and reports, per component, the mean and standard deviation
of its raw and weighted values (and the running mean over the last `window` steps), the
ratio of each to the core token losses, and the semantic scale β that brings the scaled
semantic term level with them — from the values, and from the gradient norms when the run
logged them (`train.grad_norm_every`) — each with the number of steps it rests on.
`trident analyse-loss-scale RUN` prints it.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from trident.losses.balance import recommend_beta
from trident.losses.catalog import core_names
from trident.rundir import RunDir

FEW = 5  # fewer observations than this make a recommendation a rough guide, and the report says so


def components(df: pd.DataFrame) -> list[str]:
    return [c[: -len("/raw")] for c in df.columns if c.endswith("/raw")]


def _mean(series: pd.Series) -> float:
    s = pd.to_numeric(series, errors="coerce").dropna()
    return float(s.mean()) if len(s) else float("nan")


def analyse(run_dir: str | Path, window: int = 50) -> dict:
    path = RunDir(Path(run_dir)).step_metrics
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: analyse-loss-scale reads a training run's step metrics")
    df = pd.read_csv(path)
    if df.empty:
        raise ValueError(f"{path} has no rows")
    names = components(df)
    stats = {}
    for n in names:
        raw = pd.to_numeric(df[f"{n}/raw"], errors="coerce").dropna()
        weighted = pd.to_numeric(df[f"{n}/weighted"], errors="coerce").dropna()
        stats[n] = {
            "steps": int(len(raw)), "raw_mean": float(raw.mean()), "raw_std": float(raw.std(ddof=0)),
            "raw_running_mean": float(raw.tail(window).mean()), "weighted_mean": float(weighted.mean()),
            "weighted_std": float(weighted.std(ddof=0)),
            "grad_norm_mean": _mean(df[f"{n}/grad_norm"]) if f"{n}/grad_norm" in df else float("nan"),
        }
    core = [n for n in names if n in core_names()]
    core_raw = sum(stats[n]["raw_mean"] for n in core) / len(core) if core else float("nan")
    core_weighted = sum(stats[n]["weighted_mean"] for n in core) if core else float("nan")
    for n in names:
        stats[n]["ratio_to_core_raw"] = stats[n]["raw_mean"] / core_raw if core_raw else float("nan")
        stats[n]["ratio_to_core_weighted"] = stats[n]["weighted_mean"] / core_weighted if core_weighted else float("nan")

    out = {"run": str(run_dir), "steps": int(len(df)), "components": stats, "core": core,
           "core_raw_mean": core_raw, "core_weighted_sum": core_weighted}
    if "semantic" in stats:
        sem = stats["semantic"]
        beta_now = _mean(df["semantic/scale"]) if "semantic/scale" in df else 1.0
        out["beta_current"] = beta_now
        out["beta_by_value"] = recommend_beta(core_raw, sem["raw_mean"])
        out["beta_band_by_value"] = (0.5 * out["beta_by_value"], 2.0 * out["beta_by_value"])
        out["beta_by_value_observations"] = sem["steps"]
        out["beta_by_gradient"] = beta_by_gradient(df, core)
        out["beta_by_gradient_observations"] = gradient_observations(df, core)
        by_gradient = not math.isnan(out["beta_by_gradient"])
        out["beta_recommended_by"] = "gradient" if by_gradient else "value"
        out["beta_recommended"] = out["beta_by_gradient"] if by_gradient else out["beta_by_value"]
        out["beta_recommended_observations"] = out[f"beta_by_{out['beta_recommended_by']}_observations"]
    return out


def beta_by_gradient(df: pd.DataFrame, core: list[str]) -> float:
    """β that makes the weighted semantic gradient as large as the core losses' gradient.

    Logged gradient norms are of weighted terms; dividing by weight·β gives the semantic
    gradient per unit, and the core gradient is the sum of its components' norms."""
    rows = _gradient_rows(df, core)
    if rows.empty:
        return float("nan")
    core_gn = rows[[f"{n}/grad_norm" for n in core]].astype(float).sum(axis=1)
    per_unit = rows["semantic/grad_norm"].astype(float) / (rows["semantic/weight"].astype(float) * rows["semantic/scale"].astype(float))
    semantic_weight = rows["semantic/weight"].astype(float)
    return recommend_beta(float(core_gn.mean()), float((per_unit * semantic_weight).mean()))


def _gradient_rows(df: pd.DataFrame, core: list[str]) -> pd.DataFrame:
    """The steps that logged the gradient norms of the semantic term and of every core term,
    with a positive semantic norm (a zero one says nothing about its scale)."""
    cols = [f"{n}/grad_norm" for n in core] + ["semantic/grad_norm"]
    if any(c not in df for c in cols):
        return df.iloc[0:0]
    rows = df.dropna(subset=cols)
    return rows[pd.to_numeric(rows["semantic/grad_norm"], errors="coerce") > 0]


def gradient_observations(df: pd.DataFrame, core: list[str]) -> int:
    """How many steps the by-gradient β rests on."""
    return int(len(_gradient_rows(df, core)))


def _rests_on(n: int) -> str:
    return f"rests on {n} observation{'s' if n != 1 else ''}" + (" — few: a rough guide" if n < FEW else "")


def format_report(result: dict) -> str:
    rows = []
    for n, s in result["components"].items():
        rows.append({"component": n, "steps": s["steps"], "raw mean": s["raw_mean"], "raw std": s["raw_std"],
                     "raw running": s["raw_running_mean"], "weighted mean": s["weighted_mean"],
                     "× core (raw)": s["ratio_to_core_raw"], "× core (weighted)": s["ratio_to_core_weighted"],
                     "grad norm": s["grad_norm_mean"]})
    table = pd.DataFrame(rows).set_index("component").to_string(float_format=lambda v: f"{v:.4g}")
    lines = [f"loss-scale analysis of {result['run']} ({result['steps']} optimizer steps)", "", table, "",
             f"core components: {', '.join(result['core']) or 'none'}; mean raw value {result['core_raw_mean']:.4g}"]
    if "beta_current" in result:
        lo, hi = result["beta_band_by_value"]
        lines += [
            f"semantic β in this run: {result['beta_current']:.4g}",
            f"β putting the scaled semantic value level with the core: {result['beta_by_value']:.4g} "
            f"(0.5–2× band: {lo:.4g} … {hi:.4g}; from {result['beta_by_value_observations']} steps)",
            f"β putting the semantic gradient level with the core gradient: {result['beta_by_gradient']:.4g}"
            + (f" (from {result['beta_by_gradient_observations']} steps with gradient norms)"
               if not math.isnan(result["beta_by_gradient"]) else " (no gradient norms logged: set train.grad_norm_every)"),
            f"recommended: --loss.semantic_loss_scale={result['beta_recommended']:.3g} "
            f"(by {result['beta_recommended_by']}; {_rests_on(result['beta_recommended_observations'])})",
        ]
    else:
        lines.append("this run has no semantic component: nothing to scale")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="run directory holding step_metrics.csv")
    p.add_argument("--window", type=int, default=50, help="steps in the running mean (default 50)")
    args = p.parse_args(argv)
    print(format_report(analyse(args.run, args.window)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
