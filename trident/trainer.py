"""TridentTrainer: transformers' Seq2SeqTrainer with a multi-component `compute_loss`.

Everything else (accumulation, clipping, warmup + linear decay, mixed precision,
checkpoints and resume, seeding, multi-GPU through `accelerate launch`/`torchrun`) is the
library's. The teacher runs in the same step, in eval mode and without gradients.
"""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import torch
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

from trident import metrics
from trident.losses import LossInputs, MultiComponentLoss


class EncodedDataset(torch.utils.data.Dataset):
    def __init__(self, features: Sequence[dict]):
        self.features = list(features)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return self.features[i]


def training_arguments(cfg, tcfg, run_dir: Path, report_to: list[str], do_eval: bool) -> Seq2SeqTrainingArguments:
    return Seq2SeqTrainingArguments(
        output_dir=str(run_dir / "checkpoints"),
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
    )


def set_generation(model, eval_cfg) -> None:
    """Decoding settings for evaluation. For an encoder-decoder, max_length counts the decoder
    start token, so it is max_new_tokens + 1 (setting both makes transformers warn on every batch)."""
    model.generation_config.max_length = eval_cfg.max_new_tokens + 1
    model.generation_config.num_beams = eval_cfg.num_beams


def metrics_fn(tokenizer, references: list[list[str]]):
    """compute_metrics for generation: decoded predictions against the original assertions."""

    def compute(eval_pred) -> dict[str, float]:
        preds = decode(tokenizer, eval_pred.predictions)
        if len(preds) != len(references):
            raise ValueError(f"{len(preds)} predictions for {len(references)} references")
        return metrics.compute_all(preds, references)

    return compute


def decode(tokenizer, token_ids) -> list[str]:
    ids = token_ids[0] if isinstance(token_ids, tuple) else token_ids
    ids = [[t for t in row if t >= 0] for row in ids.tolist()]  # -100 pads batches of different lengths
    return tokenizer.batch_decode(ids, skip_special_tokens=True)


def collator(tokenizer, model) -> DataCollatorForSeq2Seq:
    # With the model given, the collator builds decoder_input_ids from the labels (shift right).
    return DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100, padding=True)


class TridentTrainer(Seq2SeqTrainer):
    def __init__(self, *args, loss_fn: MultiComponentLoss, teacher=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_fn = loss_fn
        self.teacher = teacher
        if loss_fn.needs_teacher and teacher is None:
            raise ValueError("the loss needs a teacher (kl/jsd) but none was given")
        if teacher is not None:
            teacher.eval().requires_grad_(False)
            teacher.to(self.args.device)
        # compute_loss returns a per-micro-batch mean, so the Trainer divides by the accumulation steps.
        self.loss_is_scaled_for_ga = False
        self._parts: dict[str, float] = defaultdict(float)
        self._micro = 0
        self._samples = 0
        self._step_t0 = 0.0

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs["labels"]
        model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
        outputs = model(**model_inputs)
        teacher_logits = None
        if self.loss_fn.needs_teacher:
            with torch.no_grad():
                teacher_logits = self.teacher(**model_inputs).logits
        progress = self.state.global_step / max(1, self.state.max_steps)
        total, parts = self.loss_fn(LossInputs(outputs.logits, labels, teacher_logits), progress)
        if model.training:
            self._record(total, parts, labels.shape[0], progress)
        return (total, outputs) if return_outputs else total

    def _record(self, total, parts, batch_size: int, progress: float) -> None:
        if self._micro == 0:
            self._step_t0 = time.perf_counter()
            self._parts.clear()
        self._micro += 1
        self._samples += batch_size
        self._parts["loss_total"] += float(total.detach())
        for key, value in parts.items():
            self._parts[key] += float(value)
        self._parts["progress"] = progress * self._micro  # averaged below like the rest

    def log(self, logs, start_time=None):
        if "loss" in logs and self._micro:
            # One optimizer step = the mean over its micro-batches.
            logs = dict(logs)
            logs.update({k: v / self._micro for k, v in self._parts.items()})
            elapsed = time.perf_counter() - self._step_t0
            logs["samples_per_s"] = self._samples / elapsed if elapsed > 0 else float("nan")
            self._micro = 0
            self._samples = 0
        super().log(logs, start_time)
