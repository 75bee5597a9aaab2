"""The run directory, as a typed contract: where every file of a run lives, and `Summary`,
the record `fit` writes last and every reader (evaluate, the sweep engines and table, the
report) reads back.

    <runs_dir>/<name>/
      config.yaml            the resolved config, saved before training starts
      step_metrics.csv       one row per optimizer step (loss parts, weights, gradient norms)
      eval_metrics.csv       one row per validation pass
      checkpoints/           the Trainer's checkpoints (+ loss_parameters.safetensors)
      model/                 the trained model and its tokenizer
      eval/<split>/          predictions.jsonl and metrics.json of `trident evaluate` (its
                             `inference`: the model's inference figures, trident.inference_figures)
      eval/<split>-teacher/  the same for the teacher (`--with-teacher`)
      eval/<split>-retrieval/ the same for the retrieval baseline (trident.baseline)
      tb/ wandb/             TensorBoard events, the offline W&B run
      summary.json           written last: a run without it did not finish
      .lock .holder.json     held while a process runs in the directory
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from trident.errors import RunDirError
from trident.io import atomic_write_json


PREDICTIONS_FILE = "predictions.jsonl"  # one {"id", "prediction", "references"} per record
METRICS_FILE = "metrics.json"
# one {"id", "executable", "compiles", "passes", "killed_mutants", "mutants", "error"} per executable record
EXECUTION_FILE = "execution.jsonl"


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def step_metrics(self) -> Path:
        return self.root / "step_metrics.csv"

    @property
    def eval_metrics(self) -> Path:
        return self.root / "eval_metrics.csv"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tb"

    @property
    def wandb(self) -> Path:
        return self.root / "wandb"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    @property
    def holder(self) -> Path:
        return self.root / ".holder.json"

    def eval_dir(self, split: str, teacher: bool = False, retrieval: bool = False) -> Path:
        return self.root / "eval" / (f"{split}-teacher" if teacher else f"{split}-retrieval" if retrieval else split)

    def predictions(self, split: str, teacher: bool = False, retrieval: bool = False) -> Path:
        return self.eval_dir(split, teacher, retrieval) / PREDICTIONS_FILE

    def metrics(self, split: str, teacher: bool = False, retrieval: bool = False) -> Path:
        return self.eval_dir(split, teacher, retrieval) / METRICS_FILE

    def execution(self, split: str, teacher: bool = False) -> Path:
        return self.eval_dir(split, teacher) / EXECUTION_FILE

    def is_finished(self) -> bool:
        return self.summary.exists()


@dataclass
class Summary:
    """What a finished run reports (summary.json). Metrics are validation metrics at the last step."""

    name: str
    val_metrics: dict[str, float]
    train_runtime_s: Optional[float]
    train_samples_per_second: Optional[float]
    global_step: int
    max_steps: int
    completed: bool
    train_records: int
    val_records: int
    bad_records: dict[str, dict[str, int]]  # split -> reason -> lines skipped
    truncation: dict[str, dict[str, int]]  # split -> what was cut to fit the length limits
    nonfinite_skipped: int
    wandb_run_id: Optional[str]
    sweep: Optional[str]
    trial: Optional[int]
    semantic_auto_beta: Optional[float]  # β chosen by semantic_loss_scale=auto (None when fixed)
    versions: dict[str, str]
    role: str  # "teacher" or "student"
    model: str  # the model spec the run trained (preset or name)
    run_dir: str
    wall_time_before_resume_s: float
    wall_time_s: float  # the whole run's, across resumes
    teacher: Optional[str] = None  # a student's teacher (a model folder)
    student_parameters: Optional[int] = None
    teacher_parameters: Optional[int] = None
    teacher_source: Optional[str] = None  # a student's: "online", or "cache:<folder>" (the teacher-logit cache)
    # the saved model's trident.inference_figures.InferenceFigures (to_json) on the validation records;
    # None without a model (the retrieval baseline), with --eval.speed=false, or from before they existed
    inference: Optional[dict[str, Any]] = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys a newer or older trident wrote

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "summary") -> "Summary":
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(data))
        if missing:
            raise RunDirError(f"{where}: not a trident run summary (missing {', '.join(missing)})")
        known = {k: v for k, v in data.items() if k in names}
        return cls(**known, extra={k: v for k, v in data.items() if k not in names})


def write_summary(run_dir: RunDir, summary: Summary) -> None:
    atomic_write_json(run_dir.summary, summary.to_json())


def read_summary(run_dir: RunDir) -> Summary:
    """The run's summary; a RunDirError naming the file when it is missing or unreadable."""
    path = run_dir.summary
    if not path.exists():
        raise RunDirError(f"{path} is missing: the run did not finish (or is still running)")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: not a trident run summary")
    return Summary.from_json(data, str(path))
