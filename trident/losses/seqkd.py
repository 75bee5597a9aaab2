"""`seqkd`: sequence-level knowledge distillation (Kim & Rush, 2016) from the teacher's beams.

The teacher's best beam-search assertion for each training record (`trident teacher --beams N`,
trident.teacher_beams) is an extra reference: the student is trained with cross-entropy on it,
teacher-forced, in a second decoder pass on the same sources (their encoding reused from the
step's forward, losses.forced). The beam is what the teacher
would actually write, a mode of its sequence distribution, which token-level KD on the gold
prefix never shows the student.

`loss.seqkd_weighting=prob` weighs each row by the teacher's per-token probability of its beam,
exp(log p(beam) / length) in (0, 1], and takes the weighted mean over tokens: beams the teacher
is unsure of pull less. `none` weighs every beam 1.
"""
from __future__ import annotations

import torch

from trident.losses import token
from trident.losses.forced import logits_on
from trident.losses.registry import LossInputs


def beam_weights(logp: torch.Tensor, labels: torch.Tensor, weighting: str) -> torch.Tensor | None:
    """Per-token weights [batch, len] for the beams' cross-entropy (None: all 1)."""
    if weighting == "none":
        return None
    lengths = (labels != -100).sum(-1).clamp(min=1)
    row = torch.exp(logp / lengths)
    return row[:, None].expand_as(labels)


def seqkd(inputs: LossInputs, cfg) -> torch.Tensor | None:
    ctx = inputs.context
    if ctx is None or ctx.teacher_beams is None or ctx.model is None or not ctx.training:
        return None
    beams = ctx.teacher_beams
    labels = beams.labels
    logits = logits_on(ctx.model, ctx.model_inputs, labels, ctx.encoder_hidden)
    weights = beam_weights(beams.logp.to(logits.device), labels, cfg.seqkd_weighting)
    return token.masked_mean(token.token_nll(logits, labels), labels, weights)
