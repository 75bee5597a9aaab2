"""The comparison as Markdown tables (for a PR) and as pandas DataFrames (for the HTML page).

Every cell is one line, so the tables stay narrow in a PR and fit a 1200 px page: the metric
values with their intervals in one table, the Δs against the baseline with theirs in a second
with the same rows (less the baseline's), then cost (training wall time and the inference
figures: size, memory, p50 latency) and the checks, each a table of its own; more than
METRICS_PER_TABLE metrics continue in a further pair of tables. Under the tables, one
student/teacher line per configuration (trident.analysis.shares). Metrics are shown in points
(×100, 0-100); a missing value is "n/a", never a guess (nor 0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from trident.baseline import LABEL as RETRIEVAL
from trident.metrics import EXECUTION_KEYS
from trident.analysis.compare import METRIC_LABELS, Cell, Comparison, ConfigRow
from trident.analysis.inference import figure_text
from trident.analysis.shares import COSTS, KEPT, TeacherShare, teacher_shares
from trident.analysis.sources import TEACHER

NA = "n/a"
METRICS_PER_TABLE = 5  # a table of five "12.4 [10.4, 14.2]" columns and a label fits 1200 px


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _pts(x: float | None, signed: bool = False, digits: int = 1) -> str:
    if not _ok(x):
        return NA
    return f"{100 * x:+.{digits}f}" if signed else f"{100 * x:.{digits}f}"


def value_text(cell: Cell) -> str:
    """A metric on one line: the point in points with its interval, `12.4 [10.4, 14.2]`."""
    if not _ok(cell.value):
        return NA
    text = _pts(cell.value)
    if _ok(cell.lo) and _ok(cell.hi):
        text += f" [{_pts(cell.lo)}, {_pts(cell.hi)}]"
    return text


def delta_text(cell: Cell) -> str:
    """A Δ against the baseline on one line, `+2.35 [+0.40, +4.10]` (two decimals: the F1
    threshold is half a point)."""
    d = cell.delta
    if d is None or not _ok(d.value):
        return NA
    text = _pts(d.value, True, 2)
    if _ok(d.lo) and _ok(d.hi):
        text += f" [{_pts(d.lo, True, 2)}, {_pts(d.hi, True, 2)}]"
    return text


def _mark(ok: bool | None, detail: str) -> str:
    if ok is None:
        return NA
    return f"{'✔' if ok else '✘'} {detail}"


def check_columns(c: Comparison) -> dict[str, str]:
    th = c.thresholds
    return {"f1": f"ΔF1 ≥ {100 * th.min_f1_delta:+.2f}",
            "ast": "AST ≥ baseline" if th.min_ast_delta == 0 else f"ΔAST ≥ {100 * th.min_ast_delta:+.2f}",
            "wall": f"wall ≤ {th.max_wall_ratio:.2f}×",
            "nonfinite": "no NaN/Inf steps" if th.max_nonfinite == 0 else f"NaN/Inf ≤ {th.max_nonfinite}"}


def _check_cells(row: ConfigRow, c: Comparison) -> dict[str, str]:
    th, is_base = c.thresholds, row.label == c.baseline
    f1, ast = row.cells["f1"].delta, row.cells["ast_validity"].delta
    cells = {
        "f1": "— (baseline)" if is_base else _mark(
            row.checks.get("f1"), f"{_pts(f1.value, True, 2)} vs {100 * th.min_f1_delta:+.2f}" if f1 else ""),
        "ast": "— (baseline)" if is_base else _mark(
            row.checks.get("ast"), f"{_pts(ast.value, True, 2)} vs {100 * th.min_ast_delta:+.2f}" if ast else ""),
        "wall": "— (baseline)" if is_base else _mark(
            row.checks.get("wall"), f"{row.wall_ratio:.2f}× vs {th.max_wall_ratio:.2f}×" if _ok(row.wall_ratio) else ""),
        "nonfinite": _mark(row.checks.get("nonfinite"),
                           f"{row.nonfinite} vs ≤ {th.max_nonfinite}" if row.nonfinite is not None else ""),
    }
    return cells


@dataclass
class Table:
    """One table of the report: `key` is its HTML id, `title` the line above it."""

    key: str
    title: str
    frame: pd.DataFrame


def shown_metrics(c: Comparison) -> list[str]:
    """The metrics some row has a value for, in METRIC_LABELS order (the execution metrics only
    where runs were executed); the others are left out and named in a note."""
    return [m for m in METRIC_LABELS if any(_ok(row.cells[m].value) for row in c.rows if m in row.cells)]


def _chunks(metrics: list[str]) -> list[list[str]]:
    """The metrics split into as few tables as keep each at most METRICS_PER_TABLE wide, evenly
    (seven metrics: four and three, not five and a lone two)."""
    tables = max(1, -(-len(metrics) // METRICS_PER_TABLE))
    size = max(1, -(-len(metrics) // tables))
    return [metrics[i:i + size] for i in range(0, len(metrics), size)] or [[]]


def _label(row: ConfigRow, c: Comparison) -> str:
    return row.label + (" (baseline)" if row.label == c.baseline else "")


def _seed_count(row: ConfigRow) -> str:
    # The retrieval baseline is deterministic: it has no seed. Seed values are in the notes.
    return NA if row.label == RETRIEVAL else str(len(row.used))


def _wall(row: ConfigRow, is_base: bool) -> str:
    if row.wall_time_s is None:
        return NA
    if is_base:
        return f"1.00× ({row.wall_time_s:.0f} s)"
    if _ok(row.wall_ratio):
        return f"{row.wall_ratio:.2f}× ({row.wall_time_s:.0f} s)"
    return f"n/a ({row.wall_time_s:.0f} s)"


COST_TITLE = "Cost (training wall time; size, memory and p50 latency per model, median over seeds)"
CHECKS_TITLE = "Checks (judged on the point estimate)"
# The inference columns of the cost table: header -> ConfigRow attribute (each the median over seeds).
FIGURE_COLUMNS = {"size (MB)": "size_mb", "memory (MB)": "memory_mb", "p50 (ms)": "p50_ms"}


def comparison_tables(c: Comparison) -> list[Table]:
    """The comparison as tables whose every cell is one line: the metrics with their intervals,
    the Δs against the baseline with theirs (every row but the baseline's), then cost (wall time,
    size, memory, p50 latency, NaN/Inf steps) and the checks. Metrics go METRICS_PER_TABLE to a
    table, so no table is wider than a page."""
    chunks = _chunks(shown_metrics(c))
    tables = []
    for i, chunk in enumerate(chunks):
        records = []
        for row in c.rows:
            rec = {"configuration": _label(row, c)}
            if i == 0:
                rec["seeds"] = _seed_count(row)
            rec.update({METRIC_LABELS[m]: value_text(row.cells[m]) for m in chunk})
            records.append(rec)
        title = ("Validation metrics (points, 95% interval)" if i == 0 else
                 f"Validation metrics, continued ({i + 1}/{len(chunks)})")
        tables.append(Table("metrics" if i == 0 else f"metrics-{i + 1}", title, pd.DataFrame(records)))
    others = [row for row in c.rows if row.label != c.baseline]
    for i, chunk in enumerate(chunks):
        records = [{"configuration": row.label, **{f"Δ {METRIC_LABELS[m]}": delta_text(row.cells[m])
                                                   for m in chunk}} for row in others]
        title = (f"Δ against the baseline, {c.baseline} (points, paired 95% interval)" if i == 0 else
                 f"Δ against the baseline, continued ({i + 1}/{len(chunks)})")
        columns = ["configuration", *(f"Δ {METRIC_LABELS[m]}" for m in chunk)]  # kept when no row is left
        tables.append(Table("deltas" if i == 0 else f"deltas-{i + 1}", title, pd.DataFrame(records, columns=columns)))
    # Cost and checks are two tables: together their ten columns would not fit a 1200 px page.
    costs = [{"configuration": _label(row, c), "wall time (× baseline)": _wall(row, row.label == c.baseline),
              **{header: figure_text(getattr(row, attr)) for header, attr in FIGURE_COLUMNS.items()},
              "NaN/Inf steps": NA if row.nonfinite is None else str(row.nonfinite)} for row in c.rows]
    tables.append(Table("cost", COST_TITLE, pd.DataFrame(costs)))
    headers = check_columns(c)
    checks = [{"configuration": _label(row, c), **{headers[key]: text for key, text in _check_cells(row, c).items()}}
              for row in c.rows]
    tables.append(Table("checks", CHECKS_TITLE, pd.DataFrame(checks)))
    return tables


SHARES_TITLE = "Student/teacher (the student's figure as a share of its teacher's)"
_NAMES = {"f1": "F1", "pass_rate": "pass rate", "mutation_score": "mutation score", "memory": "memory",
          "latency": "latency"}


def _percent(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(x) >= 0.1 else f"{100 * x:.1f}%"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _shares_clause(verb: str, values: dict[str, float | None], whose: str) -> str:
    """`keeps 92% of the teacher's F1 and 88% of its pass rate (mutation score: n/a)`."""
    known = [(name, x) for name, x in values.items() if x is not None]
    missing = [_NAMES[name] for name, x in values.items() if x is None]
    if not known:
        return f"{verb} n/a of {whose} {_and(missing)}"
    parts = [f"{_percent(x)} of {whose if i == 0 else 'its'} {_NAMES[name]}" for i, (name, x) in enumerate(known)]
    return f"{verb} {_and(parts)}" + (f" ({_and(missing)}: n/a)" if missing else "")


def share_line(s: TeacherShare) -> str:
    """One configuration against its teacher, on one line: `trident-v1 (β=5) vs teacher: keeps 92%
    of the teacher's F1, 88% of its pass rate and 75% of its mutation score; costs 31% of its
    memory and 40% of its latency`. n/a where either side lacks a figure."""
    if not s.teachers:
        return f"{s.label}: n/a (its teacher is no row of this report)"
    whose = "the teacher's" if len(s.teachers) == 1 else f"its {len(s.teachers)} teachers'"
    kept = _shares_clause("keeps", {m: s.kept.get(m) for m in KEPT}, whose)
    costs = _shares_clause("costs", {n: s.costs.get(n) for n in COSTS},
                           "its" if any(s.kept.get(m) is not None for m in KEPT) else whose)
    return f"{s.label} vs {', '.join(s.teachers)}: {kept}; {costs}"


def share_lines(c: Comparison) -> list[str]:
    """The student/teacher line of every configuration; [] where the report has no teacher row."""
    return [share_line(s) for s in teacher_shares(c)]


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (pipes in cells escaped)."""
    def esc(v: object) -> str:
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(esc(c) for c in df.columns) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(esc(v) for v in rec) + " |" for rec in df.itertuples(index=False)]
    return "\n".join(lines)


