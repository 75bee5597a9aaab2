"""Train one model with TridentTrainer and save it: shared by the teacher and distillation stages."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from transformers import Seq2SeqTrainingArguments, TrainerCallback
from transformers.trainer_callback import ExportableState

from trident.data.encoding import Truncation, encode_records, target_text
from trident.io import atomic_write_jsonl
from trident.losses.multi import MultiComponentLoss
from trident.losses.registry import ModelShapes
from trident.models import count_parameters, width_and_depth
from trident.rundir import RunDir, Summary, write_summary
from trident.runs import Data, Timer, is_main_process, library_versions, report_truncation, world_size
from trident.tracking import (MetricsFileCallback, configure_wandb, console_callbacks, finish_wandb, flat_config,
                              record_final, set_progress_bars, start_wandb, tensorboard_callback, write_hparams)
from trident.data.batches import EncodedDataset, collator
from trident.generation import GenerationMetrics, set_generation
from trident.inference_figures import measure
from trident.trainer import TridentTrainer


def training_arguments(cfg, tcfg, run: RunDir, report_to: list[str], do_eval: bool) -> Seq2SeqTrainingArguments:
    cpu_ranks = world_size() > 1 and not torch.cuda.is_available()
    return Seq2SeqTrainingArguments(
        output_dir=str(run.checkpoints),
        per_device_train_batch_size=tcfg.batch_size,
        per_device_eval_batch_size=cfg.eval.batch_size,
        gradient_accumulation_steps=tcfg.grad_accum,
        learning_rate=tcfg.lr,
        weight_decay=tcfg.weight_decay,
        warmup_steps=tcfg.warmup_ratio,  # a float in [0, 1) is a share of the total steps
        lr_scheduler_type="linear",
        max_grad_norm=tcfg.max_grad_norm,
        num_train_epochs=tcfg.epochs,
        max_steps=tcfg.max_steps,
        bf16=tcfg.precision == "bf16",
        fp16=tcfg.precision == "fp16",
        logging_strategy="steps",
        logging_steps=1,  # step_metrics.csv holds every optimizer step
        save_strategy="steps" if tcfg.save_steps else "epoch",
        save_steps=tcfg.save_steps or 500,
        save_total_limit=tcfg.save_total_limit,
        eval_strategy="epoch" if do_eval else "no",
        predict_with_generate=True,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=report_to or "none",
        run_name=cfg.name,
        disable_tqdm=not cfg.tracking.progress,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        # Several processes without a GPU (torchrun on CPU): accelerate's multi-CPU mode over gloo;
        # without it each process would train alone.
        use_cpu=cpu_ranks,
        ddp_backend="gloo" if cpu_ranks else None,
        # Every student parameter is used in every forward (the sequence terms run the same model
        # again): no search for unused ones, which costs a graph traversal per step under DDP.
        ddp_find_unused_parameters=False,
    )


def _dataset(cfg, records, tokenizer, critical: bool, split: str, truncation: dict,
             teacher_cache=None, teacher_beams=None) -> EncodedDataset:
    """Encode a split; what it cut is printed and kept in `truncation[split]` for the summary.
    With a teacher-logit cache every row is tied to its record's rows in it."""
    cut = Truncation()
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len,
                              critical=critical, truncation=cut,
                              focal_context=cfg.data.focal_context)
    generated = split == "val"  # validation passes generate with eval.max_new_tokens
    truncation[split] = report_truncation(cfg, split, cut.counts(cfg.eval.max_new_tokens if generated else None))
    ids = [r.id for r in records]
    cache_rows = teacher_cache.rows_for(ids) if teacher_cache is not None else None
    beams = [teacher_beams.best(i) for i in ids] if teacher_beams is not None else None
    return EncodedDataset(features, ids, [target_text(r) for r in records], records, cache_rows, beams)


def _cache_gold_embeddings(cfg, loss_fn: MultiComponentLoss, datasets) -> None:
    """Frozen-encoder embeddings of every target (cached on disk) for the components that need them."""
    from trident.encoders import cached_embeddings

    cache_dir = Path(cfg.runs_dir) / ".cache" / "embeddings"
    for key in loss_fn.needs.gold_embeddings:
        name = getattr(loss_fn.cfg, key)
        for ds in datasets:
            ds.gold[name] = cached_embeddings(ds.ids, ds.references, name, cache_dir)
    if loss_fn.needs.teacher_beams and loss_fn.cfg.semantic_reference != "gold":
        name = loss_fn.cfg.semantic_model
        for ds in datasets:
            if ds.beam_texts:
                ds.beam_gold[name] = cached_embeddings(ds.ids, ds.beam_texts, name, cache_dir)


def model_shapes(student, teacher=None) -> ModelShapes:
    d, layers = width_and_depth(student)
    if teacher is None:
        return ModelShapes(d, layers)
    t_d, t_layers = width_and_depth(teacher)
    return ModelShapes(d, layers, t_d, t_layers)


WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def _checkpoint_step(path: Path) -> int:
    return int(path.name.rsplit("-", 1)[1])


def checkpoint_problem(path: Path) -> str | None:
    """Why a Trainer checkpoint cannot be resumed from, or None when it is complete.

    The Trainer writes trainer_state.json last (after the weights, optimizer, scheduler and RNG
    states), with a plain write: a checkpoint whose state file parses and names its own step was
    saved to the end. A kill mid-save leaves the folder without it, or with it cut short.
    """
    state_file = path / "trainer_state.json"
    if not state_file.exists():
        return "it has no trainer_state.json (its save was interrupted)"
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return "its trainer_state.json is cut short (its save was interrupted)"
    if state.get("global_step") != _checkpoint_step(path):
        return f"its trainer_state.json is for step {state.get('global_step')}"
    if not any((path / name).exists() for name in WEIGHT_FILES):
        return "it holds no model weights"
    return None


def resume_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete checkpoint in `output_dir`. Newer incomplete ones are named and
    removed: they can never be resumed from, and the Trainer would count them among the kept."""
    found = [p for p in output_dir.glob("checkpoint-*") if p.is_dir() and p.name.rsplit("-", 1)[1].isdigit()]
    for path in sorted(found, key=_checkpoint_step, reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        print(f"[trident] passing over {path}: {problem}; removing it")
        shutil.rmtree(path)
    return None


class WallClock(TrainerCallback, ExportableState):
    """Wall time of the whole run across resumes, saved in every checkpoint's trainer_state.json
    (`stateful_callbacks.WallClock.attributes.elapsed_s`): the time before the resumed-from
    checkpoint plus this process's run so far. Work done after that checkpoint by a killed
    process is redone, and counted once, in the resumed part."""

    def __init__(self, timer: Timer, before_resume_s: float = 0.0):
        self.timer, self.before_resume_s = timer, before_resume_s

    def elapsed(self) -> float:
        return self.before_resume_s + self.timer.elapsed()

    def state(self) -> dict:
        return {"args": {}, "attributes": {"elapsed_s": self.elapsed()}}

    def on_train_begin(self, args, state, control, **kwargs):
        # A checkpoint from before this callback existed has no slot for it; the Trainer's save expects one.
        state.stateful_callbacks.setdefault(type(self).__name__, self.state())


def recorded_wall_time(checkpoint: Path) -> float | None:
    """The run's wall time when `checkpoint` was saved, as WallClock recorded it (None if it did not)."""
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    return ((state.get("stateful_callbacks") or {}).get(WallClock.__name__) or {}).get("attributes", {}).get("elapsed_s")


def _resume_point(tcfg, output_dir: Path) -> tuple[Path | None, float]:
    """(checkpoint to resume from, wall seconds the run had spent when it was saved)."""
    checkpoint = resume_checkpoint(output_dir) if tcfg.resume and output_dir.exists() else None
    if checkpoint is None:
        return None, 0.0
    print(f"[trident] resuming from {checkpoint}")
    before = recorded_wall_time(checkpoint)
    if before is None:
        print(f"[trident] {checkpoint} records no wall time: summary.json's wall_time_s covers the resumed part only")
    return checkpoint, before or 0.0


