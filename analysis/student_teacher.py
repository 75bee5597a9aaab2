"""`python analysis/student_teacher.py …`: student runs' metrics beside their teachers'.

    python analysis/student_teacher.py --runs runs/trident-v1 runs/legacy
    python analysis/student_teacher.py --study beta                   # every trial's student run

A student's summary.json names its teacher's model folder; the folder above it is the
teacher's run directory. Compared: validation at the end of training (both summaries), and
each split `trident evaluate` scored (eval/<split>/metrics.json against the teacher's result
on it: eval/<split>-teacher/ from `--with-teacher`, else the teacher run's eval/<split>/).
Writes <out>/student_teacher.csv (one row per student, split and metric: student_value,
teacher_value, delta, the record counts and parameter counts, the files read) and
<out>/student_teacher.html. Run from the repository root; the code is
trident.analysis.teacher_pairs.
"""
import argparse
import sys
from pathlib import Path

# Run as a script from a checkout: the checkout's trident, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trident.analysis import histories as h  # noqa: E402
from trident.analysis.history_figures import student_teacher_figure, write_outputs  # noqa: E402
from trident.analysis.script_support import OUT, default_storage, run_script, warn  # noqa: E402
from trident.analysis.teacher_pairs import METRICS, student_teacher  # noqa: E402
from trident.errors import DataError  # noqa: E402

PROG = "student_teacher"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python analysis/student_teacher.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--runs", nargs="+", metavar="DIR", help="student run directories")
    src.add_argument("--study", help="an Optuna study: its completed trials' run directories")
    p.add_argument("--storage", help="storage URL of --study (default sqlite:///sweeps/studies/<study>.db)")
    p.add_argument("--metric", action="append", choices=METRICS, metavar="METRIC",
                   help=f"a metric to compare (repeatable; default every one there is: {', '.join(METRICS)})")
    p.add_argument("--out", default=str(OUT), help=f"output folder (default {OUT})")
    return p


def build(args: argparse.Namespace) -> list[Path]:
    notes: list[str] = []
    if args.runs:
        dirs = h.run_paths(args.runs)
    else:
        runs, notes = h.study_runs(args.study, args.storage or default_storage(args.study))
        dirs = [r.run_dir for r in runs if r.run_dir is not None and r.run_dir.is_dir()]
        notes += [f"{r.name}: no run directory ({r.run_dir}); not compared" for r in runs
                  if r.run_dir is None or not r.run_dir.is_dir()]
    pairs = student_teacher(dirs, metrics=args.metric or METRICS)
    warn(PROG, notes + h.problems(pairs))
    if pairs.empty:
        raise DataError("no student run with metrics among those given")
    return write_outputs(args.out, "student_teacher", pairs, student_teacher_figure(pairs),
                         "Students against their teachers")


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.storage and not args.study:
        p.error("--storage goes with --study")
    return run_script(PROG, lambda: build(args))


if __name__ == "__main__":
    sys.exit(main())
