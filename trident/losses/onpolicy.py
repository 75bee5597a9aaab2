"""`gkd`: on-policy distillation for encoder-decoders (generalized knowledge distillation,
Agarwal et al., 2024), on the student's own samples.

With probability `loss.onpolicy_lambda` (drawn per micro-batch from its sampling seed, so a
resumed or multi-process run makes the same draws) the micro-batch is on-policy: its targets
are sequences sampled from the student. Student and teacher are both run teacher-forced on
those samples (same sources), and the generalized JSD (`loss.jsd_beta`, at the kl/jsd
temperature, times T²) is taken token by token over each sample up to and including its eos:
exactly the token-level `jsd`, on the sample instead of the gold assertion. Both passes reuse
their model's encoding of the sources from the step's forwards (losses.forced). Otherwise the
targets are the gold ones and the value is `jsd` on the step's logits.

As in GKD no gradient flows through the sampling: the samples are data, and the gradient
reaches the student through its logits on them. The sampling pass is shared with the
self-critical term on the steps where both run (LossInputs.samples).

The teacher's distribution on the student's samples cannot be cached (the samples are new
every step): this component needs the teacher online.
"""
from __future__ import annotations

import random

import torch

from trident.losses import token
from trident.losses.forced import logits_on
from trident.losses.registry import LossInputs


def onpolicy_now(inputs: LossInputs, cfg) -> bool:
    """Whether this micro-batch is on-policy: a draw with probability λ from its own seed."""
    ctx = inputs.context
    if ctx is None or not ctx.training or ctx.model is None or ctx.teacher is None or cfg.onpolicy_lambda <= 0:
        return False
    if cfg.onpolicy_lambda >= 1:
        return True
    seed = ctx.sample_seed if ctx.sample_seed is not None else ctx.global_step
    return random.Random(f"gkd:{seed}").random() < cfg.onpolicy_lambda


def sample_rows(inputs: LossInputs, cfg) -> int:
    """On-policy micro-batches sample every row."""
    return inputs.labels.shape[0] if onpolicy_now(inputs, cfg) else 0


def sample_labels(sample: torch.Tensor, eos_id: int) -> torch.Tensor:
    """A sample as labels: its tokens up to and including the first eos, -100 after."""
    is_eos = (sample == eos_id).long()
    after = (is_eos.cumsum(-1) - is_eos) > 0
    return sample.masked_fill(after, -100)


def gkd(inputs: LossInputs, cfg) -> torch.Tensor:
    if not onpolicy_now(inputs, cfg) or inputs.samples is None:
        return token.jsd(inputs, cfg)
    ctx = inputs.context
    sample = inputs.samples
    labels = sample_labels(sample, ctx.tokenizer.eos_token_id)
    student_logits = logits_on(ctx.model, ctx.model_inputs, sample, ctx.encoder_hidden)
    with torch.no_grad():
        teacher_logits = logits_on(ctx.teacher, ctx.model_inputs, sample, ctx.teacher_encoder_hidden)
    return token.jsd(LossInputs(student_logits, labels, teacher_logits, progress=inputs.progress), cfg)
