"""Configurations compared against the baseline: estimates, intervals, Δs and success checks.

Runs are grouped by configuration (their display label: the preset, with its β where it has
one); any number of configurations is compared, each against the one baseline. Where runs
carry per-example validation predictions, each metric is the mean over seeds of the corpus
metric with a bootstrap interval over validation examples pooled over seeds, and each Δ
against the baseline is paired (the same resamples for both). Where they do not (W&B runs, or runs whose
predictions file is gone), the point is the mean of the runs' own final metrics and the
interval comes from the seeds alone, or is absent; the notes say which.

Two rows are references, not configurations: the teacher the students were distilled from and
the retrieval baseline (copying the nearest training record). They get Δs but no checks. The
notes also warn where the rows differ in more than their configuration (trident.analysis.differences).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from trident.baseline import LABEL as RETRIEVAL, ROLE as BASELINE_ROLE
from trident.metrics import EXECUTION_KEYS

from trident.analysis import stats as st
from trident.analysis.differences import RowRuns, differences
from trident.analysis.inference import measured_apart, median_figure
from trident.analysis.sources import BASELINE, TEACHER, RunData

METRIC_LABELS = {"f1": "F1", "pans": "PANS", "ast_validity": "AST validity",
                 "assertion_validity": "assertion validity", "exact_match": "exact match",
                 "semantic": "semantic sim.", "bleu": "BLEU", "compile_rate": "compile rate", "pass_rate": "pass rate",
                 "mutation_score": "mutation score"}
REFERENCE_ROLES = (TEACHER, BASELINE_ROLE)  # Summary.role of the teacher's and the retrieval baseline's runs
LABEL_ORDER = ("legacy", "trident", "trident-v1")  # the original presets first; any other after, by name


class BaselineError(ValueError):
    """The baseline named matches no configuration of the runs, or more than one."""


@dataclass
class Thresholds:
    """Success criteria, each judged on the point estimate against the baseline."""

    min_f1_delta: float = 0.005  # 0-1 scale: +0.5 points
    min_ast_delta: float = 0.0  # AST validity at least the baseline's
    max_wall_ratio: float = 1.10
    max_nonfinite: int = 0


@dataclass
class Cell:
    value: float | None = None
    lo: float | None = None
    hi: float | None = None
    delta: st.Estimate | None = None
    replicates: np.ndarray | None = None
    seed_values: list[float] = field(default_factory=list)


@dataclass
class ConfigRow:
    label: str
    runs: list[RunData]
    cells: dict[str, Cell] = field(default_factory=dict)
    wall_time_s: float | None = None
    wall_ratio: float | None = None
    nonfinite: int | None = None
    checks: dict[str, bool | None] = field(default_factory=dict)
    bootstrap: bool = False  # intervals over validation examples (else over seeds, or none)
    # Inference figures (trident.analysis.inference), each the median over the runs that have it; None: n/a.
    size_mb: float | None = None
    memory_mb: float | None = None
    p50_ms: float | None = None

    @property
    def used(self) -> list[RunData]:
        """Runs whose final metrics are known (finished, or recorded by their trial)."""
        return [r for r in self.runs if r.metrics]

    @property
    def seeds(self) -> list:
        return sorted({r.seed for r in self.used}, key=lambda s: (s is None, s))

    @property
    def kind(self) -> str:
        """configuration, or a reference row: teacher or retrieval."""
        if self.label == RETRIEVAL:
            return RETRIEVAL
        return TEACHER if self.runs and all(r.role == TEACHER for r in self.runs) else "configuration"

    @property
    def reference(self) -> bool:
        """The teacher or the retrieval baseline: compared with, never judged."""
        return self.kind != "configuration"


@dataclass
class Comparison:
    rows: list[ConfigRow]
    baseline: str
    thresholds: Thresholds
    notes: list[str]
    examples: int = 0  # validation examples the bootstrap resampled
    replicates: int = 0

    def row(self, label: str) -> ConfigRow | None:
        return next((r for r in self.rows if r.label == label), None)


def _beta_key(beta) -> tuple:
    if beta is None:
        return (0, 0.0, "")
    if isinstance(beta, (int, float)):
        return (1, float(beta), "")
    return (2, 0.0, str(beta))


def _order(runs: Sequence[RunData]) -> tuple:
    """legacy, trident, trident-v1, then every other preset by name; one preset's β values in
    numeric order (β=3 before β=10); then the teacher, and the retrieval baseline last."""
    first = runs[0]
    known = (LABEL_ORDER.index(first.label) if first.label in LABEL_ORDER else
             len(LABEL_ORDER) + 2 if first.label == RETRIEVAL else
             len(LABEL_ORDER) + 1 if all(r.role == TEACHER for r in runs) else len(LABEL_ORDER))
    return (known, first.label, _beta_key(first.beta), first.display)


def group_runs(runs: Sequence[RunData]) -> dict[str, list[RunData]]:
    groups: dict[str, list[RunData]] = {}
    for r in runs:
        groups.setdefault(r.display, []).append(r)
    return dict(sorted(groups.items(), key=lambda kv: _order(kv[1])))


def _baseline_label(groups: dict[str, list[RunData]], baseline: str) -> str:
    """The configuration `baseline` names: a table label exactly ("trident-v1 (β=5)"), or a
    preset (`trident-v1`, or its file `experiments/trident-v1.yaml`) that has one row; matched on
    the runs' own labels, so `trident-v1` never picks "trident-v1-hidden (β=5)"."""
    if baseline in groups:
        return baseline
    name = Path(baseline).stem if baseline.endswith((".yaml", ".yml")) else baseline
    if name in groups:
        return name
    matches = [g for g, members in groups.items() if any(r.label == name for r in members)]
    if len(matches) == 1:
        return matches[0]
    found = ", ".join(groups) or "none"
    if matches:
        raise BaselineError(f"baseline {baseline!r} matches {len(matches)} configurations "
                            f"({', '.join(matches)}): name one of them exactly")
    raise BaselineError(f"baseline {baseline!r} matches no configuration of these runs; "
                        f"the configurations found are: {found}")


