"""`contrastive`: InfoNCE between the student's prediction and the gold assertions of the batch.

anchor   = frozen-encoder embedding of the gold assertion (cached on disk per record id)
positive = the student's own embedding of its prediction
negatives = the other rows' gold embeddings

The student's side must carry gradient, and a frozen text encoder applied to decoded text
would not. So the student's embedding is its last decoder layer (teacher-forced on the
reference, i.e. the states it predicts each target token from), mean-pooled over real target
tokens and mapped by a small trained linear projection into the frozen encoder's space. The
loss pulls that projection of the student's states toward its own assertion's embedding and
away from the others; the gradient reaches every decoder and encoder layer of the student.
Rows whose gold text repeats inside the batch are not used as each other's negatives.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from trident.losses.registry import LossInputs, ModelShapes


def pooled_student_embedding(inputs: LossInputs) -> torch.Tensor:
    ctx = inputs.context
    projection = ctx.parameters["contrastive"]
    hidden = ctx.decoder_hidden.float()
    mask = (inputs.labels != -100).unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return F.normalize(projection(pooled.to(projection.weight.dtype)).float(), dim=-1)


def info_nce(student: torch.Tensor, gold: torch.Tensor, tau: float, duplicate: torch.Tensor | None = None) -> torch.Tensor:
    logits = student @ gold.T / tau
    if duplicate is not None:
        logits = logits.masked_fill(duplicate, float("-inf"))
    return F.cross_entropy(logits, torch.arange(len(student), device=student.device))


def make_projection(cfg, shapes: ModelShapes) -> torch.nn.Module:
    """The trained map from the student's decoder states into the frozen encoder's space."""
    from trident.encoders import embedding_dim

    return torch.nn.Linear(shapes.d_model, embedding_dim(cfg.contrastive_model))


def contrastive(inputs: LossInputs, cfg) -> torch.Tensor | None:
    ctx = inputs.context
    if ctx is None or ctx.decoder_hidden is None or ctx.parameters is None or "contrastive" not in ctx.parameters:
        return None
    gold = ctx.gold_embeddings[cfg.contrastive_model].to(ctx.decoder_hidden.device).float()
    codes: dict[str, int] = {}
    text_id = torch.tensor([codes.setdefault(r, len(codes)) for r in ctx.references], device=gold.device)
    same = text_id[:, None] == text_id[None, :]
    duplicate = same & ~torch.eye(len(text_id), dtype=torch.bool, device=gold.device)
    return info_nce(pooled_student_embedding(inputs), gold, cfg.contrastive_temperature, duplicate)
