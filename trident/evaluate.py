"""Evaluation: batched generation (greedy or beam) on a split, predictions and metrics on disk."""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForSeq2SeqLM, Seq2SeqTrainingArguments

from trident import metrics
from trident.config import load_config
from trident.data.encoding import Truncation, encode_records
from trident.io import atomic_write_json, atomic_write_jsonl
from trident.losses import MultiComponentLoss
from trident.models import load_tokenizer
from trident.runs import load_records, report_truncation
from trident.teacher import CE_ONLY
from trident.trainer import EncodedDataset, TridentTrainer, collator, decode, set_generation


def evaluate_model(model_dir: Path, cfg, split: str, out_dir: Path) -> dict:
    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir)
    bad: dict = {}
    records = load_records(cfg, split, bad)
    cut = Truncation()
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len, truncation=cut)
    truncation = report_truncation(cfg, split, cut.counts(cfg.eval.max_new_tokens))
    with tempfile.TemporaryDirectory() as tmp:
        set_generation(model, cfg.eval)
        args = Seq2SeqTrainingArguments(output_dir=tmp, per_device_eval_batch_size=cfg.eval.batch_size,
                                        predict_with_generate=True, report_to="none",
                                        dataloader_pin_memory=torch.cuda.is_available(),
                                        disable_tqdm=not cfg.tracking.progress, remove_unused_columns=False)
        trainer = TridentTrainer(model=model, args=args, data_collator=collator(tokenizer, model),
                                 processing_class=tokenizer, loss_fn=MultiComponentLoss(CE_ONLY))
        out = trainer.predict(EncodedDataset(features))
    preds = decode(tokenizer, out.predictions)
    refs = [r.assertions for r in records]  # the whole reference, never the cut labels
    result = metrics.compute_all(preds, refs)
    result.update({"split": split, "records": len(records), "num_beams": cfg.eval.num_beams, "bad_records": bad,
                   "truncation": truncation})
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_jsonl(out_dir / "predictions.jsonl",
                       ({"id": r.id, "prediction": p, "references": r.assertions} for r, p in zip(records, preds)))
    atomic_write_json(out_dir / "metrics.json", result)
    return result


def evaluate_run(run_dir: str | Path, split: str = "test", overrides: list[str] | None = None) -> dict:
    """Evaluate a finished run's `<run>/model` on a split; writes `<run>/eval/<split>/{predictions.jsonl,metrics.json}`."""
    run_dir = Path(run_dir)
    if not (run_dir / "summary.json").exists():  # written last: its model may be another attempt's, or none
        raise FileNotFoundError(f"{run_dir / 'summary.json'} is missing: the run did not finish (or is still "
                                "running); finish it with --train.resume=true before evaluating it")
    if not (run_dir / "model" / "config.json").exists():
        raise FileNotFoundError(f"{run_dir} holds no trained model (expected {run_dir / 'model'}); train it first")
    cfg = load_config(run_dir / "config.yaml", overrides)
    return evaluate_model(run_dir / "model", cfg, split, run_dir / "eval" / split)