def _semantic_scores(runs: Sequence[RunData], model: str, notes: list[str]) -> dict[str, np.ndarray]:
    """Per-example cosine similarity for every run with predictions, embedding each distinct text once."""
    with_preds = [r for r in runs if r.predictions]
    if not with_preds:
        return {}
    try:
        from trident.analysis.stats import semantic_similarity

        preds = [p["prediction"] for r in with_preds for p in r.predictions]
        refs = [p["references"] for r in with_preds for p in r.predictions]
        # Seeds and configurations repeat many texts; embed the distinct pairs only.
        keys = list(dict.fromkeys(zip(preds, map(tuple, refs))))
        sims = semantic_similarity([k[0] for k in keys], [list(k[1]) for k in keys], model)
        lookup = dict(zip(keys, sims))
    except Exception as exc:  # an encoder that cannot load must not sink the whole report
        notes.append(f"semantic similarity is n/a: the sentence encoder {model} failed ({exc})")
        return {}
    return {r.name: np.asarray([lookup[(p["prediction"], tuple(p["references"]))] for p in r.predictions])
            for r in with_preds}


def _example_stats(runs: Sequence[RunData], semantic_model: str | None,
                   notes: list[str]) -> tuple[dict[str, st.ExampleStats], int]:
    """Per-example statistics of every run with predictions, on the validation examples all of them share.

    A reference run (teacher, retrieval) does not narrow what the configurations share: one whose
    predictions miss some of those examples is left out of the bootstrap (its row keeps its
    summary's metrics, without an interval) and a note says so."""
    with_preds = [r for r in runs if r.predictions and r.metrics]
    if not with_preds:
        return {}, 0
    configurations = [r for r in with_preds if r.role not in REFERENCE_ROLES] or with_preds
    common = set.intersection(*({p["id"] for p in r.predictions} for r in configurations))
    for r in [r for r in with_preds if not common <= {p["id"] for p in r.predictions}]:
        missing = len(common - {p["id"] for p in r.predictions})
        notes.append(f"{r.name}: its predictions miss {missing} of the {len(common)} validation examples the "
                     "configurations share; its row has its own metrics, without an interval")
        with_preds.remove(r)
    id_sets = [[p["id"] for p in r.predictions] for r in with_preds]
    order = [i for i in id_sets[0] if i in common]
    for r, ids in zip(with_preds, id_sets):
        if len(ids) != len(order):
            notes.append(f"{r.name}: {len(ids) - len(order)} of its {len(ids)} validation examples are not in "
                         f"every run; the bootstrap uses the {len(order)} shared ones")
    sem = _semantic_scores(with_preds, semantic_model, notes) if semantic_model else {}
    out = {}
    for r in with_preds:
        position = {p["id"]: i for i, p in enumerate(r.predictions)}
        pick = [position[i] for i in order]
        rows = [r.predictions[i] for i in pick]
        semantic = sem[r.name][pick] if r.name in sem else None
        execution = st.execution_array(order, r.execution) if r.execution is not None else None
        out[r.name] = st.example_stats(order, [p["prediction"] for p in rows], [p["references"] for p in rows],
                                       semantic, execution)
    return out, len(order)


