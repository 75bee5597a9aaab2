"""Before/after report: every configuration of a sweep against one baseline (--baseline), ready for a PR.

    python analysis/report.py                                           # the newest sweeps/studies/before-after*.db
    python analysis/report.py --study before-after-smoke --storage sqlite:////tmp/ba.db
    python analysis/report.py --study methods --baseline trident-v1
    python analysis/report.py --runs runs/legacy runs/trident runs/trident-v1
    python analysis/report.py --runs runs/h-s0 runs/h-s1 runs/v1-s0 --label 'h-*=trident-v1-hidden'
    python analysis/report.py --wandb ENTITY/PROJECT --sweep SWEEP_ID

A configuration is the preset a run was trained from: the stem of the config file a sweep's
`config` parameter names (legacy, trident, trident-v1, trident-v1-hidden, ...), whatever the
presets are; with β where the loss has a semantic term ("trident-v1 (β=5)"; trident, whose
β = 1 is part of its definition, shows none). Each configuration is one row, compared with
the baseline: `--baseline trident-v1` names a preset (or a row exactly, "trident-v1 (β=5)"),
and one that matches no row is an error that lists the rows there are. Run directories
(`--runs`) record no config file: a run is legacy, trident or trident-v1 when its loss
components are exactly those, else the preset in experiments/ with exactly its components,
else its own name; `--label DIR=LABEL` names it outright.

Besides the configurations, the table has a row for the teacher the students were distilled
from (found through their summaries; one row per teacher where they differ) and, where the
sweep recorded one, the retrieval baseline, last; neither takes checks.

Writes `<out>/report.md` (the Markdown tables, also printed), `<out>/report.html` (a
self-contained page: plotly.js inline, no network needed, its tables fit 1200 px) and one PNG
per figure (kaleido with a local Chrome/Chromium; skipped with a message when there is none).
Every cell is one line: the metrics with their intervals in one table, the Δs against the
baseline in a second, cost (wall time; size, memory and p50 latency from each run's
`inference` figures) and checks after them, then one student/teacher line per configuration:
the share of its teacher's F1, pass rate and mutation score it keeps, and of its teacher's
memory and latency it costs (see trident/analysis/comparison_table.py, shares.py).
The notes say where the rows differ in more than their configuration: training steps, data,
teacher, seed count (trident/analysis/differences.py).

Intervals: with run directories (`--runs`, or a study whose trials point at them) every
metric has a 95% percentile bootstrap interval over validation examples, pooled over seeds,
and every Δ against the baseline a paired one (see trident/analysis/stats.py). W&B holds no
per-example predictions, so with `--wandb` intervals come from the seeds alone: a Student-t
interval of the mean over seeds, and a seed bootstrap for Δs; with one seed there is none.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from trident.analysis import figures as fg
from trident.analysis.compare import BaselineError, Comparison, Thresholds, compare
from trident.analysis.sources import (BASELINE, RunData, load_run_dir, load_study, runs_from_study, study_names,
                                      teacher_runs)
from trident.analysis.comparison_table import comparison_tables, legend, markdown_report, report_notes, share_lines
from trident.io import atomic_write_text

STUDIES = Path("sweeps") / "studies"  # where `trident sweep` keeps its embedded study files


class ReportError(Exception):
    pass


@dataclass
class Report:
    comparison: Comparison
    markdown: str
    html_path: Path
    markdown_path: Path
    figure_keys: list[str]
    pngs: list[Path]
    figures: fg.Figures
    messages: list[str] = field(default_factory=list)  # every gap, warning or skipped output, in words


def latest_before_after() -> tuple[str, str]:
    """(study name, storage URL) of the newest sweeps/studies/before-after*.db."""
    candidates = sorted(STUDIES.glob("before-after*.db"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not candidates:
        raise ReportError(f"no before/after study in {STUDIES} (before-after*.db): run `make sweep-before-after`, "
                          "or pass --study/--storage, --runs or --wandb")
    storage = f"sqlite:///{candidates[0]}"
    names = study_names(storage)
    preferred = [n for n in names if n.startswith("before-after")] or names
    if not preferred:
        raise ReportError(f"{candidates[0]} holds no study")
    return (candidates[0].stem if candidates[0].stem in preferred else preferred[0]), storage


def _aux_study(spec: str | None, name: str):
    """The beta/contrastive study: an explicit storage URL, 'none', or the default file if it exists."""
    if spec == "none":
        return None
    storage = spec or (f"sqlite:///{STUDIES / (name + '.db')}" if (STUDIES / f"{name}.db").exists() else None)
    if storage is None:
        return None
    try:
        return load_study(name, storage)
    except KeyError:
        return None


def _unique_names(runs: list[RunData]) -> None:
    # Results are keyed by run name: two directories called `legacy` in different places must not merge.
    seen: dict[str, int] = {}
    for r in runs:
        seen[r.name] = seen.get(r.name, 0) + 1
    for r in runs:
        if seen[r.name] > 1 and r.run_dir is not None:
            r.name = f"{r.run_dir.parent.name}/{r.run_dir.name}"


def run_labels(dirs: Sequence[str], specs: Sequence[str]) -> dict[str, str]:
    """`--label DIR=LABEL` for `--runs`: DIR is a directory as given, the same path written
    otherwise, or a directory name, which may be a glob (`h-*`); the last match wins. A spec
    that names none of the directories is an error, not a label silently unused."""
    out: dict[str, str] = {}
    for spec in specs:
        pattern, sep, label = spec.rpartition("=")
        if not sep or not pattern or not label.strip():
            raise ReportError(f"--label {spec!r}: expected DIR=LABEL (e.g. runs/h-s0=trident-v1-hidden)")
        hits = [d for d in dirs if d == pattern or Path(d).resolve() == Path(pattern).resolve()
                or fnmatch.fnmatchcase(Path(d).name, pattern)]
        if not hits:
            raise ReportError(f"--label {spec!r}: {pattern} is none of the --runs directories "
                              f"({', '.join(dirs)})")
        for d in hits:
            out[d] = label.strip()
    return out


def collect(args: argparse.Namespace) -> tuple[list[RunData], dict[str, Any], str, list[str]]:
    """(runs, studies by role, title, notes on trials left out)."""
    roots = [Path.cwd()]  # run directories are recorded relative to where the sweep ran
    studies: dict[str, Any] = {}
    notes: list[str] = []
    labels = getattr(args, "label", None) or []
    if labels and not args.runs:
        raise ReportError("--label applies to --runs only (a study or W&B sweep names its configurations)")
    if args.runs:
        given = run_labels(args.runs, labels)
        runs = [load_run_dir(Path(p), label=given.get(p)) for p in args.runs]
        title = "Before/after: " + ", ".join(Path(p).name for p in args.runs)
    elif args.wandb:
        if not args.sweep:
            raise ReportError("--wandb ENTITY/PROJECT needs --sweep SWEEP_ID")
        from trident.analysis.wandb_source import runs_from_wandb

        try:
            runs = runs_from_wandb(args.wandb, args.sweep, Path.cwd())
        except Exception as exc:  # no login, no network, no such sweep: say so instead of a traceback
            raise ReportError(f"could not read W&B sweep {args.wandb}/{args.sweep}: {type(exc).__name__}: {exc}") from exc
        title = f"Before/after: W&B sweep {args.wandb}/{args.sweep}"
    else:
        if args.study:
            name, storage = args.study, args.storage or f"sqlite:///{STUDIES / (args.study + '.db')}"
        else:
            name, storage = latest_before_after()
        try:
            study = load_study(name, storage)
        except KeyError as exc:
            raise ReportError(f"no study {name!r} in {storage}") from exc
        studies["main"] = study
        runs, notes = runs_from_study(study, roots)
        title = f"Before/after: study {name}"
    teachers, missing = teacher_runs(runs)  # the teacher's row: where the students started from
    runs += teachers
    notes += missing
    for role in ("beta", "contrastive"):
        study = _aux_study(getattr(args, f"{role}_storage"), role)
        if study is not None and all(study.study_name != s.study_name for s in studies.values()):
            studies[role] = study
    _unique_names(runs)
    return runs, studies, title, notes


def build_report(args: argparse.Namespace, out_stream=None, err_stream=None) -> Report:
    runs, studies, title, notes = collect(args)
    if not runs:
        raise ReportError("no runs to report on")
    thresholds = Thresholds(min_f1_delta=args.min_f1_delta / 100, min_ast_delta=args.min_ast_delta / 100,
                            max_wall_ratio=args.max_wall_ratio, max_nonfinite=args.max_nonfinite)
    semantic_model = None if args.semantic_model == "none" else args.semantic_model
    try:
        comparison = compare(runs, baseline=args.baseline, replicates=args.bootstrap, seed=args.seed,
                             thresholds=thresholds, semantic_model=semantic_model)
    except BaselineError as exc:  # checked before any statistics are computed
        raise ReportError(f"--baseline: {exc}") from exc
    comparison.notes = notes + comparison.notes
    problems = [p for r in runs for p in r.problems]
    for p in problems:  # data gaps also go in the table's notes: the PR reader sees them too
        if p not in comparison.notes:
            comparison.notes.append(p)
    out = Path(args.out)
    markdown = markdown_report(comparison, title)
    md_path = out / "report.md"
    atomic_write_text(md_path, markdown)
    figs = fg.build(comparison, studies, [Path.cwd()], args.bootstrap, args.seed)
    html_path = out / "report.html"
    atomic_write_text(html_path, fg.page(title, comparison_tables(comparison), legend(comparison),
                                         report_notes(comparison), problems, figs, share_lines(comparison)))
    messages = [f"warning: {p}" for p in problems]
    pngs: list[Path] = []
    if args.png:
        pngs, why = fg.write_pngs(figs, out)
        if why:
            messages.append(why)
    for m in messages:
        print(m, file=err_stream or sys.stderr)
    print(markdown, file=out_stream or sys.stdout)
    print(f"wrote {md_path}, {html_path}" + (f" and {len(pngs)} PNGs in {out}" if pngs else ""),
          file=out_stream or sys.stdout)
    return Report(comparison, markdown, html_path, md_path, fg.figure_keys(figs), pngs, figs, messages)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python analysis/report.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--study", help="Optuna study name (default: the newest sweeps/studies/before-after*.db)")
    src.add_argument("--runs", nargs="+", metavar="DIR", help="explicit run directories")
    p.add_argument("--label", action="append", metavar="DIR=LABEL",
                   help="with --runs: the configuration of run directory DIR (a path as given, or a directory "
                        "name; globs such as 'h-*' allowed), instead of the one its loss components suggest; "
                        "repeatable")
    src.add_argument("--wandb", metavar="ENTITY/PROJECT", help="a W&B project; with --sweep")
    p.add_argument("--storage", help="Optuna storage URL for --study (default sqlite:///sweeps/studies/<study>.db)")
    p.add_argument("--sweep", metavar="ID", help="W&B sweep id, with --wandb")
    p.add_argument("--out", default="reports", help="output folder (default reports)")
    p.add_argument("--baseline", default=BASELINE,
                   help="configuration every other is judged against: a preset (trident-v1, "
                        "experiments/trident-v1.yaml) or a row's label, 'trident-v1 (β=5)' (default trident)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    p.add_argument("--min-f1-delta", type=float, default=0.5, help="success: ΔF1 ≥ this, in points (+0.5)")
    p.add_argument("--min-ast-delta", type=float, default=0.0,
                   help="success: Δ AST validity ≥ this, in points (0: at least the baseline)")
    p.add_argument("--max-wall-ratio", type=float, default=1.10, help="success: wall time ≤ this × baseline (1.10)")
    p.add_argument("--max-nonfinite", type=int, default=0, help="success: at most this many NaN/Inf steps (0)")
    p.add_argument("--semantic-model", default="all-MiniLM-L6-v2",
                   help="sentence encoder for semantic similarity ('none' to leave it out)")
    p.add_argument("--beta-storage", help="storage of the beta study for F1 vs β "
                   "(default sqlite:///sweeps/studies/beta.db if present; 'none' to leave out)")
    p.add_argument("--contrastive-storage", help="storage of the contrastive study for the schedule × τ heatmap "
                   "(default sqlite:///sweeps/studies/contrastive.db if present; 'none' to leave out)")
    p.add_argument("--no-png", dest="png", action="store_false", help="skip the PNG export")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # The sentence encoder's loading bar would sit between the warnings and the table.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    args = parser().parse_args(argv)
    try:
        build_report(args)
    except ReportError as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
