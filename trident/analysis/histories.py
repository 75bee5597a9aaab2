"""Run histories as pandas DataFrames: what the scripts and the notebook in analysis/ plot.

Every loader reads through the report's own sources (trident.analysis.sources for run
directories and Optuna studies, trident.analysis.wandb_source for W&B), so a history here is
the one the report draws. What a source could not read (a missing or cut file, an unfinished
run, a trial without predictions) goes in `frame.attrs["problems"]`, one line each, for the
caller to print: a frame shows what there is and never fills a gap.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from trident.analysis import stats as st
from trident.analysis.sources import (RETRIEVAL, RunData, load_run_dir, load_study, read_predictions, real_trials,
                                      resolve_run_dir, runs_from_study)
from trident.errors import DataError, RunDirError, SweepError
from trident.metrics import EXECUTION_KEYS, REPORTED_KEYS
from trident.rundir import RunDir, read_summary

RUN_COLUMNS = ["run", "preset", "seed", "beta", "source"]  # first in every per-run frame
BETA = "loss.semantic_loss_scale"
KINDS = ("raw", "weight", "scale", "weighted", "grad_norm")  # a component's columns in step_metrics.csv
AXES = ("step", "epoch", "progress")  # what a step can be plotted against
TOTAL = "loss_total"  # the optimised loss: the sum of the weighted components
SAME = 1e-6  # a metric recomputed from predictions within this of the recorded one is the same number


def with_problems(frame: pd.DataFrame, problems: Iterable[str]) -> pd.DataFrame:
    frame.attrs["problems"] = list(dict.fromkeys(problems))  # in order, each once
    return frame


def problems(frame: pd.DataFrame) -> list[str]:
    return list(frame.attrs.get("problems", []))


# ---- loading ---------------------------------------------------------------------------

def run_paths(run_dirs: Sequence[str | Path]) -> list[Path]:
    """The run directories given, as paths; one that is no directory is an error (a mistyped
    path, not a gap in the data)."""
    missing = [str(d) for d in run_dirs if not Path(d).is_dir()]
    if missing:
        raise DataError(f"no such run directory: {', '.join(missing)}")
    return [Path(d) for d in run_dirs]


def load_runs(run_dirs: Sequence[str | Path]) -> list[RunData]:
    """Run directories as the report reads them (see run_paths)."""
    return [load_run_dir(d) for d in run_paths(run_dirs)]


def open_study(name: str, storage: str):
    """The Optuna study `name` in `storage`; a SweepError in one line when there is none."""
    try:
        return load_study(name, storage)
    except KeyError:
        raise SweepError(f"no study {name!r} in {storage}") from None
    except Exception as exc:  # SQLAlchemy's or the driver's: the first line, password masked
        from trident.sweeps.optuna_engine import masked_url, storage_cause

        raise SweepError(f"cannot open study {name!r} in {masked_url(storage)}: {storage_cause(exc)}") from None


def study_runs(name: str, storage: str, roots: Sequence[Path] | None = None) -> tuple[list[RunData], list[str]]:
    """The completed trials of a study as runs (their run directories, found relative to `roots`,
    default the working directory), and notes on the trials left out."""
    return runs_from_study(open_study(name, storage), list(roots or [Path.cwd()]))


def wandb_run(source: str | Path, repo_root: Path | None = None) -> RunData:
    """One W&B run as the report reads it: a local offline run (a trident run directory holding
    one under wandb/, an offline-run-* folder, or its .wandb file), else ENTITY/PROJECT/RUN_ID
    fetched through the public API (needs a login and the network). A run inside a trident run
    directory (<run>/wandb/offline-run-*) takes its preset, seed and β from <run>/config.yaml."""
    from trident.analysis.wandb_source import run_from_wandb

    root = repo_root or Path.cwd()
    path = Path(source)
    if path.exists():
        from trident.analysis.wandb_offline import read_offline_run

        offline = read_offline_run(path)
        run = run_from_wandb(offline, root)
        run.problems += offline.problems
        home = offline.path.parent.parent.parent  # <run>/wandb/offline-run-*/run-<id>.wandb
        if offline.path.parent.parent.name == "wandb" and RunDir(home).config.exists():
            local = load_run_dir(home)
            run.label, run.seed, run.beta, run.run_dir = local.label, local.seed, local.beta, home
        return run
    if str(source).count("/") != 2:
        raise DataError(f"W&B run {source}: no such file or folder, and not ENTITY/PROJECT/RUN_ID")
    import wandb

    try:
        remote = wandb.Api().run(str(source))
    except Exception as exc:  # no login, no network, no such run: one line instead of a traceback
        raise DataError(f"W&B run {source}: no such file or folder here, and as ENTITY/PROJECT/RUN_ID "
                        f"W&B answers {type(exc).__name__}: {exc}") from None
    return run_from_wandb(remote, root)


def wandb_runs(path: str, sweep: str, repo_root: Path | None = None) -> list[RunData]:
    """Every run of the W&B sweep `sweep` in ENTITY/PROJECT `path` (public API; needs a login)."""
    from trident.analysis.wandb_source import runs_from_wandb

    try:
        return runs_from_wandb(path, sweep, repo_root or Path.cwd())
    except Exception as exc:
        raise DataError(f"could not read W&B sweep {path}/{sweep}: {type(exc).__name__}: {exc}") from None


def _unique_names(runs: Sequence[RunData]) -> dict[int, str]:
    """A name per run (by position): its own; where several share it, with what tells them
    apart: their source (the same run from its files and from W&B), else their folder's
    parent, else their position."""
    names = [r.name for r in runs]
    widenings = (lambda n, i: f"{n} ({runs[i].source})",
                 lambda n, i: f"{runs[i].run_dir.parent.name}/{n}" if runs[i].run_dir is not None else n,
                 lambda n, i: f"{n} #{i}")
    for widen in widenings:
        groups: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            groups.setdefault(n, []).append(i)
        for n, members in groups.items():
            widened = [widen(n, i) for i in members]
            if len(members) > 1 and len(set(widened)) > 1:  # only where it tells them apart
                for i, w in zip(members, widened):
                    names[i] = w
    return dict(enumerate(names))


def _preset(run: RunData) -> str:
    """The run's configuration as the report shows it; a teacher run is `teacher` (its config.yaml
    is its students', whose loss it did not train with)."""
    if run.run_dir is not None and RunDir(run.run_dir).summary.exists():
        try:
            if read_summary(RunDir(run.run_dir)).role == "teacher":
                return "teacher"
        except RunDirError:
            pass  # load_run_dir has recorded why
    return run.display