def compare(runs: Sequence[RunData], baseline: str = BASELINE, replicates: int = 1000, seed: int = 0,
            level: float = 0.95, thresholds: Thresholds | None = None,
            semantic_model: str | None = "all-MiniLM-L6-v2") -> Comparison:
    """Every configuration of `runs` against `baseline` (a preset name such as `trident-v1`, or a
    table label such as "trident-v1 (β=5)"); BaselineError when it names no configuration, or
    several."""
    thresholds = thresholds or Thresholds()
    notes: list[str] = []
    groups = group_runs(runs)
    baseline = _baseline_label(groups, baseline)
    per_run, n = _example_stats(runs, semantic_model, notes)
    weights = st.replicate_weights(n, replicates, seed) if n else None
    rows = [ConfigRow(label, members) for label, members in groups.items()]
    for row in rows:
        _estimate_row(row, per_run, weights, level, notes)
    base = next((r for r in rows if r.label == baseline), None)
    if base is None or not base.used:
        notes.append(f"the baseline ({baseline}) has no finished run: Δs, wall-time ratios and checks are n/a")
    for row in rows:
        _against_baseline(row, base if base is not None and base.used else None, replicates, seed, level, thresholds)
    comparison = Comparison(rows, baseline, thresholds, notes, n, replicates if n else 0)
    _seed_notes(comparison)
    varied = sorted({k for r in runs for k in r.params})
    comparison.notes += differences([RowRuns(r.label, r.used, r.reference) for r in rows], varied)
    comparison.notes += measured_apart([(r.label, r.used) for r in rows])
    return comparison


