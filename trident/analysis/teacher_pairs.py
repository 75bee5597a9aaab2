"""Students against their teachers: each student run's metrics beside its teacher's, as a DataFrame.

A student's summary.json names its teacher's model folder (`teacher`: the teacher stage's
`<runs_dir>/teacher-<key>/model`, or `model.teacher_checkpoint` as given), written relative
to where it was trained unless absolute. That folder's parent is the teacher's run directory
when it holds a teacher's summary.json. The pairs compared, for each student:

  - validation at the end of training (`evaluated_by` = training): the student's
    summary.json val_metrics against its teacher run's;
  - each split `trident evaluate` scored (`evaluated_by` = evaluate): the student's
    eval/<split>/metrics.json against eval/<split>-teacher/metrics.json beside it (written by
    `--with-teacher`: the teacher on the same records and settings), else the teacher run's own
    eval/<split>/metrics.json.

Record counts travel with the values (student_records, teacher_records): a pair scored on
different records says so in the frame's problems.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from trident.analysis.histories import run_paths, with_problems
from trident.analysis.sources import resolve_run_dir
from trident.errors import RunDirError
from trident.metrics import EXECUTION_KEYS, REPORTED_KEYS
from trident.rundir import METRICS_FILE, RunDir, Summary, read_summary

COLUMNS = ["student", "teacher", "split", "evaluated_by", "metric", "student_value", "teacher_value", "delta",
           "student_records", "teacher_records", "student_parameters", "teacher_parameters", "student_file",
           "teacher_file"]
METRICS = (*REPORTED_KEYS, *EXECUTION_KEYS)


def teacher_run_dir(summary: Summary, roots: Sequence[Path]) -> Path | None:
    """The teacher's run directory for a student's summary, or None where its teacher is no
    trident teacher run (a checkpoint given as model.teacher_checkpoint, or one moved away)."""
    if not summary.teacher:
        return None
    # the run directory is looked for, not the model: a teacher's model may have been cleared away
    run = RunDir(resolve_run_dir(str(Path(summary.teacher).parent), roots))
    try:
        return run.root if read_summary(run).role == "teacher" else None
    except RunDirError:
        return None


def _metrics_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _eval_splits(run: RunDir) -> list[str]:
    """The splits `trident evaluate` scored the run on (eval/<split>/metrics.json)."""
    folder = run.root / "eval"
    return sorted(p.parent.name for p in folder.glob(f"*/{METRICS_FILE}")
                  if not p.parent.name.endswith(("-teacher", "-retrieval"))) if folder.is_dir() else []


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def student_teacher(run_dirs: Sequence[str | Path], roots: Sequence[Path] | None = None,
                    metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """One row per (student, split, evaluated_by, metric) that the student has a value for (see
    the module's docstring); the teacher's value is empty where it has none, and the problems say
    why. Run directories that are not students (teachers, baselines, unfinished runs) are named in
    the problems and left out."""
    roots = list(roots or [Path.cwd()])
    rows: list[dict[str, Any]] = []
    found: list[str] = []
    for path in run_paths(run_dirs):
        paths = RunDir(path)
        try:
            summary = read_summary(paths)
        except RunDirError as exc:
            found.append(f"{paths.name}: {exc}; not compared")
            continue
        if summary.role != "student":
            found.append(f"{paths.name}: a {summary.role} run, not a student; not compared")
            continue
        teacher_dir = teacher_run_dir(summary, roots)
        teacher_summary = read_summary(RunDir(teacher_dir)) if teacher_dir else None
        teacher = teacher_dir.name if teacher_dir else str(summary.teacher)
        if teacher_dir is None:
            found.append(f"{paths.name}: its teacher {summary.teacher} is not a trident teacher run here: "
                         "only eval/<split>-teacher results can be compared")
        pairs = [("val", "training", summary.val_metrics, summary.val_records, paths.summary,
                  teacher_summary.val_metrics if teacher_summary else None,
                  teacher_summary.val_records if teacher_summary else None,
                  RunDir(teacher_dir).summary if teacher_dir else None)]
        for split in _eval_splits(paths):
            mine = _metrics_file(paths.metrics(split))
            if mine is None:
                found.append(f"{paths.name}: {paths.metrics(split)} is unreadable; not compared")
                continue
            theirs_path = paths.metrics(split, teacher=True)
            if not theirs_path.exists() and teacher_dir is not None:
                theirs_path = RunDir(teacher_dir).metrics(split)
            theirs = _metrics_file(theirs_path) if theirs_path.exists() else None
            if theirs is None:
                found.append(f"{paths.name}: no teacher result on {split} (run `trident evaluate --run "
                             f"{paths.root} --split {split} --with-teacher`)")
            pairs.append((split, "evaluate", mine, mine.get("records"), paths.metrics(split), theirs,
                          theirs.get("records") if theirs else None, theirs_path if theirs else None))
        for split, by, mine, n_mine, mine_file, theirs, n_theirs, theirs_file in pairs:
            if theirs is not None and n_mine is not None and n_theirs is not None and n_mine != n_theirs:
                found.append(f"{paths.name}: on {split} ({by}) the student was scored on {n_mine} records and "
                             f"its teacher on {n_theirs}: not the same examples")
            for metric in metrics:
                if mine.get(metric) is None:
                    continue
                value, other = _number(mine[metric]), _number((theirs or {}).get(metric))
                rows.append({"student": paths.name, "teacher": teacher, "split": split, "evaluated_by": by,
                             "metric": metric, "student_value": value, "teacher_value": other,
                             "delta": value - other, "student_records": n_mine,
                             "teacher_records": n_theirs if theirs is not None else None,
                             "student_parameters": summary.student_parameters,
                             "teacher_parameters": summary.teacher_parameters,
                             "student_file": str(mine_file), "teacher_file": str(theirs_file) if theirs_file else None})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("student_records", "teacher_records", "student_parameters", "teacher_parameters"):
        frame[column] = frame[column].astype("Int64")
    return with_problems(frame, found)
