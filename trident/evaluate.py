"""Evaluation: batched generation (greedy or beam) on a split, predictions and metrics on disk."""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForSeq2SeqLM, Seq2SeqTrainer, Seq2SeqTrainingArguments

from trident.baseline import evaluate_retrieval, is_baseline
from trident.config import load_config
from trident.data.encoding import Truncation, encode_records
from trident.data.batches import collator
from trident.errors import RunDirError
from trident.generation import decode, set_generation
from trident.inference_figures import measure
from trident.models import load_tokenizer
from trident.predictions import score_predictions
from trident.rundir import RunDir
from trident.runs import load_records, report_truncation
from trident.tracking import set_progress_bars


def evaluate_model(model_dir: Path, cfg, split: str, out_dir: Path, execute: bool = False) -> dict:
    """Generate for every record of `split` and score; with `execute`, also compile and run the
    predicted assertions (trident.execution) and add compile_rate, pass_rate and mutation_score.
    With `eval.speed`, metrics.json's `inference` holds the model's inference figures
    (trident.inference_figures) on the split's first `eval.speed_records` records."""
    set_progress_bars(cfg.tracking.progress)  # before the weights are loaded
    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir)
    bad: dict = {}
    records = load_records(cfg, split, bad)
    cut = Truncation()
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len, truncation=cut,
                              focal_context=cfg.data.focal_context)
    truncation = report_truncation(cfg, split, cut.counts(cfg.eval.max_new_tokens))
    with tempfile.TemporaryDirectory() as tmp:
        set_generation(model, cfg.eval)
        args = Seq2SeqTrainingArguments(output_dir=tmp, per_device_eval_batch_size=cfg.eval.batch_size,
                                        predict_with_generate=True, report_to="none",
                                        dataloader_pin_memory=torch.cuda.is_available(),
                                        disable_tqdm=not cfg.tracking.progress, remove_unused_columns=False)
        trainer = Seq2SeqTrainer(model=model, args=args, data_collator=collator(tokenizer, model),
                                 processing_class=tokenizer)
        out = trainer.predict(features)
        device = trainer.args.device
    preds = decode(tokenizer, out.predictions)
    # after the quality pass, before running the predictions (which would compete for the CPU)
    figures = measure(model_dir, features, cfg.eval, device)
    inference = {"inference": figures.to_json()} if figures is not None else {}
    # scored against the whole reference, never the cut labels
    return score_predictions(records, preds, out_dir, execute=execute, progress=cfg.tracking.progress,
                             extra={"split": split, "records": len(records), "num_beams": cfg.eval.num_beams,
                                    "bad_records": bad, "truncation": truncation, **inference})


def evaluate_run(run_dir: str | Path, split: str = "test", overrides: list[str] | None = None,
                 execute: bool = False) -> dict:
    """Evaluate a finished run's `<run>/model` on a split; writes `<run>/eval/<split>/{predictions.jsonl,metrics.json}`."""
    run = RunDir(Path(run_dir))
    if is_baseline(run):  # a baseline run has no model: run the baseline on the split instead
        return evaluate_retrieval(load_config(run.config, overrides), split, run.eval_dir(split), execute=execute)
    if not run.is_finished():  # summary.json is written last: its model may be another attempt's, or none
        raise RunDirError(f"{run.summary} is missing: the run did not finish (or is still "
                          "running); finish it with --train.resume=true before evaluating it")
    if not (run.model / "config.json").exists():
        raise FileNotFoundError(f"{run.root} holds no trained model (expected {run.model}); train it first")
    cfg = load_config(run.config, overrides)
    return evaluate_model(run.model, cfg, split, run.eval_dir(split), execute=execute)
