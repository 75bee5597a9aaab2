"""The comparison as a Markdown table (for a PR) and as a pandas DataFrame (for HTML).

Metrics are shown in points (×100, 0-100); a missing value is "n/a", never a guess.
"""
from __future__ import annotations

import math

import pandas as pd

from trident.baseline import LABEL as RETRIEVAL
from trident.analysis.compare import METRIC_LABELS, Cell, Comparison, ConfigRow

NA = "n/a"


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _pts(x: float | None, signed: bool = False, digits: int = 1) -> str:
    if not _ok(x):
        return NA
    return f"{100 * x:+.{digits}f}" if signed else f"{100 * x:.{digits}f}"


def metric_text(cell: Cell, is_baseline: bool, sep: str = "<br>") -> str:
    if not _ok(cell.value):
        return NA
    text = _pts(cell.value)
    if _ok(cell.lo) and _ok(cell.hi):
        text += f" [{_pts(cell.lo)}, {_pts(cell.hi)}]"
    if cell.delta is not None and not is_baseline:
        d = cell.delta
        text += f"{sep}Δ {_pts(d.value, True, 2)}"
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


def comparison_frame(c: Comparison, sep: str = "<br>") -> pd.DataFrame:
    """One row per configuration, every cell already formatted."""
    headers = check_columns(c)
    records = []
    for row in c.rows:
        is_base = row.label == c.baseline
        rec = {"configuration": row.label + (" (baseline)" if is_base else ""),
               "seeds": ", ".join(str(s) for s in row.seeds if s is not None) or NA}
        for metric, title in METRIC_LABELS.items():
            rec[title] = metric_text(row.cells[metric], is_base, sep)
        if row.wall_time_s is None:
            rec["wall time (× baseline)"] = NA
        elif is_base:
            rec["wall time (× baseline)"] = f"1.00× ({row.wall_time_s:.0f} s)"
        elif _ok(row.wall_ratio):
            rec["wall time (× baseline)"] = f"{row.wall_ratio:.2f}× ({row.wall_time_s:.0f} s)"
        else:
            rec["wall time (× baseline)"] = f"n/a ({row.wall_time_s:.0f} s)"
        rec["NaN/Inf steps"] = NA if row.nonfinite is None else str(row.nonfinite)
        for key, text in _check_cells(row, c).items():
            rec[headers[key]] = text
        records.append(rec)
    return pd.DataFrame(records)


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (pipes in cells escaped)."""
    def esc(v: object) -> str:
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(esc(c) for c in df.columns) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(esc(v) for v in rec) + " |" for rec in df.itertuples(index=False)]
    return "\n".join(lines)


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
    return (f"Metrics in points (×100), mean over seeds [{how}]. Δ is against the baseline "
            f"({c.baseline}); checks are judged on the point estimate.{copying}")


def markdown_report(c: Comparison, title: str) -> str:
    parts = [f"### {title}", "", to_markdown(comparison_frame(c)), "", legend(c)]
    if c.notes:
        parts += ["", "Notes:", ""] + [f"- {n}" for n in c.notes]
    return "\n".join(parts) + "\n"
