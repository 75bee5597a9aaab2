"""A run's inference figures, as training and `trident evaluate` keep them in summary.json
(`inference`, written by trident.inference_figures): parameters, bytes on disk, peak memory
(resident on CPU, allocated on CUDA), latency at batch 1 (p50, p95), throughput, and the
device, threads, records, warm-up and batch size they were measured with.

Read tolerantly: a run without them (an older run, the retrieval baseline, one evaluated with
`--eval.speed=false`) has none, and every table shows n/a for it, never 0. A figure that is
there but is not a finite, non-negative number is n/a too, and named as a problem of the run
(the report lists it), never dropped silently. Where a row pools several runs (seeds) the row
shows each figure's median over the runs that have it: the figures describe one model, and
the median of two is their mean while one slow outlier does not move the median of three.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Any, Iterable, Optional

from trident.rundir import Summary

KEY = "inference"  # the summary.json key
MB = 2 ** 20  # bytes per MB in the tables, as peak_rss_mb counts (MiB)
_NUMBERS = ("params", "bytes_on_disk", "peak_rss_mb", "latency_p50_ms", "latency_p95_ms", "records_per_s",
            "tokens_per_s", "threads", "records", "warmup", "batch_size")
_INTS = ("params", "bytes_on_disk", "threads", "records", "warmup", "batch_size")
_REQUIRED = ("bytes_on_disk", "peak_rss_mb", "latency_p50_ms")  # the shown ones: their absence is a problem


@dataclass(frozen=True)
class ReportFigures:
    """One model's inference figures as a report reads them: the fields of
    trident.inference_figures.InferenceFigures (the writer's strict contract), each None where
    it is missing or not a usable number, so that one bad figure is n/a instead of the run's
    whole report failing."""

    params: Optional[int] = None
    bytes_on_disk: Optional[int] = None
    peak_rss_mb: Optional[float] = None
    latency_p50_ms: Optional[float] = None
    latency_p95_ms: Optional[float] = None
    records_per_s: Optional[float] = None
    tokens_per_s: Optional[float] = None
    device: Optional[str] = None
    threads: Optional[int] = None
    records: Optional[int] = None
    warmup: Optional[int] = None
    batch_size: Optional[int] = None

    @property
    def size_mb(self) -> Optional[float]:
        return None if self.bytes_on_disk is None else self.bytes_on_disk / MB


def summary_inference(summary: Summary) -> Any:
    """The raw `inference` value of a summary (None where the run has none: older runs, the
    retrieval baseline, --eval.speed=false)."""
    return summary.inference


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def parse_inference(raw: Any, where: str) -> tuple[Optional[ReportFigures], list[str]]:
    """(figures, problems) from a summary's `inference` value; (None, []) where it has none.
    `where` names the file in the problems ("runs/x/summary.json")."""
    if raw is None:
        return None, []
    if not isinstance(raw, dict):
        return None, [f"{where}: `{KEY}` is a {type(raw).__name__}, not a mapping; its size, memory and latency "
                      "are n/a"]
    problems, values = [], {}
    for name in _NUMBERS:
        if name not in raw or raw[name] is None:
            if name in _REQUIRED:
                problems.append(f"{where}: `{KEY}.{name}` is missing; shown as n/a")
            continue
        number = _number(raw[name])
        if number is not None and name in _INTS and not number.is_integer():
            number = None
        if number is None:
            problems.append(f"{where}: `{KEY}.{name}` is {raw[name]!r}, not a finite number ≥ 0"
                            f"{' (a whole one)' if name in _INTS else ''}; shown as n/a")
            continue
        values[name] = int(number) if name in _INTS else number
    device = raw.get("device")
    return ReportFigures(**values, device=None if device is None else str(device)), problems


def read_inference(summary: Summary, where: str) -> tuple[Optional[ReportFigures], list[str]]:
    return parse_inference(summary_inference(summary), where)


def figure_text(x: Optional[float], na: str = "n/a") -> str:
    """A figure as the tables show it: three significant digits, more above 1000 (0.00412, 0.412,
    4.12, 41.2, 412, 4123), so that a tiny model's size never prints as 0; `na` where it was not
    measured."""
    if x is None or not math.isfinite(x):
        return na
    x = x if x >= 100 else float(f"{x:.3g}")  # rounded first: 9.999 is 10.0, not 10.00
    if x >= 100 or x == 0:
        return f"{x:.0f}"
    return f"{x:.{2 - math.floor(math.log10(abs(x)))}f}"


def median_figure(figures: Iterable[Optional[ReportFigures]], name: str) -> Optional[float]:
    """The median of one figure (a ReportFigures field or property) over the runs that have
    it; None where none has."""
    known = [v for f in figures if f is not None and (v := getattr(f, name)) is not None]
    return float(median(known)) if known else None


# What the figures were measured with: rows measured differently are not like for like.
SETTINGS = ("device", "threads", "records", "warmup")


def measured_apart(rows: Iterable[tuple[str, Iterable[Any]]]) -> list[str]:
    """A warning (starting with ⚠, as trident.analysis.differences words them) naming each
    measurement setting in which the rows' inference figures differ, with every row's values
    ("4/8" where a row's own runs differ); [] when they agree. `rows` are (label, runs) pairs;
    a run is anything with an `inference` attribute (RunData)."""
    values: dict[str, dict[str, tuple[str, ...]]] = {}
    for label, runs in rows:
        figures = [r.inference for r in runs if r.inference is not None]
        for setting in SETTINGS:
            seen = tuple(sorted({str(v) for f in figures if (v := getattr(f, setting)) is not None}))
            if seen:
                values.setdefault(setting, {})[label] = seen
    found = []
    for setting, per_row in values.items():
        if len(set(per_row.values())) > 1 or any(len(v) > 1 for v in per_row.values()):
            shown = "; ".join(f"{label} {'/'.join(v)}" for label, v in per_row.items())
            found.append(f"{setting} ({shown})")
    if not found:
        return []
    return ["⚠ the rows' size, memory and latency were measured with different settings: " + ", ".join(found)]
