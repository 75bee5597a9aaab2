# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exploring trident runs
#
# Run histories in pandas, plotted with plotly: loss components over steps per preset, a
# sweep's objective against β with intervals, and students against their teachers. This file
# is a notebook in jupytext's percent format: open it in an editor that runs `# %%` cells
# (VS Code, PyCharm, Jupyter with jupytext), or make it an .ipynb and run that headless:
#
#     jupytext --to notebook analysis/explore.py -o reports/analysis/explore.ipynb
#     TRIDENT_RUNS="runs/legacy:runs/trident-v1" jupyter execute --inplace reports/analysis/explore.ipynb
#
# Everything it reads is set by environment variables, with defaults for a checkout after
# `make smoke` / `make sweep-beta`; paths are relative to the repository root, where it runs
# wherever the kernel starts:
#
# | variable | what | default |
# | --- | --- | --- |
# | `TRIDENT_RUNS` | run directories, separated by `:` | every finished run in `runs/` |
# | `TRIDENT_STUDY` | an Optuna study over `loss.semantic_loss_scale` | `beta` |
# | `TRIDENT_STORAGE` | its storage URL | `sqlite:///sweeps/studies/<study>.db` |
# | `TRIDENT_WANDB` | W&B runs, `:`-separated: offline folders, `ENTITY/PROJECT/RUN_ID` | those in `TRIDENT_RUNS` |
# | `TRIDENT_METRIC` | the sweep's metric | `f1` |
#
# A section with nothing to read says so and draws nothing.

# %%
import os
import sys
from pathlib import Path

# The repository root: the kernel may start in the notebook's folder (Jupyter) or anywhere else.
ROOT = next((d for d in (Path.cwd(), *Path.cwd().parents) if (d / "analysis" / "explore.py").exists()), Path.cwd())
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))  # the checkout's trident, installed or not

import pandas as pd  # noqa: E402

from trident.analysis import histories as h  # noqa: E402
from trident.analysis.history_figures import loss_figure, student_teacher_figure, sweep_figure  # noqa: E402
from trident.analysis.script_support import default_storage  # noqa: E402
from trident.analysis.teacher_pairs import student_teacher  # noqa: E402
from trident.errors import TridentError  # noqa: E402


def paths(variable: str, default: list[str]) -> list[str]:
    value = os.environ.get(variable)
    return [p for p in value.split(os.pathsep) if p] if value is not None else default


RUNS = paths("TRIDENT_RUNS", sorted(str(p.parent) for p in Path("runs").glob("*/summary.json")))
STUDY = os.environ.get("TRIDENT_STUDY", "beta")
STORAGE = os.environ.get("TRIDENT_STORAGE") or default_storage(STUDY)
WANDB = paths("TRIDENT_WANDB", [r for r in RUNS if list(Path(r).glob("wandb/*/run-*.wandb"))])
METRIC = os.environ.get("TRIDENT_METRIC", "f1")
print(f"runs: {RUNS}\nstudy: {STUDY} in {STORAGE}\nW&B: {WANDB}\nmetric: {METRIC}")

# %% [markdown]
# ## Loss components over steps, per preset
#
# One row per logged optimizer step of every run (`step_metrics.csv`), then the same
# components long: one row per run, step, component and kind.

# %%
steps = h.step_history(RUNS)
for problem in h.problems(steps):
    print("warning:", problem)
print(f"{len(steps)} steps of {steps['run'].nunique()} runs")
steps.groupby(["preset", "run"]).agg(steps=("step", "count"), last_loss=("loss_total", "last")) if len(steps) else None

# %%
long = h.components_long(steps)
loss_fig = loss_figure(long) if len(long) else None
loss_fig if loss_fig is not None else print("no run has loss components to draw")

# %% [markdown]
# ## The W&B history
#
# The same scalars as logged to W&B (offline by default: read from the run's transaction
# log, no server needed). Where a run directory holds its own W&B run, the two are compared.

# %%
wandb_steps = []
for source in WANDB:
    try:
        wandb_steps.append(h.wandb_history(source))
    except TridentError as exc:
        print(f"W&B {source}: {exc}")
wandb_frame = pd.concat(wandb_steps, ignore_index=True) if wandb_steps else pd.DataFrame()
if len(wandb_frame):
    both = steps.merge(wandb_frame, on=["run", "step"], suffixes=("", " (W&B)"))
    shared = [c for c in steps.columns if f"{c} (W&B)" in both and pd.api.types.is_numeric_dtype(both[c])]
    gap = max(((both[c] - both[f"{c} (W&B)"]).abs().max() for c in shared), default=float("nan"))
    print(f"W&B: {len(wandb_frame)} steps; largest difference from step_metrics.csv over "
          f"{len(shared)} columns: {gap:.3g}")
else:
    print("no W&B history to read")
wandb_frame.head()

# %% [markdown]
# ## The β sweep
#
# The objective of every trial against `loss.semantic_loss_scale`, with a 95% bootstrap
# interval over validation examples where the trial's run directory kept its predictions.

# %%
try:
    trials = h.study_trials(STUDY, STORAGE, METRIC)
except TridentError as exc:
    trials = None
    print(f"no β sweep: {exc}")
if trials is not None:
    for problem in h.problems(trials):
        print("warning:", problem)
    shown = [c for c in ("trial", "state", h.BETA, "objective", "objective_lo", "objective_hi") if c in trials]
    print(trials[shown].to_string(index=False))

# %%
beta_fig = sweep_figure(trials, h.BETA, METRIC) if trials is not None and h.BETA in trials else None
beta_fig if beta_fig is not None else print(f"no trial over {h.BETA} to draw")

# %% [markdown]
# ## Students against their teachers
#
# Each student run's metrics beside its teacher's: validation at the end of training, and
# every split `trident evaluate` scored.

# %%
pairs = student_teacher(RUNS)
for problem in h.problems(pairs):
    print("warning:", problem)
pairs.pivot_table(index=["student", "teacher", "split", "evaluated_by"], columns="metric", values="delta")

# %%
pairs_fig = student_teacher_figure(pairs) if len(pairs) else None
pairs_fig if pairs_fig is not None else print("no student run to compare")