def _estimate_row(row: ConfigRow, per_run: dict[str, st.ExampleStats], weights: np.ndarray | None,
                  level: float, notes: list[str]) -> None:
    used = row.used
    example_runs = [per_run[r.name] for r in used if r.name in per_run]
    row.bootstrap = bool(example_runs) and weights is not None
    if row.bootstrap and len(example_runs) < len(used):
        missing = ", ".join(r.name for r in used if r.name not in per_run)
        notes.append(f"{row.label}: {missing} has no per-example predictions; its estimates use the other "
                     f"{len(example_runs)} run(s) only")
    for metric in st.METRICS:
        cell = Cell(seed_values=[r.metrics[metric] for r in used if metric in r.metrics])
        per_example = (all(s.semantic is not None for s in example_runs) if metric == "semantic" else
                       all(s.execution is not None for s in example_runs) if metric in EXECUTION_KEYS else True)
        if row.bootstrap and per_example:
            est = st.pooled_estimate(example_runs, metric, weights, level)
            cell.value, cell.lo, cell.hi, cell.replicates = est.value, est.lo, est.hi, est.replicates
            cell.seed_values = [st.full_sample(s, metric) for s in example_runs]
        elif cell.seed_values:
            cell.value = float(np.mean(cell.seed_values))
            lo, hi = st.t_interval(cell.seed_values, level)
            cell.lo, cell.hi = (lo, hi) if np.isfinite(lo) else (None, None)
        row.cells[metric] = cell
    walls = [r.wall_time_s for r in used if r.wall_time_s is not None]
    row.wall_time_s = float(np.mean(walls)) if walls else None
    counts = [r.nonfinite_steps for r in row.runs if r.nonfinite_steps is not None]
    row.nonfinite = int(sum(counts)) if counts else None
    figures = [r.inference for r in used]
    row.size_mb = median_figure(figures, "size_mb")
    row.memory_mb = median_figure(figures, "peak_rss_mb")
    row.p50_ms = median_figure(figures, "latency_p50_ms")
    measured = sum(f is not None for f in figures)
    if 0 < measured < len(used):
        missing = ", ".join(r.name for r in used if r.inference is None)
        notes.append(f"{row.label}: size, memory and latency are the median of {measured} of its {len(used)} runs "
                     f"({missing} has no inference figures)")


def _against_baseline(row: ConfigRow, base: ConfigRow | None, replicates: int, seed: int, level: float,
                      th: Thresholds) -> None:
    # A reference row (teacher, retrieval) takes no checks, not even its own NaN/Inf count's.
    row.checks["nonfinite"] = (None if row.nonfinite is None or row.reference else
                               row.nonfinite <= th.max_nonfinite)
    if base is None or row is base:
        return
    for metric, cell in row.cells.items():
        b = base.cells.get(metric)
        if cell.value is None or b is None or b.value is None:
            continue
        if cell.replicates is not None and b.replicates is not None:
            cell.delta = st.paired_delta(st.Estimate(cell.value, 0, 0, cell.replicates),
                                         st.Estimate(b.value, 0, 0, b.replicates), level)
        else:
            lo, hi = st.seed_bootstrap_delta(cell.seed_values, b.seed_values, replicates, seed, level)
            cell.delta = st.Estimate(cell.value - b.value, lo, hi)
    if row.reference:  # Δs say how far the baseline is above copying / below its teacher; no checks
        return
    if row.wall_time_s is not None and base.wall_time_s:
        row.wall_ratio = row.wall_time_s / base.wall_time_s
    f1, ast = row.cells["f1"].delta, row.cells["ast_validity"].delta
    row.checks["f1"] = None if f1 is None else f1.value >= th.min_f1_delta - 1e-12
    row.checks["ast"] = None if ast is None else ast.value >= th.min_ast_delta - 1e-12
    row.checks["wall"] = None if row.wall_ratio is None else row.wall_ratio <= th.max_wall_ratio


def _seed_notes(c: Comparison) -> None:
    seeds = [f"{row.label} {', '.join(str(s) for s in row.seeds)}" for row in c.rows
             if row.label != RETRIEVAL and any(s is not None for s in row.seeds)]
    if seeds:
        c.notes.append("seed values: " + "; ".join(seeds))
    for row in c.rows:
        if row.reference and row.used:  # no seed (retrieval), or one run by construction (the legend says so)
            continue
        if not row.used:
            names = ", ".join(r.name for r in row.runs)
            c.notes.append(f"{row.label}: no finished run ({names}); its cells are n/a")
        elif len(row.used) < 2 and row.bootstrap:
            c.notes.append(f"{row.label} has 1 seed: the interval covers example sampling only")
        elif len(row.used) < 2:
            c.notes.append(f"{row.label} has 1 seed and no per-example predictions: no interval")
        elif not row.bootstrap:
            c.notes.append(f"{row.label}: no per-example predictions; intervals are t-intervals over its "
                           f"{len(row.used)} seeds, Δ intervals a bootstrap over seeds (unpaired)")