def left_out(c: Comparison) -> str | None:
    """The note naming the metrics no row has (left out of the tables), or None."""
    missing = [METRIC_LABELS[m] for m in METRIC_LABELS if m not in shown_metrics(c)]
    if not missing:
        return None
    return f"not in the tables: {', '.join(missing)} (n/a in every row" + (
        "; the execution metrics need runs trained with eval.execute)"
        if set(missing) & {METRIC_LABELS[k] for k in EXECUTION_KEYS} else ")")


def legend(c: Comparison) -> str:
    if c.examples:
        how = (f"95% intervals: percentile bootstrap over the {c.examples} validation examples "
               f"({c.replicates} replicates, the same resamples for every seed and configuration; "
               "Δ intervals are paired)")
    else:
        how = "95% intervals: over seeds (no per-example predictions)"
    copying = (f" The {RETRIEVAL} row copies the assertions of the nearest training record (BM25): a "
               "configuration that does not beat it has learned nothing beyond copying; it takes no checks."
               if c.row(RETRIEVAL) is not None else "")
    teacher = (" The teacher row is the model the students were distilled from (one run: its interval covers "
               "example sampling only); it takes no checks."
               if any(row.kind == TEACHER for row in c.rows) else "")
    figures = (" Size: the model's weights on disk; memory: peak memory while generating (resident on CPU, "
               "allocated on CUDA); p50: median latency per record at batch 1 (greedy); as each run measured "
               "them in a fresh process (MB = 2^20 bytes); each the median over a row's seeds; n/a: not measured.")
    shares = (" Student/teacher: a configuration's F1, pass rate and mutation score as shares of its teacher's "
              "(the mean of its teachers' where its seeds had several), its memory and p50 latency as shares "
              "of the teacher's (their median); n/a where either lacks the figure or the teacher's is 0. "
              "The memory and latency shares compare figures each run measured on its own, not "
              "interleaved in one process: on a shared machine they are approximate." if share_lines(c) else "")
    return (f"Metrics in points (×100), mean over seeds [{how}]. Δ is against the baseline "
            f"({c.baseline}); checks are judged on the point estimate; seeds counts the runs pooled "
            f"in a row.{teacher}{copying}{figures}{shares}")


def report_notes(c: Comparison) -> list[str]:
    """The notes under the tables: first the warnings that the rows are not like for like (⚠,
    trident.analysis.differences), then the comparison's other notes, then the metrics left out."""
    extra = left_out(c)
    warnings = [n for n in c.notes if n.startswith("⚠")]
    return [*warnings, *(n for n in c.notes if not n.startswith("⚠")), *([extra] if extra else [])]


def markdown_report(c: Comparison, title: str) -> str:
    parts = [f"### {title}"]
    for table in comparison_tables(c):
        parts += ["", f"**{table.title}**", "", to_markdown(table.frame)]
    lines = share_lines(c)
    if lines:
        parts += ["", f"**{SHARES_TITLE}**", ""] + [f"- {line}" for line in lines]
    parts += ["", legend(c)]
    notes = report_notes(c)
    if notes:
        parts += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"
