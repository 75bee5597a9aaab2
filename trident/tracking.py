"""Where a run's numbers go: step_metrics.csv, eval_metrics.csv, TensorBoard and W&B.

The Trainer's own log events feed all of them, so the CSVs, TensorBoard and W&B always hold
the same scalars. W&B is offline by default and never needs an account.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from transformers import TrainerCallback


def configure_wandb(cfg, run_dir: Path) -> list[str]:
    """Environment for transformers' W&B integration; returns the `report_to` entry."""
    mode = cfg.tracking.wandb
    if mode == "disabled":
        return []
    os.environ["WANDB_MODE"] = mode
    os.environ["WANDB_DIR"] = str(run_dir.resolve())
    os.environ["WANDB_PROJECT"] = cfg.tracking.wandb_project
    os.environ.setdefault("WANDB_SILENT", "true")
    if cfg.tracking.wandb_group:
        os.environ["WANDB_RUN_GROUP"] = cfg.tracking.wandb_group
    else:
        os.environ.pop("WANDB_RUN_GROUP", None)
    return ["wandb"]


def tensorboard_callback(log_dir: Path):
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    return TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(log_dir)))


def _rewrite_up_to(path: Path, step: int) -> None:
    """On resume, forget rows past the checkpoint: they are about to be recomputed."""
    if not path.exists():
        return
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and int(float(r[0])) <= step]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        csv.writer(fh).writerows(kept)
    os.replace(tmp, path)


class _CsvLog:
    def __init__(self, path: Path):
        self.path = path
        self.fields: list[str] | None = None

    def write(self, row: dict) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        if self.fields is None:
            if new:
                self.fields = list(row)
            else:
                with self.path.open(newline="") as fh:
                    self.fields = next(csv.reader(fh))
        with self.path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


class MetricsFileCallback(TrainerCallback):
    """One row per optimizer step in step_metrics.csv; one row per evaluation in eval_metrics.csv."""

    def __init__(self, step_file: Path, eval_file: Path, component_names: list[str], scaled: tuple[str, ...] = ()):
        self.steps = _CsvLog(step_file)
        self.evals = _CsvLog(eval_file)
        # Every column exists from the first row; a value not computed on a step stays empty.
        kinds = lambda n: ("raw", "weight", "scale", "weighted", "grad_norm") if n in scaled else (
            "raw", "weight", "weighted", "grad_norm")
        self.component_fields = [f"{n}/{k}" for n in component_names for k in kinds(n)]

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            _rewrite_up_to(self.steps.path, state.global_step)
            _rewrite_up_to(self.evals.path, state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss_total" not in logs:
            return
        row = {"step": state.global_step, "epoch": logs.get("epoch", state.epoch),
               "progress": logs.get("progress"), "lr": logs.get("learning_rate"),
               "loss_total": logs["loss_total"], "grad_norm": logs.get("grad_norm"),
               "samples_per_s": logs.get("samples_per_s"), "nonfinite_skipped": logs.get("nonfinite_skipped")}
        row.update({k: logs.get(k) for k in self.component_fields})
        self.steps.write(row)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if state.is_world_process_zero and metrics:
            self.evals.write({"step": state.global_step, "epoch": state.epoch, **metrics})


def _is_step_log(logs: dict) -> bool:
    return "loss_total" in logs


def console_callbacks(progress: bool):
    """Progress bars (or nothing) for training/eval, and one console line per validation pass.

    The library's own console callbacks print every log event; with a row per optimizer step
    that buries the validation results, so per-step rows go to the files only.
    """
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class StepQuietProgress(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and not _is_step_log(logs):
                super().on_log(args, state, control, logs=logs, **kwargs)

    class StepQuietPrinter(PrinterCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and not _is_step_log(logs):
                super().on_log(args, state, control, logs=logs, **kwargs)

    return (ProgressCallback, PrinterCallback), (StepQuietProgress() if progress else StepQuietPrinter())
