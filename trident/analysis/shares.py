"""Student against teacher, as shares: what each student configuration keeps of its teacher's
F1, pass rate and mutation score, and what it costs of its teacher's memory and latency.

A configuration's teacher is the teacher row (or rows) its runs' summaries name: the row whose
run directory holds the model folder a student was distilled from. Where a configuration's
seeds were distilled from several teachers (each seed its own), the teacher's figure is the
mean of those teachers' metrics and the median of their inference figures, as a row pools its
own seeds. A share is the student's figure over the teacher's; it is None (n/a) where either
figure is missing, or the teacher's is 0 (a share of nothing).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import median

from trident.analysis.compare import Comparison, ConfigRow
from trident.analysis.sources import TEACHER, teacher_dir

KEPT = ("f1", "pass_rate", "mutation_score")  # metrics whose share the student keeps
COSTS = {"memory": "memory_mb", "latency": "p50_ms"}  # what it costs, by ConfigRow attribute


@dataclass
class TeacherShare:
    """One configuration against its teacher(s); shares as fractions (0.92: 92%), None: n/a."""

    label: str
    teachers: list[str]  # the teacher rows' labels ([] where its teacher is no row here)
    kept: dict[str, float | None] = field(default_factory=dict)  # KEPT metric -> student / teacher
    costs: dict[str, float | None] = field(default_factory=dict)  # COSTS name -> student / teacher


def share(student: float | None, teacher: float | None) -> float | None:
    if student is None or teacher is None or not (math.isfinite(student) and math.isfinite(teacher)):
        return None
    return student / teacher if teacher > 0 else None


def _teacher_rows(row: ConfigRow, teachers: list[ConfigRow]) -> list[ConfigRow]:
    named = {teacher_dir(r.teacher) for r in row.used if r.teacher}
    return [t for t in teachers if any(r.run_dir is not None and r.run_dir.resolve() in named for r in t.runs)]


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(median(known)) if known else None


def teacher_shares(c: Comparison) -> list[TeacherShare]:
    """One TeacherShare per configuration (not the teacher or retrieval rows), in table order;
    [] where the comparison has no teacher row at all."""
    teachers = [row for row in c.rows if row.kind == TEACHER]
    if not teachers:
        return []
    out = []
    for row in (r for r in c.rows if not r.reference):
        mine = _teacher_rows(row, teachers)
        result = TeacherShare(row.label, [t.label for t in mine])
        for metric in KEPT:
            student = row.cells[metric].value if metric in row.cells else None
            teacher = _mean([t.cells[metric].value if metric in t.cells else None for t in mine])
            result.kept[metric] = share(student, teacher)
        for name, attr in COSTS.items():
            result.costs[name] = share(getattr(row, attr), _median([getattr(t, attr) for t in mine]))
        out.append(result)
    return out
