"""Where a report's runs come from: run directories, an Optuna study, or a W&B sweep.

Every source builds the same in-memory `RunData`: a configuration label, a seed, final
validation metrics, the step history and (run directories only) the per-example validation
predictions, the resolved config and what the summary says was trained (steps, records,
teacher). A file that is missing or damaged is recorded as a `problem` on the run, in words
that name the run and the file, and the rest of the run is still used: a report should show
what it has and mark the gap, never stop at the first bad file or fill it in.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import yaml

from trident.baseline import LABEL as RETRIEVAL, ROLE as BASELINE_ROLE
from trident.analysis.inference import ReportFigures, read_inference
from trident.errors import RunDirError
from trident.metrics import REPORTED_KEYS
from trident.rundir import RunDir, Summary, read_summary

BASELINE = "trident"
TEACHER = "teacher"  # the row of the teacher the students were distilled from (Summary.role "teacher")
METRIC_KEYS = REPORTED_KEYS
EXPERIMENTS = Path("experiments")  # the preset files a sweep's `config` parameter names

# The loss components of the three original presets, recognised exactly (legacy also stands
# for experiments/smoke.yaml, which has the same loss).
PRESET_COMPONENTS: dict[str, frozenset[str]] = {
    "legacy": frozenset({"ce", "kl"}),
    "trident": frozenset({"focal", "jsd", "semantic", "pans", "ast"}),
    "trident-v1": frozenset({"focal", "jsd", "semantic", "pans", "ast", "contrastive"}),
}
# Labels whose table name leaves out β: legacy has no semantic term, and trident's β = 1 is
# part of its definition. Every other configuration with a semantic term shows its β, so runs
# of one preset at different β (a sweep over loss.semantic_loss_scale) are never pooled.
NO_BETA_LABELS = ("legacy", "trident")


@dataclass
class RunData:
    name: str
    label: str  # configuration: the stem of its preset file (legacy, trident-v1-hidden, ...) or a given name
    seed: int | None = None
    beta: float | str | None = None  # loss.semantic_loss_scale where the loss has a semantic term
    run_dir: Path | None = None
    source: str = "runs"  # runs | study | wandb
    finished: bool = False  # summary.json present (written last: a run without it did not finish)
    metrics: dict[str, float] = field(default_factory=dict)  # final validation metrics, 0-1
    wall_time_s: float | None = None
    global_step: int | None = None
    nonfinite_skipped: int | None = None  # steps skipped as non-finite, per the summary
    nonfinite_logged: int | None = None  # rows of step history whose loss_total is NaN/Inf
    steps: pd.DataFrame | None = None  # step history: step, loss_total, <component>/raw, ...
    predictions: list[dict] | None = None  # eval/val/predictions.jsonl rows
    execution: list[dict] | None = None  # eval/val/execution.jsonl rows (runs with eval.execute)
    params: dict[str, Any] = field(default_factory=dict)  # sweep parameters (study/W&B)
    problems: list[str] = field(default_factory=list)
    role: str | None = None  # Summary.role: student, teacher or baseline (None: not known)
    config: dict | None = None  # the resolved config.yaml (run directories only)
    max_steps: int | None = None  # optimizer steps planned, per the summary
    train_records: int | None = None  # training records it was trained on (after data.train_fraction)
    val_records: int | None = None  # validation records it was scored on
    teacher: str | None = None  # a student's teacher: the model folder its summary names
    inference: ReportFigures | None = None  # size, memory, latency (summary.json `inference`), if measured

    @property
    def display(self) -> str:
        """Configuration label as shown in tables: with its β ("trident-v1 (β=5)",
        "trident-v1-hidden (β=5)") wherever the loss has a semantic term, except trident."""
        if self.label not in NO_BETA_LABELS and self.beta is not None:
            return f"{self.label} (β={_fmt_beta(self.beta)})"
        return self.label

    @property
    def nonfinite_steps(self) -> int | None:
        """Non-finite steps by every account available (the larger; a skipped step is also logged)."""
        known = [v for v in (self.nonfinite_skipped, self.nonfinite_logged) if v is not None]
        return max(known) if known else None


def _fmt_beta(beta: float | str) -> str:
    if isinstance(beta, float) and beta.is_integer():
        return str(int(beta))
    return str(beta)


def preset_components(root: Path | None = None) -> dict[str, frozenset[str]]:
    """Loss components of every preset file in `<root>/experiments` (default: the working
    directory's), by file stem; unreadable files are passed over."""
    folder = (root or Path.cwd()) / EXPERIMENTS
    out: dict[str, frozenset[str]] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            cfg = yaml.safe_load(path.read_text()) or {}
            comps = (cfg.get("loss") or {}).get("components") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if isinstance(comps, dict) and comps:
            out[path.stem] = frozenset(comps)
    return out


def preset_config(label: str, root: Path | None = None) -> dict | None:
    """The preset file `<root>/experiments/<label>.yaml` as a mapping; None where there is no
    such file or it cannot be read (a label that is no preset's)."""
    path = (root or Path.cwd()) / EXPERIMENTS / f"{label}.yaml"
    try:
        cfg = yaml.safe_load(path.read_text()) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return None
    return cfg if isinstance(cfg, dict) else None


def label_from_components(components: Iterable[str], fallback: str, root: Path | None = None) -> str:
    """The preset a loss is, for runs whose config file is unknown: exactly legacy ({ce, kl}),
    trident ({focal, jsd, semantic, pans, ast}) or trident-v1 (trident + contrastive); else the
    one preset file in experiments/ with exactly these components (trident-v1-hidden: trident-v1
    + hidden); else `fallback` (the run's own name), so that a loss no preset has is a row of its
    own instead of being merged into the preset it resembles."""
    names = frozenset(components)
    if not names:
        return fallback
    for label, comps in PRESET_COMPONENTS.items():
        if names == comps:
            return label
    matches = [stem for stem, comps in preset_components(root).items() if comps == names]
    return matches[0] if len(matches) == 1 else fallback


def fallback_label(cfg_name: Any, run_name: str, root: Path | None = None) -> str:
    """A run's own label where its loss is no preset's: its config's `name`, unless that is a
    preset's name (a preset run with components added or taken away must not join that
    preset's row), else the run directory's name."""
    if (isinstance(cfg_name, str) and cfg_name.strip() and cfg_name not in PRESET_COMPONENTS
            and cfg_name not in preset_components(root)):
        return cfg_name
    return run_name


# ---- run directories -------------------------------------------------------------------

def read_step_metrics(path: Path, run: str, global_step: int | None) -> tuple[pd.DataFrame | None, list[str]]:
    """step_metrics.csv, with the damage a crash leaves (a cut last line, missing rows) reported.

    `df.attrs["nonfinite_loss"]` counts rows whose loss_total was written as NaN/Inf (an empty
    cell is "not computed", not a non-finite loss, so it is told apart before parsing).
    """
    if not path.exists():
        return None, [f"{run}: {path.name} is missing (no loss curves for this run)"]
    text = path.read_text(encoding="utf-8", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return None, [f"{run}: {path.name} is empty"]
    header, body = rows[0], [r for r in rows[1:] if r]
    problems = []
    if body and (len(body[-1]) != len(header) or not text.endswith("\n")):
        problems.append(f"{run}: {path.name} is truncated: its last line is cut "
                        f"({len(body[-1])} of {len(header)} fields); that row is ignored")
        body = body[:-1]
    good = [r for r in body if len(r) == len(header)]
    if len(good) < len(body):
        problems.append(f"{run}: {path.name} has {len(body) - len(good)} malformed rows; they are ignored")
        body = good
    raw = pd.DataFrame(body, columns=header)
    df = raw.apply(pd.to_numeric, errors="coerce")
    if "loss_total" in raw:
        df.attrs["nonfinite_loss"] = int(sum(v.strip() != "" and not _finite(v) for v in raw["loss_total"]))
    if global_step is not None and len(df) < global_step:
        problems.append(f"{run}: {path.name} has {len(df)} rows but summary.json says global_step={global_step} "
                        "(the file is incomplete)")
    return df, problems


def _jsonl_rows(path: Path, run: str, convert) -> tuple[list[dict] | None, list[str]]:
    """`convert` applied to every row of an eval/val JSONL file; a bad row discards the file, named."""
    out = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(convert(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            return None, [f"{run}: eval/val/{path.name} line {no} is unreadable ({exc}); file ignored"]
    return out, []


def read_predictions(path: Path, run: str) -> tuple[list[dict] | None, list[str]]:
    if not path.exists():
        return None, [f"{run}: eval/val/predictions.jsonl is missing (no per-example intervals for this run)"]
    return _jsonl_rows(path, run, lambda row: {"id": str(row["id"]), "prediction": str(row["prediction"]),
                                               "references": [str(r) for r in row["references"]]})


def read_execution(path: Path, run: str) -> tuple[list[dict] | None, list[str]]:
    """eval/val/execution.jsonl, which only runs with eval.execute have (no file: no problem)."""
    if not path.exists():
        return None, []
    return _jsonl_rows(path, run, lambda row: {
        "id": str(row["id"]), "executable": bool(row["executable"]), "compiles": bool(row["compiles"]),
        "passes": bool(row["passes"]), "killed_mutants": int(row["killed_mutants"]), "mutants": int(row["mutants"])})


def _config_beta(cfg: dict, summary: Summary | None) -> float | str | None:
    loss = cfg.get("loss") or {}
    if "semantic" not in (loss.get("components") or {}):
        return None
    return parse_beta(loss.get("semantic_loss_scale"), summary.semantic_auto_beta if summary else None)


def parse_beta(value: Any, auto_value: Any = None) -> float | str | None:
    """β as a number: config.yaml holds a float or `auto` (older run directories hold it as text, "5")."""
    if value == "auto" and auto_value is not None:
        return round(float(auto_value), 3)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def load_run_dir(run_dir: str | Path, label: str | None = None, seed: int | None = None) -> RunData:
    """A run directory as RunData; `label` (e.g. from a study's `config` parameter) wins over guessing."""
    run_dir = Path(run_dir)
    paths = RunDir(run_dir)
    name = run_dir.name
    run = RunData(name=name, label=label or name, seed=seed, run_dir=run_dir)
    if not run_dir.is_dir():
        run.problems.append(f"{name}: run directory {run_dir} does not exist")
        return run
    cfg: dict = {}
    cfg_path = paths.config
    if cfg_path.exists():
        cfg = yaml.safe_load(cfg_path.read_text()) or {}
    else:
        run.problems.append(f"{name}: config.yaml is missing (configuration guessed from the name)")
    summary: Summary | None = None
    if paths.is_finished():
        try:
            summary = read_summary(paths)
        except RunDirError as exc:
            run.problems.append(f"{name}: {exc}; the run counts as unfinished")
    else:
        run.problems.append(f"{name}: summary.json is missing: the run did not finish; its metrics are n/a")
    run.config = cfg if cfg_path.exists() else None
    if summary is not None and summary.role == BASELINE_ROLE:
        label = RETRIEVAL  # whatever loss its config names, it trained nothing
    elif summary is not None and summary.role == TEACHER:
        # Its config.yaml is the student preset's that trained it (loss included): never that preset's row.
        label = TEACHER
    if label is None:
        run.label = label_from_components((cfg.get("loss") or {}).get("components") or {},
                                          fallback_label(cfg.get("name"), name))
    else:
        run.label = label
    if seed is None and cfg.get("seed") is not None and run.label != RETRIEVAL:
        run.seed = int(cfg["seed"])
    reference = summary is not None and summary.role in (BASELINE_ROLE, TEACHER)
    run.beta = None if reference or run.label == RETRIEVAL else _config_beta(cfg, summary)
    if summary is not None:
        run.finished = True
        run.role = summary.role
        run.max_steps, run.teacher = summary.max_steps, summary.teacher
        run.train_records, run.val_records = summary.train_records, summary.val_records
        run.metrics = {k: float(v) for k, v in (summary.val_metrics or {}).items()
                       if k in METRIC_KEYS and v is not None}
        run.wall_time_s = summary.wall_time_s or summary.train_runtime_s
        run.global_step = summary.global_step
        run.nonfinite_skipped = summary.nonfinite_skipped
        run.inference, problems = read_inference(summary, f"{name}: summary.json")
        run.problems += problems
        if summary.completed is False:
            run.problems.append(f"{name}: summary.json says the run stopped early "
                                f"(global_step {summary.global_step} of {summary.max_steps})")
    # a baseline trains nothing: no step history to miss
    run.steps, problems = (None, []) if run.label == RETRIEVAL else read_step_metrics(paths.step_metrics, name,
                                                                                      run.global_step)
    run.problems += problems
    if run.steps is not None:
        run.nonfinite_logged = run.steps.attrs.get("nonfinite_loss")
    if run.finished:
        run.predictions, problems = read_predictions(paths.predictions("val"), name)
        run.problems += problems
        run.execution, problems = read_execution(paths.execution("val"), name)
        run.problems += problems
    return run


def teacher_dir(model: str) -> Path:
    """The run directory a student's `teacher` (the model folder its summary names) stands for:
    the folder holding `model/`, or the folder named, resolved against the working directory."""
    path = Path(model)
    return (path.parent if path.name == "model" else path).resolve()


def teacher_runs(runs: Iterable[RunData]) -> tuple[list[RunData], list[str]]:
    """The teachers `runs` were distilled from, as runs of their own row: each distinct teacher
    run directory (the folder holding the model folder a student's summary names) that is not
    among `runs` already. With one teacher its row is `teacher`; with several, each teacher's
    row is its directory's name (`teacher-19f69b554de5`), so they are not pooled.
    A teacher that is no finished teacher run here (a hub name, a folder on another machine)
    is named in a note instead."""
    runs = list(runs)
    have = {r.run_dir.resolve(): r for r in runs if r.run_dir is not None}
    found: dict[Path, RunData] = {d: r for d, r in have.items() if r.role == TEACHER}
    notes: list[str] = []
    for model in dict.fromkeys(r.teacher for r in runs if r.teacher and r.role != TEACHER):
        run_dir = teacher_dir(model)
        if run_dir in found:
            continue
        if run_dir in have or not RunDir(run_dir).is_finished():
            notes.append(f"no teacher row for {model}: it is not a finished teacher run directory here")
            continue
        teacher = load_run_dir(run_dir)
        if teacher.role != TEACHER:
            notes.append(f"no teacher row for {model}: {run_dir} holds a {teacher.role} run, not a teacher")
            continue
        found[run_dir] = teacher
    for run_dir, teacher in found.items():
        teacher.label = TEACHER if len(found) == 1 else run_dir.name
    return [t for d, t in found.items() if d not in have], notes


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# ---- Optuna studies --------------------------------------------------------------------

def load_study(name: str, storage: str):
    """The study `name`; KeyError if there is none (a missing SQLite file is not created)."""
    import optuna

    if storage.startswith("sqlite:///") and not Path(storage[len("sqlite:///"):]).exists():
        raise KeyError(f"{storage} does not exist")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=name, storage=storage)


def study_names(storage: str) -> list[str]:
    import optuna

    if storage.startswith("sqlite:///") and not Path(storage[len("sqlite:///"):]).exists():
        return []

    return optuna.get_all_study_names(storage)


def real_trials(study) -> list:
    """Trials that are not grid-point duplicates another worker stepped aside for."""
    return [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("duplicate_of") is None]


def resolve_run_dir(path: str, roots: Iterable[Path]) -> Path:
    """A trial's run_dir is relative to where the sweep ran: try each candidate root."""
    p = Path(path)
    if p.is_absolute():
        return p
    for root in roots:
        if (root / p).exists():
            return root / p
    return p


def runs_from_study(study, roots: Iterable[Path]) -> tuple[list[RunData], list[str]]:
    """Completed trials of a study as runs; other trials are reported, not used."""
    from optuna.trial import TrialState

    from trident.sweeps.spec import decode_value
    from trident.sweeps.table import BASELINE_ATTR

    roots = list(roots)
    runs, notes = [], []
    for t in real_trials(study):
        params = {k: decode_value(v) for k, v in t.params.items()}
        if t.state != TrialState.COMPLETE:
            notes.append(f"study {study.study_name}: trial {t.number} is {t.state.name.lower()}; not in the table")
            continue
        label = Path(str(params["config"])).stem if "config" in params else None
        seed = int(params["seed"]) if "seed" in params else None
        run_dir = t.user_attrs.get("run_dir")
        if run_dir:
            run = load_run_dir(resolve_run_dir(run_dir, roots), label=label, seed=seed)
        else:
            run = RunData(name=f"trial-{t.number}", label=label or f"trial-{t.number}", seed=seed)
            run.problems.append(f"trial {t.number}: no run_dir recorded")
        run.source, run.params = "study", params
        if not run.finished:  # fall back on what the trial itself recorded, and say so
            attrs = {k: t.user_attrs.get(k) for k in METRIC_KEYS if t.user_attrs.get(k) is not None}
            if attrs:
                run.metrics = {k: float(v) for k, v in attrs.items()}
                run.wall_time_s = t.user_attrs.get("wall_time_s")
                run.problems.append(f"{run.name}: metrics taken from trial {t.number}'s attributes "
                                    "(no per-example data)")
        runs.append(run)
    baseline = study.user_attrs.get(BASELINE_ATTR)
    if baseline and resolve_run_dir(baseline, roots).exists():
        runs.append(load_run_dir(resolve_run_dir(baseline, roots)))
    elif runs:
        notes.append(f"study {study.study_name}: no retrieval baseline run recorded (the sweep's table writes one); "
                     "the table has no row for copying the nearest training record")
    return runs, notes