def _run_columns(run: RunData, name: str) -> dict[str, Any]:
    preset = _preset(run)
    return {"run": name, "preset": preset, "seed": run.seed, "beta": None if preset == "teacher" else run.beta,
            "source": run.source}


# ---- step histories --------------------------------------------------------------------

def steps_frame(runs: Sequence[RunData]) -> pd.DataFrame:
    """One row per logged optimizer step of every run: RUN_COLUMNS, then the step log's own
    columns (step, epoch, progress, lr, loss_total, <component>/<kind>, …; from W&B the same
    names without `train/`). A cell not computed on a step (a component's gradient norm, say)
    stays empty, as in step_metrics.csv."""
    names = _unique_names(runs)
    parts, found = [], []
    for i, run in enumerate(runs):
        found += run.problems
        if run.steps is None:
            why = "a retrieval baseline trains nothing" if run.label == RETRIEVAL else "nothing to read"
            found.append(f"{names[i]}: no step history ({why}); not in the frame")
            continue
        part = run.steps.copy()
        columns = _run_columns(run, names[i])
        for column in reversed(RUN_COLUMNS):
            part.insert(0, column, columns[column])
        parts.append(part)
    if not parts:
        return with_problems(pd.DataFrame(columns=[*RUN_COLUMNS, "step"]), found)
    frame = pd.concat(parts, ignore_index=True)
    first = [*RUN_COLUMNS, "step"]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    frame["seed"] = frame["seed"].astype("Int64")
    return with_problems(frame, found)


def step_history(run_dirs: Sequence[str | Path]) -> pd.DataFrame:
    """steps_frame of run directories."""
    return steps_frame(load_runs(run_dirs))


def wandb_history(source: str | Path) -> pd.DataFrame:
    """steps_frame of one W&B run (see wandb_run)."""
    return steps_frame([wandb_run(source)])


def component_columns(frame: pd.DataFrame, kinds: Sequence[str] = KINDS) -> list[tuple[str, str, str]]:
    """(column, component, kind) of every `<component>/<kind>` column of a steps frame."""
    out = []
    for column in frame.columns:
        component, sep, kind = str(column).rpartition("/")
        if sep and component and kind in kinds:
            out.append((column, component, kind))
    return out


def components_long(frame: pd.DataFrame, kinds: Sequence[str] = ("raw", "weighted")) -> pd.DataFrame:
    """The component columns of a steps frame, one row per (run, step, component, kind) with a
    value; loss_total joins the weighted kind as component `loss_total` (the sum the weighted
    terms make). Empty cells (not computed that step) have no row."""
    columns = component_columns(frame, kinds)
    ids = [*RUN_COLUMNS, *(c for c in AXES if c in frame)]
    parts = [frame[ids].assign(component=component, kind=kind, value=frame[column])
             for column, component, kind in columns]
    if "weighted" in kinds and TOTAL in frame:
        parts.append(frame[ids].assign(component=TOTAL, kind="weighted", value=frame[TOTAL]))
    if not parts:
        return pd.DataFrame(columns=[*ids, "component", "kind", "value"])
    long = pd.concat(parts, ignore_index=True)
    return long[long["value"].notna()].reset_index(drop=True)


