"""Plotly figures of the history frames (trident.analysis.histories, .teacher_pairs), and
writing a figure with its frame: `<out>/<stem>.html` (self-contained: plotly.js inline, no
network) and `<out>/<stem>.csv` (the frame the figure was drawn from), each atomically."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from trident.analysis.histories import BETA
from trident.io import atomic_write_text

FEW_POINTS = 30  # lines with fewer points than this also mark each point


def loss_figure(long: pd.DataFrame, x: str = "step") -> go.Figure:
    """Loss components over steps (components_long's frame): a column of panels per preset, a row
    per kind (raw, weighted, …; each its own y scale), a colour per component, a dash per run."""
    fig = px.line(long, x=x, y="value", color="component", line_dash="run", facet_col="preset",
                  facet_row="kind", markers=bool(long.groupby(["run", "component", "kind"]).size().max() < FEW_POINTS),
                  hover_data=["seed", "beta", "source"])
    fig.update_yaxes(matches=None, showticklabels=True)  # raw and weighted values differ in scale
    fig.update_layout(template="plotly_white", height=max(420, 320 * long["kind"].nunique()))
    return fig


def sweep_figure(points: pd.DataFrame, x: str = BETA, metric: str = "f1") -> go.Figure:
    """The objective against a swept parameter (study_trials' or runs_objective's frame): a
    marker per trial/run with its 95% interval where it has one, and a line through the mean
    at each value. Rows without a numeric x or objective are not drawn."""
    numbers = points.assign(_x=pd.to_numeric(points[x], errors="coerce"),
                            _y=pd.to_numeric(points["objective"], errors="coerce"))
    numbers = numbers[numbers["_x"].notna() & numbers["_y"].notna()].sort_values("_x")
    label = "trial" if "trial" in numbers else "run"
    up = (numbers["objective_hi"] - numbers["_y"]).fillna(0)
    down = (numbers["_y"] - numbers["objective_lo"]).fillna(0)
    fig = go.Figure(go.Scatter(
        x=numbers["_x"], y=numbers["_y"], mode="markers", name=f"{label}s",
        error_y=dict(type="data", array=up, arrayminus=down, visible=bool(numbers["objective_lo"].notna().any())),
        customdata=numbers[[label, "interval"]].astype(str).to_numpy(),
        hovertemplate=f"{x}=%{{x}}: {metric} %{{y:.4f}}<br>{label} %{{customdata[0]}}<br>"
                      "%{customdata[1]}<extra></extra>"))
    mean = numbers.groupby("_x", sort=True)["_y"].mean()
    fig.add_trace(go.Scatter(x=mean.index, y=mean.to_numpy(), mode="lines", name="mean", line=dict(dash="dot"),
                             hovertemplate=f"{x}=%{{x}}: mean {metric} %{{y:.4f}}<extra></extra>"))
    fig.update_layout(template="plotly_white", xaxis_title=x,
                      yaxis_title=f"validation {metric} (95% interval where predictions were kept)")
    return fig


def student_teacher_figure(pairs: pd.DataFrame) -> go.Figure:
    """student_teacher's frame as grouped bars: a panel per student (columns) and evaluation
    (rows: split and who scored it), student and teacher side by side for every metric."""
    long = pairs.assign(evaluation=pairs["split"] + " (" + pairs["evaluated_by"] + ")").melt(
        id_vars=["student", "teacher", "evaluation", "metric"], value_vars=["student_value", "teacher_value"],
        var_name="model", value_name="value")
    long["model"] = long["model"].str.removesuffix("_value")
    fig = px.bar(long, x="metric", y="value", color="model", barmode="group", facet_col="student",
                 facet_row="evaluation", hover_data=["teacher"], labels={"value": "score (0-1)"})
    fig.update_layout(template="plotly_white", height=max(420, 340 * long["evaluation"].nunique()))
    return fig


def write_outputs(out: str | Path, stem: str, frame: pd.DataFrame, fig: go.Figure, title: str) -> list[Path]:
    """`<out>/<stem>.csv` and `<out>/<stem>.html` (the figure in a div with id `stem`)."""
    out = Path(out)
    csv_path, html_path = out / f"{stem}.csv", out / f"{stem}.html"
    atomic_write_text(csv_path, frame.to_csv(index=False))
    fig.update_layout(title=title)
    atomic_write_text(html_path, fig.to_html(full_html=True, include_plotlyjs="inline", div_id=stem))
    return [csv_path, html_path]