def fit(cfg, tcfg, run: RunDir, model, tokenizer, data: Data, loss_cfg, *, role: str, model_spec: str,
        teacher=None, teacher_path: str | None = None, callbacks=(), timer: Timer | None = None,
        teacher_cache=None, teacher_beams=None) -> Summary:
    """Train, save the model and write summary.json (last). `timer` (started with the run; by
    default here) gives the wall time; a resumed run adds the time before the checkpoint it
    starts from: that sum is the summary's wall_time_s. With `teacher_cache` (a
    trident.teacher_cache.TeacherLogitCache) the training batches carry the teacher's top-k
    instead of a teacher running in each step; with `teacher_beams` (trident.teacher_beams.TeacherBeams)
    the training rows carry the teacher's best beam. With `eval.speed`, the saved model's inference
    figures (trident.inference_figures) on the validation records go into the summary's `inference`."""
    timer = timer or Timer.started()
    set_progress_bars(cfg.tracking.progress)  # the model's save at the end has a bar of its own
    loss_fn = MultiComponentLoss(loss_cfg)
    critical = loss_cfg.token_weight != 1.0
    truncation: dict[str, dict[str, int]] = {}
    train_ds = _dataset(cfg, data.train, tokenizer, critical, "train", truncation, teacher_cache, teacher_beams)
    val_ds = _dataset(cfg, data.val, tokenizer, critical, "val", truncation)
    _cache_gold_embeddings(cfg, loss_fn, (train_ds, val_ds))
    set_generation(model, cfg.eval)

    report_to = configure_wandb(cfg, run.root)
    scaled = tuple(loss_fn.scales)
    resume, before_resume_s = _resume_point(tcfg, run.checkpoints)
    clock = WallClock(timer, before_resume_s)
    cbs = [MetricsFileCallback(run.step_metrics, run.eval_metrics, loss_fn.names, scaled), clock, *callbacks]
    if cfg.tracking.tensorboard and is_main_process():
        cbs.append(tensorboard_callback(run.tensorboard))
    compute_metrics = GenerationMetrics(tokenizer, [r.assertions for r in data.val])
    trainer = TridentTrainer(
        model=model, args=training_arguments(cfg, tcfg, run, report_to, tcfg.eval_every_epoch),
        train_dataset=train_ds, eval_dataset=val_ds, data_collator=collator(tokenizer, model, teacher_cache),
        processing_class=tokenizer, compute_metrics=compute_metrics,
        callbacks=cbs, loss_fn=loss_fn, teacher=teacher, teacher_cached=teacher_cache is not None, grad_norm_every=tcfg.grad_norm_every,
        max_nonfinite_steps=tcfg.max_nonfinite_steps, max_target_len=cfg.data.max_target_len,
        loss_parameters=loss_fn.make_parameters(model_shapes(model, teacher)))
    library_console, own_console = console_callbacks(cfg.tracking.progress)
    for cb in library_console:
        trainer.remove_callback(cb)
    trainer.add_callback(own_console)

    main = is_main_process()  # rank 0 of a multi-process run writes the run's files
    try:
        if report_to and main:
            start_wandb(cfg, run.root, role)
        out = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    except BaseException:
        finish_wandb(report_to)  # a pruned or failed run must not leave its W&B run open for the next
        raise
    evals = [h for h in trainer.state.log_history if "eval_f1" in h]
    if not evals or evals[-1]["step"] != trainer.state.global_step:
        trainer.evaluate()
        evals = [h for h in trainer.state.log_history if "eval_f1" in h]
    if main and compute_metrics.last_predictions is not None:  # per-example results, for intervals in reports
        atomic_write_jsonl(run.predictions("val"),
                           ({"id": r.id, "prediction": p, "references": r.assertions}
                            for r, p in zip(data.val, compute_metrics.last_predictions)))
    timing = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")
    final = {k[len("eval_"):]: v for k, v in evals[-1].items() if k.startswith("eval_") and k not in timing}
    if main and cfg.eval.execute and compute_metrics.last_predictions is not None:
        from trident.execution.scoring import execute_predictions

        ran, rates = execute_predictions(data.val, compute_metrics.last_predictions, progress=cfg.tracking.progress)
        atomic_write_jsonl(run.execution("val"), (r.to_dict() for r in ran))
        final.update(rates)
    if main and report_to:
        record_final(final, loss_fn.chosen_scales().get("semantic"))
    if main and cfg.tracking.tensorboard:
        write_hparams(run.tensorboard, flat_config(cfg), final, trainer.state.global_step)

    trainer.save_model(str(run.model))  # the Trainer saves on rank 0 only
    figures = None
    if main:
        tokenizer.save_pretrained(str(run.model))
        # the saved model, loaded from disk by a fresh process, on the records the run validated on
        figures = measure(run.model, val_ds.features, cfg.eval, trainer.args.device)
    wandb_id = finish_wandb(report_to)
    summary = Summary(
        name=cfg.name,
        val_metrics=final,
        train_runtime_s=out.metrics.get("train_runtime"),
        train_samples_per_second=out.metrics.get("train_samples_per_second"),
        global_step=trainer.state.global_step,
        max_steps=trainer.state.max_steps,
        completed=trainer.state.global_step >= trainer.state.max_steps,
        train_records=len(data.train),
        val_records=len(data.val),
        bad_records=data.bad_counts,
        truncation=truncation,
        nonfinite_skipped=trainer.nonfinite_total,
        wandb_run_id=wandb_id,
        sweep=cfg.tracking.sweep or None,
        trial=cfg.tracking.trial if cfg.tracking.trial >= 0 else None,
        semantic_auto_beta=loss_fn.chosen_scales().get("semantic"),
        versions=library_versions(),
        role=role,
        model=model_spec,
        run_dir=str(run.root),
        teacher=teacher_path,
        student_parameters=count_parameters(model) if role == "student" else None,
        teacher_parameters=(count_parameters(teacher) if teacher is not None else
                            teacher_cache.meta["teacher_parameters"] if teacher_cache is not None else None),
        teacher_source=(None if role != "student" else
                        f"cache:{teacher_cache.path}" if teacher_cache is not None else "online"),
        wall_time_before_resume_s=before_resume_s,
        wall_time_s=clock.elapsed(),
        inference=figures.to_json() if figures is not None else None,
    )
    if main:
        write_summary(run, summary)
    return summary
