"""Where a run's numbers go: step_metrics.csv, eval_metrics.csv, TensorBoard, W&B and the console.

The Trainer's own log events feed all of them, so the CSVs, TensorBoard and W&B always hold
the same scalars. W&B is offline by default and never needs an account. Both TensorBoard and
W&B also hold the run's resolved trident config (the config.yaml of its folder) as dotted keys
(`loss.semantic_loss_scale`, `model.teacher`, `data.dir`, …), so runs can be filtered and
grouped by any setting: in W&B as the run's config next to the Trainer's arguments, with a
group and tags naming the experiment and the sweep; in TensorBoard as hparams with the final
validation metrics.
"""
from __future__ import annotations

import csv
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from trident.config import to_dict


def flat_config(cfg) -> dict[str, Any]:
    """The resolved config as one level of dotted keys: `loss.semantic_loss_scale`,
    `loss.components.focal.start`, `model.teacher`, `data.dir`, `seed`, …"""
    out: dict[str, Any] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict) and value:
                walk(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value

    walk(to_dict(cfg), "")
    return out


@dataclass(frozen=True)
class RunLabels:
    """How W&B files a run: its group and tags."""
    group: str
    tags: tuple[str, ...]


def run_labels(cfg, role: str) -> RunLabels:
    """The experiment is the label the report gives the run (trident.analysis.sources): the preset
    whose loss it has (legacy, trident, trident-v1, trident-v1-hidden, …), else its own name; a
    teacher is `teacher`. Group: tracking.wandb_group (a sweep's trials: the sweep), else the
    experiment. Tags: the experiment, the role, and `sweep:<name>` for a sweep's trial."""
    if role == "teacher":
        experiment = "teacher"
    else:
        from trident.analysis.sources import fallback_label, label_from_components  # late: pandas

        experiment = label_from_components(cfg.loss.components, fallback_label(cfg.name, cfg.name))
    tags = list(dict.fromkeys([experiment, role]))
    if cfg.tracking.sweep:
        tags.append(f"sweep:{cfg.tracking.sweep}")
    return RunLabels(group=cfg.tracking.wandb_group or experiment, tags=tuple(tags))


def configure_wandb(cfg, run_dir: Path) -> list[str]:
    """Environment for transformers' W&B integration; returns the `report_to` entry. (The group
    and tags are given to wandb.init by start_wandb.)"""
    mode = cfg.tracking.wandb
    if mode == "disabled":
        return []
    os.environ["WANDB_MODE"] = mode
    os.environ["WANDB_DIR"] = str(run_dir.resolve())
    os.environ["WANDB_PROJECT"] = cfg.tracking.wandb_project
    os.environ.setdefault("WANDB_SILENT", "true")
    return ["wandb"]


def start_wandb(cfg, run_dir: Path, role: str) -> None:
    """Start the run's W&B run with the trident config, group and tags (main process only).

    transformers' WandbCallback starts a run only when none is active, and adds the Trainer's
    arguments and the model's config to the active one: started here first, the run holds both,
    and its group and tags are given to wandb.init instead of left to environment variables.
    Under a W&B agent wandb.init joins the agent's run (its id and sweep parameters win)."""
    import wandb

    labels = run_labels(cfg, role)
    wandb.init(project=cfg.tracking.wandb_project, name=cfg.name, group=labels.group, tags=list(labels.tags),
               config=flat_config(cfg), dir=str(run_dir.resolve()), mode=cfg.tracking.wandb,
               job_type=role)


def record_final(final: dict[str, Any], semantic_auto_beta: float | None) -> None:
    """The run's final validation metrics (execution rates included) and the β that
    `semantic_loss_scale=auto` chose, in the active W&B run's summary, as summary.json has them."""
    import wandb

    if wandb.run is None:
        return
    wandb.run.summary.update({f"eval/{k}": v for k, v in final.items() if v is not None})
    if semantic_auto_beta is not None:
        wandb.run.summary["semantic_auto_beta"] = semantic_auto_beta


def finish_wandb(report_to) -> str | None:
    """End the active W&B run; returns its id. An offline run's folder, and the command that
    uploads it, are printed whatever WANDB_SILENT says: without them the run is easy to lose."""
    if "wandb" not in report_to:
        return None
    import wandb

    run = wandb.run
    run_id = run.id if run is not None else None
    offline_dir = run.sync_dir if run is not None and run.offline else None
    wandb.finish()
    wandb.teardown()  # the next run in this process must read its own WANDB_DIR
    if offline_dir:
        print(f"[trident] W&B run saved offline in {offline_dir}")
        print(f"[trident] upload it with: wandb sync {shlex.quote(str(offline_dir))}", flush=True)
    return run_id


def set_progress_bars(enabled: bool) -> None:
    """`tracking.progress` for the libraries' own progress bars: transformers' (weight loading
    and saving) and huggingface_hub's (downloads), which transformers switches together. The
    Trainer's bars follow TrainingArguments.disable_tqdm, trident's own follow the flag where
    they are made."""
    from transformers.utils import logging as hf_logging

    if enabled:
        hf_logging.enable_progress_bar()
    else:
        hf_logging.disable_progress_bar()


def tensorboard_callback(log_dir: Path):
    """transformers' TensorBoardCallback writing to the run's folder.

    The library closes its writer when training ends and opens a new one on the next log event
    (the evaluation after training) in its `logging_dir`, by default a folder under the
    checkpoints; set to the run's folder, that evaluation lands beside the rest."""
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    callback = TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(log_dir)))
    callback.logging_dir = str(log_dir)
    return callback


