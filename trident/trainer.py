"""TridentTrainer: transformers' Seq2SeqTrainer with a multi-component `compute_loss`.

Everything else (accumulation, clipping, warmup + linear decay, mixed precision,
checkpoints and resume, seeding, multi-GPU through `accelerate launch`/`torchrun`) is the
library's. The teacher runs in the same step, in eval mode and without gradients.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import torch
from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

from trident import metrics
from trident.losses import LossInputs, MultiComponentLoss, StepContext
from trident.losses.sequence import KINDS
from trident.schedules import progress_at


class EncodedDataset(torch.utils.data.Dataset):
    """Encoded features plus what sequence-level losses need per row: its record id, its
    target text and (filled by fit) frozen-encoder embeddings of the target, keyed by encoder."""

    def __init__(self, features: Sequence[dict], ids: Sequence[str] = (), references: Sequence[str] = ()):
        self.features = [{**f, "idx": i} for i, f in enumerate(features)]
        self.ids = list(ids)
        self.references = list(references)
        self.gold: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return self.features[i]


class NonFiniteTraining(RuntimeError):
    pass


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
        compute.last_predictions = preds  # the final pass's predictions are saved with the run
        return metrics.compute_all(preds, references)

    compute.last_predictions = None
    return compute


def decode(tokenizer, token_ids) -> list[str]:
    ids = token_ids[0] if isinstance(token_ids, tuple) else token_ids
    ids = [[t for t in row if t >= 0] for row in ids.tolist()]  # -100 pads batches of different lengths
    return tokenizer.batch_decode(ids, skip_special_tokens=True)


class Collator:
    """transformers' seq2seq collator (padding, decoder_input_ids from the labels) plus the
    row indices and the critical-token masks, padded like the labels."""

    def __init__(self, tokenizer, model):
        self.base = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100, padding=True)

    def __call__(self, features: list[dict]) -> dict:
        idx = torch.tensor([f["idx"] for f in features]) if "idx" in features[0] else None
        critical = [f["critical"] for f in features] if "critical" in features[0] else None
        batch = self.base([{k: v for k, v in f.items() if k not in ("idx", "critical")} for f in features])
        if idx is not None:
            batch["idx"] = idx
        if critical is not None:
            width = batch["labels"].shape[1]
            batch["critical"] = torch.tensor([c + [0] * (width - len(c)) for c in critical])
        return batch


def collator(tokenizer, model) -> Collator:
    return Collator(tokenizer, model)


def grad_norm_cadence(every: int, seq_reward_every: int, has_sequence_terms: bool) -> int:
    """Optimizer steps between gradient-norm logs: `every` rounded up to a multiple of
    `seq_reward_every` when sequence terms are active. The sequence terms exist only on their own
    steps; with both cadences independent (25 and 8) their norms coincided with the core terms'
    only every lcm = 200 steps, which left the by-gradient β resting on step 0 of a sweep trial.
    Rounding up keeps about the same number of extra backward passes."""
    if every <= 0 or not has_sequence_terms:
        return every
    return math.ceil(every / seq_reward_every) * seq_reward_every


class TridentTrainer(Seq2SeqTrainer):
    def __init__(self, *args, loss_fn: MultiComponentLoss, teacher=None, grad_norm_every: int = 0,
                 max_nonfinite_steps: int = 10, max_target_len: int = 64, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_fn = loss_fn
        self.teacher = teacher
        if loss_fn.needs_teacher and teacher is None:
            raise ValueError("the loss needs a teacher (kl/jsd) but none was given")
        if teacher is not None:
            teacher.eval().requires_grad_(False)
            teacher.to(self.args.device)
        self.needs = loss_fn.needs()
        self.grad_norm_every = grad_norm_cadence(grad_norm_every, loss_fn.cfg.seq_reward_every,
                                                 any(n in KINDS for n in loss_fn.names))
        self.max_nonfinite_steps = max_nonfinite_steps
        self.max_target_len = max_target_len
        # compute_loss returns a per-micro-batch mean, so the Trainer divides by the accumulation steps.
        self.loss_is_scaled_for_ga = False
        self._sums: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)
        self._micro = 0
        self._samples = 0
        self._step_t0 = 0.0
        self.nonfinite_in_a_row = 0
        self.nonfinite_total = 0
        self._nonfinite_loss = False

    # -- the loss -------------------------------------------------------------------------
    def _context(self, model, model_inputs, idx, hidden) -> StepContext:
        ds = self.train_dataset if model.training else self.eval_dataset
        rows = idx.tolist() if idx is not None else []
        gold = {}
        for need in self.needs:
            if need.startswith("gold:") and idx is not None:
                name = getattr(self.loss_fn.cfg, need[len("gold:"):])
                if name in ds.gold:
                    gold[name] = ds.gold[name][idx.cpu()].to(idx.device)
        # Sampling and the projection live on the bare model, not a DDP/accelerate wrapper.
        bare = self.accelerator.unwrap_model(model)
        return StepContext(
            model=bare, tokenizer=self.processing_class, model_inputs=model_inputs,
            references=[ds.references[i] for i in rows] if ds is not None and ds.references else [],
            record_ids=[ds.ids[i] for i in rows] if ds is not None and ds.ids else [],
            gold_embeddings=gold, decoder_hidden=hidden, projection=getattr(bare, "trident_projection", None),
            global_step=self.state.global_step, epoch=self.state.epoch or 0.0, training=model.training,
            max_target_len=self.max_target_len)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs["labels"]
        idx = inputs.get("idx")
        critical = inputs.get("critical")
        model_inputs = {k: v for k, v in inputs.items() if k not in ("labels", "idx", "critical")}
        want_hidden = "decoder_hidden" in self.needs
        outputs = model(**model_inputs, output_hidden_states=want_hidden)
        teacher_logits = None
        if self.loss_fn.needs_teacher:
            with torch.no_grad():
                teacher_logits = self.teacher(**model_inputs).logits
        progress = progress_at(self.state.global_step, self.state.max_steps)
        hidden = outputs.decoder_hidden_states[-1] if want_hidden else None
        ctx = self._context(model, model_inputs, idx, hidden)
        total, parts, terms = self.loss_fn(LossInputs(outputs.logits, labels, teacher_logits, critical, progress, ctx))
        if model.training:
            if not torch.isfinite(total.detach()):
                self._nonfinite_loss = True
            if self._micro == 0 and self.grad_norm_every and self.state.global_step % self.grad_norm_every == 0:
                parts.update(self._grad_norms(model, terms))
            self._record(total, parts, labels.shape[0], progress)
        return (total, outputs) if return_outputs else total

    def _grad_norms(self, model, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """‖∂(weighted component)/∂θ‖ over the student's parameters, one autograd pass per component."""
        params = [p for p in model.parameters() if p.requires_grad]
        out = {}
        for name, term in terms.items():
            if not term.requires_grad:
                out[f"{name}/grad_norm"] = torch.tensor(0.0)
                continue
            grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
            sq = [g.float().pow(2).sum() for g in grads if g is not None]
            out[f"{name}/grad_norm"] = torch.stack(sq).sum().sqrt().detach() if sq else torch.tensor(0.0)
        return out

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None, **gen_kwargs):
        # Generation-based evaluation feeds the batch to generate() and the model directly;
        # the loss-only extras are not model inputs. (Its eval_loss is the model's own CE.)
        inputs = {k: v for k, v in inputs.items() if k not in ("idx", "critical")}
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys, **gen_kwargs)

    # -- non-finite steps -----------------------------------------------------------------
    def create_optimizer(self, *args, **kwargs):
        optimizer = super().create_optimizer(*args, **kwargs)
        inner_step = optimizer.step

        def guarded_step(*a, **kw):
            grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            finite = bool(torch.stack([g.isfinite().all() for g in grads]).all()) if grads else True
            finite = finite and not self._nonfinite_loss
            self._nonfinite_loss = False
            if finite:
                self.nonfinite_in_a_row = 0
                return inner_step(*a, **kw)
            optimizer.zero_grad(set_to_none=True)
            self.nonfinite_in_a_row += 1
            self.nonfinite_total += 1
            if self.nonfinite_in_a_row >= self.max_nonfinite_steps:
                raise NonFiniteTraining(
                    f"{self.nonfinite_in_a_row} optimizer steps in a row had a non-finite loss or gradient "
                    f"(step {self.state.global_step + 1}); stopping. Lower the learning rate, check the data, or "
                    "raise train.max_nonfinite_steps.")
            return None

        optimizer.step = guarded_step
        return optimizer

    # -- logging --------------------------------------------------------------------------
    def _record(self, total, parts, batch_size: int, progress: float) -> None:
        if self._micro == 0:
            self._step_t0 = time.perf_counter()
            self._sums.clear()
            self._counts.clear()
        self._micro += 1
        self._samples += batch_size
        for key, value in [("loss_total", total.detach()), ("progress", progress), *parts.items()]:
            self._sums[key] += float(value)
            self._counts[key] += 1

    def log(self, logs, start_time=None):
        if "loss" in logs and self._micro:
            # One optimizer step = the mean over the micro-batches where each value was computed.
            logs = dict(logs)
            logs.update({k: v / self._counts[k] for k, v in self._sums.items()})
            elapsed = time.perf_counter() - self._step_t0
            logs["samples_per_s"] = self._samples / elapsed if elapsed > 0 else float("nan")
            logs["nonfinite_skipped"] = self.nonfinite_total
            self._micro = 0
            self._samples = 0
        super().log(logs, start_time)