# ---- sweeps: the objective per trial, with its interval ----------------------------------

def objective_interval(run_dir: Path | None, metric: str, objective: float | None, replicates: int,
                       seed: int) -> tuple[float, float, str]:
    """(lo, hi, how) of `metric` over the run's validation predictions: a 95% percentile
    bootstrap over examples (trident.analysis.stats), given only when the metric recomputed
    from the predictions is `objective` (else the interval would be another number's)."""
    if run_dir is None:
        return math.nan, math.nan, "no run directory"
    preds, why = read_predictions(RunDir(run_dir).predictions("val"), run_dir.name)
    if not preds:
        return math.nan, math.nan, why[0] if why else f"{run_dir.name}: eval/val/predictions.jsonl is empty"
    s = st.example_stats([p["id"] for p in preds], [p["prediction"] for p in preds], [p["references"] for p in preds])
    est = st.pooled_estimate([s], metric, st.replicate_weights(len(s), replicates, seed))
    if objective is not None and not abs(est.value - objective) <= SAME:
        return math.nan, math.nan, (f"{run_dir.name}: {metric} from eval/val/predictions.jsonl is {est.value:.6g}, "
                                    f"not the recorded {objective:.6g}: no interval")
    return est.lo, est.hi, f"95% bootstrap over {len(s)} validation examples"


def study_trials(name: str, storage: str, metric: str = "f1", roots: Sequence[Path] | None = None,
                 replicates: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per trial of a study (grid-point duplicates left out): study, trial, state,
    objective (the trial's value), objective_lo/objective_hi/interval (see objective_interval:
    completed trials whose run directory kept its predictions), run_dir, every parameter
    decoded to its sweep-file value, and the metrics the trial recorded."""
    from optuna.trial import TrialState

    from trident.sweeps.spec import decode_value

    study = open_study(name, storage)
    roots = list(roots or [Path.cwd()])
    rows, found = [], []
    attrs = (*REPORTED_KEYS, *EXECUTION_KEYS, "wall_time_s")
    for t in real_trials(study):
        run_dir = t.user_attrs.get("run_dir")
        path = resolve_run_dir(run_dir, roots) if run_dir else None
        row: dict[str, Any] = {"study": name, "trial": t.number, "state": t.state.name.lower(),
                               "objective": t.value, "objective_lo": math.nan, "objective_hi": math.nan,
                               "interval": "", "run_dir": str(path) if path else None}
        if t.state == TrialState.COMPLETE:
            if path is not None and path.is_dir():
                lo, hi, how = objective_interval(path, metric, t.value, replicates, seed)
            else:
                lo, hi, how = math.nan, math.nan, f"run directory {path} not found" if path else "no run_dir recorded"
            row.update(objective_lo=lo, objective_hi=hi, interval=how)
            if math.isnan(lo):
                found.append(f"study {name}: trial {t.number} has no interval ({how})")
        else:
            found.append(f"study {name}: trial {t.number} is {t.state.name.lower()}: no objective")
        row.update({k: decode_value(v) for k, v in t.params.items()})
        row.update({k: t.user_attrs[k] for k in attrs if t.user_attrs.get(k) is not None})
        rows.append(row)
    if not rows:
        raise SweepError(f"study {name!r} in {storage} has no trials")
    return with_problems(pd.DataFrame(rows), found)


def runs_objective(runs: Sequence[RunData], metric: str = "f1", replicates: int = 1000,
                   seed: int = 0) -> pd.DataFrame:
    """study_trials' columns for runs (run directories or W&B): RUN_COLUMNS, objective (the run's
    final validation `metric`) with its interval where the run kept predictions, and
    loss.semantic_loss_scale (the run's β)."""
    names = _unique_names(runs)
    rows, found = [], []
    for i, run in enumerate(runs):
        found += run.problems
        value = run.metrics.get(metric)
        if run.source == "wandb":
            lo, hi, how = math.nan, math.nan, "W&B holds no per-example predictions"
        elif value is None:
            lo, hi, how = math.nan, math.nan, f"{names[i]}: no final {metric}"
        else:
            lo, hi, how = objective_interval(run.run_dir, metric, value, replicates, seed)
        if value is not None and math.isnan(lo):
            found.append(f"{names[i]}: no interval ({how})")
        rows.append({**_run_columns(run, names[i]), "objective": value, "objective_lo": lo,
                     "objective_hi": hi, "interval": how, BETA: run.beta,
                     "run_dir": str(run.run_dir) if run.run_dir else None,
                     **{k: run.metrics.get(k) for k in REPORTED_KEYS}})
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["seed"] = frame["seed"].astype("Int64")
    return with_problems(frame, found)
