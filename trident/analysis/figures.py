"""Plotly figures of a comparison, the self-contained HTML page, and PNG export via kaleido.

A figure that has no data is not drawn empty: it is left out and a visible note says why,
so a reader can tell "nothing happened" from "nothing was recorded".
"""
from __future__ import annotations

import html
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from trident.analysis import stats as st
from trident.analysis.compare import METRIC_LABELS, Comparison
from trident.analysis.comparison_table import SHARES_TITLE, Table
from trident.analysis.sources import RunData

PALETTE = qualitative.Plotly + qualitative.D3  # 20 colours before one repeats
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
CHROMIUM = "/usr/bin/chromium"
PANELS_PER_ROW = 3  # per-configuration panels wrap onto further rows past this many
PANEL_ROW_HEIGHT = 420  # px per row of panels, where there is more than one row
MIN_HISTORY_TRIALS = 2  # completed trials an optimization history is drawn from


def config_colors(c: Comparison) -> dict[str, str]:
    """One colour per configuration, by its place in the table, the same in every figure
    (however many configurations there are, and whichever of them a figure has data for)."""
    return {row.label: PALETTE[i % len(PALETTE)] for i, row in enumerate(c.rows)}


@dataclass
class Figures:
    """Figures in page order (key → (title, figure)) and the notes that stand in for skipped ones."""

    figures: dict[str, tuple[str, go.Figure]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (title, why)

    def add(self, key: str, title: str, fig: go.Figure | None, why_not: str = "") -> None:
        if fig is None:
            self.skipped.append((title, why_not))
        else:
            fig.update_layout(title=title, template="plotly_white")
            self.figures[key] = (title, fig)


# ---- training curves -------------------------------------------------------------------

def _components(runs: Sequence[RunData]) -> list[str]:
    names: dict[str, None] = {}
    for r in runs:
        if r.steps is not None:
            names.update({c[: -len("/raw")]: None for c in r.steps.columns if c.endswith("/raw")})
    return list(names)


def component_figure(c: Comparison, kind: str, x: str = "step", log_y: bool = False) -> go.Figure | None:
    """One panel per configuration (PANELS_PER_ROW to a row), one colour per component, one dash per seed."""
    rows = [row for row in c.rows if any(r.steps is not None for r in row.runs)]
    comps = _components([r for row in rows for r in row.runs])
    if not rows or not any(r.steps is not None and f"{n}/{kind}" in r.steps and r.steps[f"{n}/{kind}"].notna().any()
                           for row in rows for r in row.runs for n in comps):
        return None
    ncols = min(len(rows), PANELS_PER_ROW)
    nrows = -(-len(rows) // ncols)
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=[row.label for row in rows],
                        shared_yaxes="all" if nrows > 1 else True, vertical_spacing=0.12 if nrows > 1 else None)
    if nrows > 1:
        fig.update_layout(height=PANEL_ROW_HEIGHT * nrows)
    shown: set[str] = set()
    for i, row in enumerate(rows):
        panel_row, col = divmod(i, ncols)
        panel_row += 1
        col += 1
        for k, run in enumerate(r for r in row.runs if r.steps is not None):
            for n in comps:
                column = f"{n}/{kind}"
                if column not in run.steps or x not in run.steps:
                    continue
                data = run.steps[[x, column]].dropna()
                if data.empty:
                    continue
                color = PALETTE[comps.index(n) % len(PALETTE)]
                fig.add_trace(go.Scatter(
                    x=data[x], y=data[column], name=n, legendgroup=n, showlegend=n not in shown,
                    mode="lines+markers" if len(data) < 30 else "lines",
                    line=dict(color=color, dash=DASHES[k % len(DASHES)]),
                    hovertemplate=f"{run.name} seed {run.seed}<br>{n}: %{{y:.4g}} at {x} %{{x}}<extra></extra>"),
                    row=panel_row, col=col)
                shown.add(n)
        fig.update_xaxes(title_text=x, row=panel_row, col=col)
    if log_y:
        fig.update_yaxes(type="log")
    return fig


# ---- results ---------------------------------------------------------------------------

def metrics_figure(c: Comparison) -> go.Figure | None:
    """Every metric per configuration with its interval."""
    if not any(cell.value is not None for row in c.rows for cell in row.cells.values()):
        return None
    fig = go.Figure()
    colors = config_colors(c)
    for row in c.rows:
        xs, ys, up, down = [], [], [], []
        for metric, title in METRIC_LABELS.items():
            cell = row.cells[metric]
            if cell.value is None:
                continue
            xs.append(title)
            ys.append(100 * cell.value)
            up.append(100 * (cell.hi - cell.value) if cell.hi is not None and np.isfinite(cell.hi) else 0)
            down.append(100 * (cell.value - cell.lo) if cell.lo is not None and np.isfinite(cell.lo) else 0)
        fig.add_trace(go.Bar(x=xs, y=ys, name=row.label, marker_color=colors[row.label],
                             error_y=dict(type="data", array=up, arrayminus=down, visible=True)))
    fig.update_layout(barmode="group", yaxis_title="points (0-100), 95% interval")
    return fig


def wall_time_figure(c: Comparison) -> go.Figure | None:
    recs = [{"configuration": row.label, "run": r.name, "seed": r.seed, "wall time (s)": r.wall_time_s}
            for row in c.rows for r in row.runs if r.wall_time_s is not None]
    if not recs:
        return None
    df = pd.DataFrame(recs)
    fig = go.Figure()
    colors = config_colors(c)
    for label, part in df.groupby("configuration", sort=False):
        fig.add_trace(go.Bar(x=part["run"], y=part["wall time (s)"], name=label, marker_color=colors[label],
                             hovertemplate="%{x}: %{y:.1f} s<extra>" + label + "</extra>"))
    base = c.row(c.baseline)
    if base is not None and base.wall_time_s:
        limit = c.thresholds.max_wall_ratio * base.wall_time_s
        fig.add_hline(y=limit, line_dash="dash", annotation_text=f"{c.thresholds.max_wall_ratio:.2f}× baseline")
    fig.update_layout(yaxis_title="wall time (s)", xaxis_title="run")
    return fig


# ---- sweeps ----------------------------------------------------------------------------

def _trial_f1(trial, roots: Sequence[Path], replicates: int, seed: int) -> tuple[float, float | None, float | None]:
    """A trial's F1 with a bootstrap interval over its run's validation examples where they exist."""
    from trident.analysis.sources import load_run_dir, resolve_run_dir

    run_dir = trial.user_attrs.get("run_dir")
    if run_dir:
        run = load_run_dir(resolve_run_dir(run_dir, roots))
        if run.predictions:
            s = st.example_stats([p["id"] for p in run.predictions], [p["prediction"] for p in run.predictions],
                                 [p["references"] for p in run.predictions])
            est = st.pooled_estimate([s], "f1", st.replicate_weights(len(s), replicates, seed))
            return est.value, est.lo, est.hi
    f1 = trial.user_attrs.get("f1", trial.value)
    return float(f1), None, None


def beta_figure(study, roots: Sequence[Path], replicates: int, seed: int) -> tuple[go.Figure | None, str]:
    from optuna.trial import TrialState

    from trident.analysis.sources import real_trials
    from trident.sweeps.spec import decode_value

    key = "loss.semantic_loss_scale"
    done = [t for t in real_trials(study) if t.state == TrialState.COMPLETE and key in t.params]
    if not done:
        return None, f"study {study.study_name} has no completed trial with {key}"
    recs = []
    for t in done:
        f1, lo, hi = _trial_f1(t, roots, replicates, seed)
        recs.append({"beta": float(decode_value(t.params[key])), "f1": f1, "lo": lo, "hi": hi, "trial": t.number})
    df = pd.DataFrame(recs).sort_values("beta")
    has_ci = df["lo"].notna()
    fig = go.Figure(go.Scatter(
        x=df["beta"], y=100 * df["f1"], mode="lines+markers", name="F1",
        error_y=dict(type="data", array=(100 * (df["hi"] - df["f1"])).fillna(0),
                     arrayminus=(100 * (df["f1"] - df["lo"])).fillna(0), visible=bool(has_ci.any())),
        customdata=df["trial"], hovertemplate="β=%{x}: F1 %{y:.2f} (trial %{customdata})<extra></extra>"))
    fig.update_layout(xaxis_title="β (loss.semantic_loss_scale)", yaxis_title="validation F1 (points), 95% interval")
    why = "" if has_ci.all() else "some trials have no predictions file: those points have no interval"
    return fig, why


def contrastive_figure(study) -> tuple[go.Figure | None, str]:
    from optuna.trial import TrialState

    from trident.analysis.sources import real_trials
    from trident.sweeps.spec import decode_value

    sched_key, tau_key = "loss.components.contrastive", "loss.contrastive_temperature"
    trials = [t for t in real_trials(study) if sched_key in t.params and tau_key in t.params
              and t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    if not trials:
        return None, f"study {study.study_name} has no finished trial over {sched_key} × {tau_key}"
    recs = []
    for t in trials:
        sched = decode_value(t.params[sched_key])
        label = f"{sched.get('start')}→{sched.get('end')}" if isinstance(sched, dict) else str(sched)
        pruned = t.state == TrialState.PRUNED
        value = t.value if not pruned else (t.intermediate_values[max(t.intermediate_values)]
                                            if t.intermediate_values else None)
        recs.append({"schedule": label, "tau": float(t.params[tau_key]), "f1": value, "pruned": pruned})
    df = pd.DataFrame(recs)
    z = df.pivot_table(index="schedule", columns="tau", values="f1", aggfunc="mean")
    pruned = df.pivot_table(index="schedule", columns="tau", values="pruned", aggfunc="max")
    text = [[("n/a" if pd.isna(v) else f"{100 * v:.1f}" + (" (pruned)" if pruned.loc[i, c] else ""))
             for c, v in zip(z.columns, z.loc[i])] for i in z.index]
    fig = go.Figure(go.Heatmap(z=100 * z.to_numpy(float), x=[f"τ={c:g}" for c in z.columns], y=list(z.index),
                               text=text, texttemplate="%{text}", colorscale="Viridis",
                               colorbar=dict(title="F1 (points)")))
    fig.update_layout(xaxis_title="InfoNCE temperature τ", yaxis_title="contrastive weight start→end")
    return fig, "pruned trials show F1 at their last evaluation"


def optuna_figures(study) -> list[tuple[str, str, go.Figure | None, str]]:
    """Optimization history and parameter importances: (key, title, figure or None, why)."""
    import optuna
    from optuna.trial import TrialState

    name = study.study_name
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.user_attrs.get("duplicate_of") is None]
    out: list[tuple[str, str, go.Figure | None, str]] = []
    hist_title = f"Optuna optimization history: {name}"
    if len(done) >= MIN_HISTORY_TRIALS:
        out.append((f"history-{name}", hist_title, optuna.visualization.plot_optimization_history(study), ""))
    else:  # one point on an axis of its own making says nothing about a history
        out.append((f"history-{name}", hist_title, None,
                    f"study {name} has {len(done)} completed trial{'' if len(done) == 1 else 's'}: "
                    f"an optimization history needs at least {MIN_HISTORY_TRIALS}"))
    imp_title = f"Optuna parameter importances: {name}"
    varying = {k for k in {k for t in done for k in t.params}
               if len({t.params.get(k) for t in done}) > 1}
    if len(done) < 2 or not varying:
        out.append((f"importance-{name}", imp_title, None,
                    f"study {name}: importances need at least 2 completed trials whose parameters vary "
                    f"({len(done)} completed)"))
    else:
        try:
            fig = optuna.visualization.plot_param_importances(study)
            out.append((f"importance-{name}", imp_title, fig, ""))
        except (ValueError, RuntimeError) as exc:
            out.append((f"importance-{name}", imp_title, None, f"study {name}: importances failed ({exc})"))
    return out


# ---- the page --------------------------------------------------------------------------

# The tables fit a 1200 px window (tests/test_report_browser.py): every cell one line
# (nowrap), 13 px text, numbers right-aligned in tabular figures so intervals line up.
_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; overflow-wrap: anywhere; }
h3.table-title { font-size: 1em; margin: 1.2em 0 0.3em; }
table.comparison { border-collapse: collapse; font-size: 13px; line-height: 1.4; }
table.comparison th, table.comparison td { border: 1px solid #ccc; padding: 3px 6px; white-space: nowrap;
                                           overflow-wrap: normal; text-align: right;
                                           font-variant-numeric: tabular-nums; }