def _hparam_value(value: Any) -> Any:
    # TensorBoard's hparams take numbers, text and booleans; a list or mapping is shown as JSON.
    return value if isinstance(value, (bool, int, float, str)) else json.dumps(value)


def write_hparams(log_dir: Path, config: dict[str, Any], metrics: dict[str, Any], step: int) -> None:
    """The run's config as TensorBoard hparams, with its final metrics as `hparams/<metric>`
    scalars: tags of their own, written once, because the hparams view shows a metric tag's last
    value (`eval/<metric>` is also the curve over training).

    The same summaries SummaryWriter.add_hparams writes, but into the run's own folder: that
    method puts them in a new subfolder, which TensorBoard shows as a second run."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    shown = {f"hparams/{k}": float(v) for k, v in metrics.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)}
    # None (an unset option) has no hparams type: the library leaves it out
    experiment, start, end = hparams({k: _hparam_value(v) for k, v in config.items() if v is not None}, shown)
    with SummaryWriter(log_dir=str(log_dir)) as writer:
        for summary in (experiment, start, end):
            writer.file_writer.add_summary(summary, step)
        for tag, value in shown.items():
            writer.add_scalar(tag, value, step)


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


def shown_logs(logs: dict) -> dict:
    """A log event as printed: floats rounded to 4 significant digits and still numbers
    (transformers' console callbacks print them as text, `'eval_f1': '0'`); no total_flos."""
    return {k: float(f"{v:.4g}") if isinstance(v, float) else v for k, v in logs.items() if k != "total_flos"}


def console_callbacks(progress: bool):
    """Progress bars (or nothing) for training/eval, and one console line per validation pass
    and at the end of training.

    The library's own console callbacks print every log event; with a row per optimizer step
    that buries the validation results, so per-step rows go to the files only.
    """
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class StepQuietProgress(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or _is_step_log(logs) or not state.is_world_process_zero:
                return
            if self.training_bar is not None:
                self.training_bar.write(str(shown_logs(logs)))
            else:  # the evaluation after training: its bar is closed, and the library would print nothing
                print(shown_logs(logs))

    class StepQuietPrinter(PrinterCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and not _is_step_log(logs) and state.is_local_process_zero:
                print(shown_logs(logs))

    return (ProgressCallback, PrinterCallback), (StepQuietProgress() if progress else StepQuietPrinter())
