"""Train one model with TridentTrainer and save it: shared by the teacher and distillation stages."""
from __future__ import annotations

from pathlib import Path

from transformers.trainer_utils import get_last_checkpoint

import torch

from trident.data.encoding import encode_records, target_text
from trident.io import atomic_write_jsonl
from trident.losses import COMPONENTS, MultiComponentLoss
from trident.runs import Data, library_versions, write_summary
from trident.tracking import MetricsFileCallback, configure_wandb, console_callbacks, tensorboard_callback
from trident.trainer import EncodedDataset, TridentTrainer, collator, metrics_fn, set_generation, training_arguments


def _dataset(cfg, records, tokenizer, critical: bool) -> EncodedDataset:
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len, critical=critical)
    return EncodedDataset(features, [r.id for r in records], [target_text(r) for r in records])


def _attach_loss_state(cfg, loss_fn: MultiComponentLoss, model, datasets) -> None:
    """Frozen-encoder embeddings of every target (cached on disk) and, for the contrastive term,
    the trained projection from the student's decoder states into the encoder's space."""
    from trident.encoders import cached_embeddings, embedding_dim

    cache_dir = Path(cfg.runs_dir) / ".cache" / "embeddings"
    for need in sorted(loss_fn.needs()):
        if need.startswith("gold:"):
            name = getattr(loss_fn.cfg, need[len("gold:"):])
            for ds in datasets:
                ds.gold[name] = cached_embeddings(ds.ids, ds.references, name, cache_dir)
    if "projection" in loss_fn.needs():
        dim = embedding_dim(loss_fn.cfg.contrastive_model)
        model.trident_projection = torch.nn.Linear(model.config.d_model, dim)


def _finish_wandb(report_to) -> str | None:
    if "wandb" not in report_to:
        return None
    import wandb

    run_id = wandb.run.id if wandb.run is not None else None
    wandb.finish()
    wandb.teardown()  # the next run in this process must read its own WANDB_DIR
    return run_id


def fit(cfg, tcfg, run_dir: Path, model, tokenizer, data: Data, loss_cfg, teacher=None,
        callbacks=(), extra_summary: dict | None = None) -> dict:
    loss_fn = MultiComponentLoss(loss_cfg)
    critical = loss_cfg.token_weight != 1.0
    train_ds, val_ds = _dataset(cfg, data.train, tokenizer, critical), _dataset(cfg, data.val, tokenizer, critical)
    _attach_loss_state(cfg, loss_fn, model, (train_ds, val_ds))
    set_generation(model, cfg.eval)

    report_to = configure_wandb(cfg, run_dir)
    scaled = tuple(n for n in loss_fn.names if COMPONENTS[n].scale is not None)
    cbs = [MetricsFileCallback(run_dir, loss_fn.names, scaled), *callbacks]
    if cfg.tracking.tensorboard:
        cbs.append(tensorboard_callback(run_dir))
    compute_metrics = metrics_fn(tokenizer, [r.assertions for r in data.val])
    trainer = TridentTrainer(
        model=model, args=training_arguments(cfg, tcfg, run_dir, report_to, tcfg.eval_every_epoch),
        train_dataset=train_ds, eval_dataset=val_ds, data_collator=collator(tokenizer, model),
        processing_class=tokenizer, compute_metrics=compute_metrics,
        callbacks=cbs, loss_fn=loss_fn, teacher=teacher, grad_norm_every=tcfg.grad_norm_every,
        max_nonfinite_steps=tcfg.max_nonfinite_steps, max_target_len=cfg.data.max_target_len)
    library_console, own_console = console_callbacks(cfg.tracking.progress)
    for cb in library_console:
        trainer.remove_callback(cb)
    trainer.add_callback(own_console)

    resume = get_last_checkpoint(trainer.args.output_dir) if tcfg.resume and Path(trainer.args.output_dir).exists() else None
    if resume:
        print(f"[trident] resuming from {resume}")
    try:
        out = trainer.train(resume_from_checkpoint=resume)
    except BaseException:
        _finish_wandb(report_to)  # a pruned or failed run must not leave its W&B run open for the next
        raise
    evals = [h for h in trainer.state.log_history if "eval_f1" in h]
    if not evals or evals[-1]["step"] != trainer.state.global_step:
        trainer.evaluate()
        evals = [h for h in trainer.state.log_history if "eval_f1" in h]
    if compute_metrics.last_predictions is not None:  # per-example results, for intervals in reports
        atomic_write_jsonl(run_dir / "eval" / "val" / "predictions.jsonl",
                           ({"id": r.id, "prediction": p, "references": r.assertions}
                            for r, p in zip(data.val, compute_metrics.last_predictions)))
    timing = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")
    final = {k[len("eval_"):]: v for k, v in evals[-1].items() if k.startswith("eval_") and k not in timing}

    if hasattr(model, "trident_projection"):  # a training aid, not part of the saved student
        del model.trident_projection
    trainer.save_model(str(run_dir / "model"))
    tokenizer.save_pretrained(str(run_dir / "model"))
    wandb_id = _finish_wandb(report_to)
    summary = {
        "name": cfg.name,
        "val_metrics": final,
        "train_runtime_s": out.metrics.get("train_runtime"),
        "train_samples_per_second": out.metrics.get("train_samples_per_second"),
        "global_step": trainer.state.global_step,
        "max_steps": trainer.state.max_steps,
        "completed": trainer.state.global_step >= trainer.state.max_steps,
        "train_records": len(data.train),
        "val_records": len(data.val),
        "bad_records": data.bad_counts,
        "nonfinite_skipped": trainer.nonfinite_total,
        "wandb_run_id": wandb_id,
        "sweep": cfg.tracking.sweep or None,
        "trial": cfg.tracking.trial if cfg.tracking.trial >= 0 else None,
        "semantic_auto_beta": loss_fn.auto_beta,
        "versions": library_versions(),
        **(extra_summary or {}),
    }
    write_summary(run_dir, summary)
    return summary