table.comparison th:first-child, table.comparison td:first-child { text-align: left; }
table.comparison th { background: #f3f3f3; }
.warning { background: #fff4e5; border: 2px solid #e67e22; padding: 0.8em 1.2em; margin: 1em 0; }
.note { background: #eef4fb; border: 1px solid #7aa7d8; padding: 0.6em 1em; margin: 0.6em 0; }
ul.notes li.differs { color: #a04000; font-weight: 600; }
section { margin: 2em 0; }
"""


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in rec) + "</tr>"
                   for rec in table.frame.itertuples(index=False))
    return (f'<h3 class="table-title">{html.escape(table.title)}</h3>'
            f'<table class="comparison" id="{table.key}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def page(title: str, tables: Sequence[Table], legend: str, notes: Sequence[str], problems: Sequence[str],
         figs: Figures, shares: Sequence[str] = ()) -> str:
    """A self-contained page: plotly.js inline once, every figure a div with id fig-<key>; `shares`
    are the student/teacher lines (comparison_table.share_lines), under the tables."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    if problems:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
        parts.append(f'<div class="warning" id="data-gaps"><strong>Missing or partial data</strong> '
                     f"(what is shown uses what there is; nothing is filled in):<ul>{items}</ul></div>")
    parts += ['<div id="comparison">', *map(_table_html, tables), "</div>"]
    if shares:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in shares)
        parts.append(f'<div id="student-teacher"><h3 class="table-title">{html.escape(SHARES_TITLE)}</h3>'
                     f"<ul>{items}</ul></div>")
    parts.append(f"<p>{html.escape(legend)}</p>")
    if notes:
        # A warning that the rows are not like for like stands out from the other notes.
        items = [('<li class="differs">' if n.startswith("⚠") else "<li>") + html.escape(n) + "</li>" for n in notes]
        parts.append("<ul class='notes'>" + "".join(items) + "</ul>")
    first = True
    for key, (fig_title, fig) in figs.figures.items():
        div = fig.to_html(full_html=False, include_plotlyjs="inline" if first else False, div_id=f"fig-{key}",
                          default_height="480px")
        first = False
        parts.append(f'<section><h2>{html.escape(fig_title)}</h2>{div}</section>')
    for fig_title, why in figs.skipped:
        parts.append(f'<section><h2>{html.escape(fig_title)}</h2>'
                     f'<div class="note skipped">Not drawn: {html.escape(why)}</div></section>')
    parts.append("</body></html>")
    return "\n".join(parts)


def browser_path() -> str | None:
    """A Chrome/Chromium for kaleido: BROWSER_PATH, Debian's chromium, or one on PATH; never a download."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if Path(env).exists() else None
    if Path(CHROMIUM).exists():
        return CHROMIUM
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


def write_pngs(figs: Figures, out_dir: Path) -> tuple[list[Path], str | None]:
    """Every figure as out_dir/<key>.png; (written, None) or ([], why they were skipped)."""
    if not figs.figures:
        return [], None
    browser = browser_path()
    if browser is None:
        return [], ("PNGs skipped: no Chrome/Chromium found for kaleido (install Debian's `chromium`, "
                    "or set BROWSER_PATH)")
    os.environ["BROWSER_PATH"] = browser  # kaleido/choreographer look here first
    import plotly.io as pio

    paths = [out_dir / f"{key}.png" for key in figs.figures]
    try:
        figures = [fig for _, fig in figs.figures.values()]
        # A figure that set its own height (wrapped panels) keeps it; the others are 500 px.
        pio.write_images(figures, paths, width=1100, height=[fig.layout.height or 500 for fig in figures])
    except Exception as exc:  # kaleido failures are many and varied; the HTML report still stands
        return [], f"PNGs skipped: kaleido could not render with {browser} ({type(exc).__name__}: {exc})"
    return paths, None


def figure_keys(figs: Figures) -> list[str]:
    return list(figs.figures)


def build(c: Comparison, studies: dict[str, Any], roots: Sequence[Path], replicates: int, seed: int) -> Figures:
    """Every figure the report has data for; `studies` maps role (main/beta/contrastive) → study."""
    figs = Figures()
    figs.add("metrics", "Validation metrics per configuration (95% interval)", metrics_figure(c),
             "no configuration has validation metrics")
    why_curves = "no run has a readable step_metrics.csv / step history"
    figs.add("loss-raw", "Per-component loss (raw, unweighted)", component_figure(c, "raw"), why_curves)
    figs.add("loss-weighted", "Per-component loss (weighted: what entered the total)",
             component_figure(c, "weighted"), why_curves)
    figs.add("grad-norm", "Gradient norm per component (weighted term)", component_figure(c, "grad_norm"),
             "no run logged per-component gradient norms (train.grad_norm_every)")
    figs.add("weights", "Applied component weights over training", component_figure(c, "weight", x="progress"),
             why_curves)
    figs.add("wall-time", "Training wall time per run", wall_time_figure(c), "no run has a wall time")
    if "beta" in studies:
        fig, why = beta_figure(studies["beta"], roots, replicates, seed)
        figs.add("beta", "Validation F1 vs β (beta sweep)", fig, why)
    else:
        figs.skipped.append(("Validation F1 vs β (beta sweep)", "no beta study found (sweeps/studies/beta.db)"))
    if "contrastive" in studies:
        fig, why = contrastive_figure(studies["contrastive"])
        figs.add("contrastive", "Contrastive schedule × τ (validation F1)", fig, why)
    else:
        figs.skipped.append(("Contrastive schedule × τ (validation F1)",
                             "no contrastive study found (sweeps/studies/contrastive.db)"))
    optuna_studies = list(studies.values())
    if not optuna_studies:
        figs.skipped.append(("Optuna optimization history and parameter importances",
                             "no Optuna study (the report was built from run directories or W&B)"))
    for study in optuna_studies:
        for key, title, fig, why in optuna_figures(study):
            figs.add(key, title, fig, why)
    return figs
