"""Train one model with TridentTrainer and save it: shared by the teacher and distillation stages."""
from __future__ import annotations

from pathlib import Path

from transformers.trainer_utils import get_last_checkpoint

from trident.data.encoding import encode_records
from trident.losses import MultiComponentLoss
from trident.runs import Data, library_versions, write_summary
from trident.tracking import MetricsFileCallback, configure_wandb, console_callbacks, tensorboard_callback
from trident.trainer import EncodedDataset, TridentTrainer, collator, metrics_fn, set_generation, training_arguments


def fit(cfg, tcfg, run_dir: Path, model, tokenizer, data: Data, loss_cfg, teacher=None,
        callbacks=(), extra_summary: dict | None = None) -> dict:
    enc = lambda recs: EncodedDataset(encode_records(recs, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len))
    train_ds, val_ds = enc(data.train), enc(data.val)
    set_generation(model, cfg.eval)

    report_to = configure_wandb(cfg, run_dir)
    loss_fn = MultiComponentLoss(loss_cfg)
    cbs = [MetricsFileCallback(run_dir, loss_fn.names), *callbacks]
    if cfg.tracking.tensorboard:
        cbs.append(tensorboard_callback(run_dir))
    trainer = TridentTrainer(
        model=model, args=training_arguments(cfg, tcfg, run_dir, report_to, tcfg.eval_every_epoch),
        train_dataset=train_ds, eval_dataset=val_ds, data_collator=collator(tokenizer, model),
        processing_class=tokenizer, compute_metrics=metrics_fn(tokenizer, [r.assertions for r in data.val]),
        callbacks=cbs, loss_fn=loss_fn, teacher=teacher)
    library_console, own_console = console_callbacks(cfg.tracking.progress)
    for cb in library_console:
        trainer.remove_callback(cb)
    trainer.add_callback(own_console)

    resume = get_last_checkpoint(trainer.args.output_dir) if tcfg.resume and Path(trainer.args.output_dir).exists() else None
    if resume:
        print(f"[trident] resuming from {resume}")
    out = trainer.train(resume_from_checkpoint=resume)
    evals = [h for h in trainer.state.log_history if "eval_f1" in h]
    if not evals or evals[-1]["step"] != trainer.state.global_step:
        trainer.evaluate()
        evals = [h for h in trainer.state.log_history if "eval_f1" in h]
    timing = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")
    final = {k[len("eval_"):]: v for k, v in evals[-1].items() if k.startswith("eval_") and k not in timing}

    trainer.save_model(str(run_dir / "model"))
    tokenizer.save_pretrained(str(run_dir / "model"))
    if "wandb" in report_to:
        import wandb

        wandb.finish()
        wandb.teardown()  # the next run in this process must read its own WANDB_DIR
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
        "versions": library_versions(),
        **(extra_summary or {}),
    }
    write_summary(run_dir, summary)
    return summary
