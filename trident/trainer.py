"""TridentTrainer: transformers' Seq2SeqTrainer with a multi-component `compute_loss`.

Everything else (accumulation, clipping, warmup + linear decay, mixed precision,
checkpoints and resume, seeding, multi-GPU through `accelerate launch`/`torchrun`) is the
library's. The teacher runs in the same step, in eval mode and without gradients, unless its
distribution comes from the teacher-logit cache (the batch then carries its top-k).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from collections import defaultdict
from pathlib import Path

import torch
from transformers import Seq2SeqTrainer

from trident.data.batches import EXTRA_KEYS, TOPK_KEYS
from trident.errors import NonFiniteTraining
from trident.io import make_readable
from trident.losses.multi import MultiComponentLoss
from trident.losses.registry import BeamTargets, HiddenStates, LossInputs, StepContext, TeacherTopK
from trident.schedules import progress_at


def grad_norm_cadence(every: int, seq_reward_every: int, has_sequence_terms: bool) -> int:
    """Optimizer steps between gradient-norm logs: `every` rounded up to a multiple of
    `seq_reward_every` when sequence terms are active. The sequence terms exist only on their own
    steps; with both cadences independent (25 and 8) their norms coincided with the core terms'
    only every lcm = 200 steps, which left the by-gradient β resting on step 0 of a sweep trial.
    Rounding up keeps about the same number of extra backward passes."""
    if every <= 0 or not has_sequence_terms:
        return every
    return math.ceil(every / seq_reward_every) * seq_reward_every


def sample_seed(seed: int, step: int, rows: list[int]) -> int:
    """A seed for one micro-batch's sampling: the same rows at the same step draw the same
    samples in one process or in several, and again after a resume."""
    digest = hashlib.blake2b(json.dumps([seed, step, rows]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


LOSS_PARAMETERS_FILE = "loss_parameters.safetensors"


class TridentTrainer(Seq2SeqTrainer):
    """Seq2SeqTrainer with the multi-component loss. The loss's own trainable parameters
    (`loss_parameters`, e.g. the contrastive projection) are trained with the student in their
    own optimizer groups, clipped with it, and saved in (and restored from) every checkpoint,
    but never in the saved student."""

    def __init__(self, *args, loss_fn: MultiComponentLoss, teacher=None, teacher_cached: bool = False,
                 grad_norm_every: int = 0,
                 max_nonfinite_steps: int = 10, max_target_len: int = 64,
                 loss_parameters: torch.nn.ModuleDict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_fn = loss_fn
        self.teacher = teacher
        self.needs = loss_fn.needs
        if self.needs.teacher_logits and teacher is None and not teacher_cached:
            raise ValueError("the loss needs a teacher (kl/jsd) but neither a teacher nor its logit cache was given")
        if (self.needs.teacher_online or self.needs.hidden_states) and teacher is None:
            raise ValueError("the loss needs the teacher online (hidden states / on-policy targets) but no teacher was given")
        if teacher is not None:
            teacher.eval().requires_grad_(False)
            teacher.to(self.args.device)
        self.loss_parameters = (loss_parameters if loss_parameters is not None else torch.nn.ModuleDict()).to(self.args.device)
        self.grad_norm_every = grad_norm_cadence(grad_norm_every, loss_fn.cfg.seq_reward_every, loss_fn.has_sequence_terms)
        self.max_nonfinite_steps = max_nonfinite_steps
        self.max_target_len = max_target_len
        # compute_loss returns a per-micro-batch mean, so the Trainer divides by the accumulation steps.
        self.loss_is_scaled_for_ga = False
        # Logged values are summed as tensors where they are tensors and read back once per logging
        # step: a float() per component per micro-batch would wait for the device every time.
        self._sums: dict[str, torch.Tensor | float] = {}
        self._counts: dict[str, int] = defaultdict(int)
        self._micro = 0
        self._samples = 0
        self._step_t0 = 0.0
        self.nonfinite_in_a_row = 0
        self.nonfinite_total = 0
        self._nonfinite_loss: torch.Tensor | None = None  # any micro-batch of the step had a non-finite loss
        self._loss_grads_averaged = False

    # -- the loss -------------------------------------------------------------------------
    def _context(self, model, inputs, model_inputs, rows: list[int], hidden, device, encoded=None,
                 teacher_encoded=None) -> StepContext:
        ds = self.train_dataset if model.training else self.eval_dataset
        gold = {}
        for key in self.needs.gold_embeddings:
            name = getattr(self.loss_fn.cfg, key)
            if rows and name in ds.gold:
                gold[name] = ds.gold[name][rows].to(device, non_blocking=True)
        beams = None
        if self.needs.teacher_beams and "beam_labels" in inputs:
            beams = BeamTargets(inputs["beam_labels"], inputs["beam_logp"], [ds.beam_texts[i] for i in rows],
                                {name: e[rows].to(device, non_blocking=True) for name, e in ds.beam_gold.items()})
        # Sampling lives on the bare model, not a DDP/accelerate wrapper.
        bare = self.accelerator.unwrap_model(model)
        return StepContext(
            model=bare, tokenizer=self.processing_class, model_inputs=model_inputs,
            references=[ds.references[i] for i in rows] if ds is not None and ds.references else [],
            record_ids=[ds.ids[i] for i in rows] if ds is not None and ds.ids else [],
            records=[ds.records[i] for i in rows] if self.needs.records and ds is not None and ds.records else [],
            gold_embeddings=gold, decoder_hidden=hidden, parameters=self.loss_parameters,
            global_step=self.state.global_step, epoch=self.state.epoch or 0.0, training=model.training,
            max_target_len=self.max_target_len,
            sample_seed=sample_seed(self.args.seed, self.state.global_step, rows) if rows else None,
            teacher=self.teacher, teacher_beams=beams, encoder_hidden=encoded, teacher_encoder_hidden=teacher_encoded)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs["labels"]
        rows = inputs.get("idx") or []  # a list: the collator keeps the row indices on the host
        critical = inputs.get("critical")
        topk = (TeacherTopK(inputs["teacher_topk_logp"], inputs["teacher_topk_ids"])
                if "teacher_topk_logp" in inputs else None)
        model_inputs = {k: v for k, v in inputs.items() if k != "labels" and k not in EXTRA_KEYS + TOPK_KEYS}
        all_states = self.needs.hidden_states
        want_hidden = self.needs.decoder_hidden or all_states
        outputs = model(**model_inputs, output_hidden_states=want_hidden)
        teacher_logits = teacher_out = None
        if (self.needs.teacher_logits and topk is None) or all_states:
            if self.teacher is None:
                raise ValueError("this batch has no cached teacher top-k and no teacher is loaded")
            with torch.no_grad():
                teacher_out = self.teacher(**model_inputs, output_hidden_states=all_states)
            teacher_logits = teacher_out.logits if self.needs.teacher_logits and topk is None else None
        progress = progress_at(self.state.global_step, self.state.max_steps)
        hidden = outputs.decoder_hidden_states[-1] if want_hidden else None
        ctx = self._context(model, inputs, model_inputs, rows, hidden, labels.device, outputs.encoder_last_hidden_state,
                            teacher_out.encoder_last_hidden_state if teacher_out is not None else None)
        if all_states:
            masks = (model_inputs["attention_mask"].bool(), labels != -100)
            ctx.student_states = HiddenStates(outputs.encoder_hidden_states, outputs.decoder_hidden_states, *masks)
            ctx.teacher_states = HiddenStates(teacher_out.encoder_hidden_states, teacher_out.decoder_hidden_states,
                                              *masks)
        total, parts, terms = self.loss_fn(LossInputs(outputs.logits, labels, teacher_logits, critical, progress, ctx,
                                                      teacher_topk=topk))
        if model.training:
            bad = ~torch.isfinite(total.detach())
            self._nonfinite_loss = bad if self._nonfinite_loss is None else self._nonfinite_loss | bad
            if self._micro == 0 and self.grad_norm_every and self.state.global_step % self.grad_norm_every == 0:
                parts.update(self._grad_norms(model, terms))
            self._record(total, parts, labels.shape[0], progress)
        return (total, outputs) if return_outputs else total

    def _grad_norms(self, model, terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """‖∂(weighted component)/∂θ‖ over the student's parameters, one autograd pass per component."""
        params = [p for p in model.parameters() if p.requires_grad]  # the student's, not the loss's own
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
        inputs = {k: v for k, v in inputs.items() if k not in EXTRA_KEYS + TOPK_KEYS}
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys, **gen_kwargs)

    # -- non-finite steps -----------------------------------------------------------------
    def create_optimizer(self, *args, **kwargs):
        optimizer = super().create_optimizer(*args, **kwargs)
        if len(self.loss_parameters):  # weights decay like the student's; biases do not
            named = list(self.loss_parameters.named_parameters())
            optimizer.add_param_group({"params": [p for n, p in named if not n.endswith("bias")],
                                       "weight_decay": self.args.weight_decay})
            optimizer.add_param_group({"params": [p for n, p in named if n.endswith("bias")], "weight_decay": 0.0})
        inner_step = optimizer.step

        def guarded_step(*a, **kw):
            self._average_loss_parameter_grads()
            grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            checks = [g.isfinite().all() for g in grads]
            if self._nonfinite_loss is not None:
                checks.append(~self._nonfinite_loss.to(checks[0].device if checks else "cpu"))
            finite = bool(torch.stack(checks).all()) if checks else True  # the step's one wait for the device
            self._nonfinite_loss = None
            self._loss_grads_averaged = False
            if finite:
                self.nonfinite_in_a_row = 0
                out = inner_step(*a, **kw)
                # The Trainer zeroes the student's gradients after each step, not the loss's own.
                self.loss_parameters.zero_grad(set_to_none=True)
                return out
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

    def _average_loss_parameter_grads(self) -> None:
        """Average the loss's own gradients over the processes of a multi-process run, once per
        optimizer step, before clipping: DDP averages the student's, but these live outside the
        wrapped model, and unaveraged they would drift apart from rank to rank."""
        if self._loss_grads_averaged or not len(self.loss_parameters) or self.accelerator.num_processes == 1:
            return
        self._loss_grads_averaged = True
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.loss_parameters.parameters()]
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat)
        flat /= self.accelerator.num_processes
        at = 0
        for p, g in zip(self.loss_parameters.parameters(), grads):
            p.grad = flat[at:at + g.numel()].view_as(p).clone()
            at += g.numel()

    def _clip_grad_norm(self, model):
        if not len(self.loss_parameters):
            return super()._clip_grad_norm(model)
        self._average_loss_parameter_grads()
        params = [*model.parameters(), *self.loss_parameters.parameters()]
        return self.accelerator.clip_grad_norm_(params, self.args.max_grad_norm)

    # -- the loss's parameters in checkpoints ---------------------------------------------
    def save_model(self, output_dir: str | None = None, _internal_call: bool = False):
        super().save_model(output_dir, _internal_call)
        # Checkpoints only (the Trainer's internal call), and before trainer_state.json is
        # written, so a checkpoint counted complete holds them.
        if _internal_call and len(self.loss_parameters) and output_dir and self.args.should_save:
            from safetensors.torch import save_file

            state = {k: v.detach().cpu().contiguous() for k, v in self.loss_parameters.state_dict().items()}
            save_file(state, str(Path(output_dir) / LOSS_PARAMETERS_FILE))
        if self.args.should_save and output_dir and Path(output_dir).is_dir():
            make_readable(output_dir)  # weights 0644 like every other result file, not the writer's 0600

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None):
        super()._load_from_checkpoint(resume_from_checkpoint, model)
        path = Path(resume_from_checkpoint) / LOSS_PARAMETERS_FILE
        if len(self.loss_parameters):
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: this checkpoint was saved without the loss's parameters")
            from safetensors.torch import load_file

            self.loss_parameters.load_state_dict(load_file(str(path), device=str(self.args.device)))

    # -- logging --------------------------------------------------------------------------
    def _record(self, total, parts, batch_size: int, progress: float) -> None:
        if self._micro == 0:
            self._step_t0 = time.perf_counter()
            self._sums.clear()
            self._counts.clear()
        self._micro += 1
        self._samples += batch_size
        for key, value in [("loss_total", total.detach()), ("progress", progress), *parts.items()]:
            self._sums[key] = self._sums[key] + value if key in self._sums else value
            self._counts[key] += 1

    def _step_means(self) -> dict[str, float]:
        """The step's mean of every logged value, read from the device in one transfer. In a
        multi-process run, the mean over the processes too (each rank's micro-batches are part of
        the step), as the Trainer's own `loss` is: one all-reduce per logging step."""
        keys = sorted(self._sums)  # every rank computes the same values on the same steps
        device = self.args.device
        dtype = torch.float32 if device.type == "mps" else torch.float64
        stacked = torch.stack([torch.as_tensor(self._sums[k]).detach().to(device, dtype) / self._counts[k]
                               for k in keys])
        if self.accelerator.num_processes > 1:
            torch.distributed.all_reduce(stacked)
            stacked /= self.accelerator.num_processes
        return dict(zip(keys, stacked.tolist()))

    def log(self, logs, start_time=None):
        if "loss" in logs and self._micro:
            # One optimizer step = the mean over the micro-batches where each value was computed.
            logs = dict(logs)
            logs.update(self._step_means())
            elapsed = time.perf_counter() - self._step_t0
            logs["samples_per_s"] = self._samples / elapsed if elapsed > 0 else float("nan")
            logs["nonfinite_skipped"] = self.nonfinite_total
            self._micro = 0
            self._samples = 0
        super().log(logs, start_time)
