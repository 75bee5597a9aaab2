"""Token-level loss components on [batch, target_len, vocab] logits.

Every value is a mean over real target tokens (labels != -100): padding neither adds to the
sum nor to the count, and whatever the logits hold at masked positions never reaches the
value, because masked positions are selected away with `torch.where` (a multiply by zero
would still let an inf or NaN through).

Soft distributions use logits / T. `kl` and `jsd` are multiplied by T² (Hinton et al., 2015):
the gradient of a softened loss shrinks like 1/T², so the factor keeps its scale independent
of the temperature and the weights comparable across temperatures.

From a cached teacher (`LossInputs.teacher_topk`: its k most likely tokens per position, see
trident.teacher_cache) `kl` and `jsd` compare k + 1 buckets instead of the whole vocabulary:
the teacher's top-k tokens one by one, and one tail bucket holding the rest of its mass,
matched with the student's probabilities of the same k tokens and the student's own mass on
every other token. The cache holds log-probabilities at T = 1, so at T = 1 the buckets are
exact, and then: collapsing outcomes can only lower a divergence, so the cached value is at
most the full one; the two are equal when the student spreads its tail like the teacher does;
and the gradient on each student logit differs from the full one by at most 2·(teacher tail
mass) in L1 (tests/test_topk_losses.py proves all three). At T ≠ 1 the tail's shape is
unknown and is taken as uniform over the V − k tokens outside the top k.

`focal`, `kl` and `jsd` run fused (trident.losses.fused): value and hand-derived gradient
together, over the real target rows only, `fused.ROW_CHUNK` rows at a time. The autograd
versions stay here as `focal_reference`, `kl_reference` and `jsd_reference`: the tests hold the
fused ones to them in float64, and a teacher whose logits require grad (no training path
makes one: the teacher runs under no_grad) is sent to them, since the fused functions treat
the teacher as data.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from trident.losses import fused
from trident.losses.fused import EMPTY_BUCKET_LOGP, upcast
from trident.losses.registry import LossInputs, TeacherTopK
from trident.schedules import weight_at


def masked_mean(per_token: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over real target tokens; with `weights`, the weighted mean Σw·l / Σw over them."""
    mask = labels != -100
    picked = torch.where(mask, per_token, torch.zeros_like(per_token))
    if weights is None:
        return picked.sum() / mask.sum().clamp(min=1)
    w = torch.where(mask, weights.to(picked.dtype), torch.zeros_like(picked))
    return (picked * w).sum() / w.sum().clamp(min=1e-12)


def critical_token_weights(inputs: LossInputs, cfg) -> torch.Tensor | None:
    """Token weighting: assertion-deciding tokens weigh w, warming from 1 to w over the first
    `token_weight_warmup_epochs` (a young student cannot place them yet; full weight from step
    one mostly adds noise). None when weighting is off."""
    if inputs.critical is None or cfg.token_weight == 1.0:
        return None
    epoch = inputs.context.epoch if inputs.context is not None else float("inf")
    warm = 1.0 if cfg.token_weight_warmup_epochs <= 0 else min(1.0, epoch / cfg.token_weight_warmup_epochs)
    w = 1.0 + (cfg.token_weight - 1.0) * warm
    return 1.0 + (w - 1.0) * inputs.critical.float()


def temperature_at(cfg, progress: float) -> float:
    """The kl/jsd temperature on its schedule; annealing it changes how hard the teacher pulls."""
    return weight_at(cfg.temperature_schedule, cfg.temperature, cfg.temperature_end, progress)


def token_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-token −log p(label); 0 where the label is masked."""
    logp = F.log_softmax(upcast(logits), dim=-1)
    index = labels.clamp(min=0).unsqueeze(-1)
    nll = -logp.gather(-1, index).squeeze(-1)
    return torch.where(labels != -100, nll, torch.zeros_like(nll))


def kl_per_token(target_logp: torch.Tensor, logp: torch.Tensor) -> torch.Tensor:
    """KL(target ‖ p) per token, both given as log-probabilities."""
    return (target_logp.exp() * (target_logp - logp)).sum(-1)


def jsd_per_token(teacher_logp: torch.Tensor, student_logp: torch.Tensor, beta: float) -> torch.Tensor:
    """β·KL(T‖M) + (1−β)·KL(S‖M) with M = β·T + (1−β)·S, the mixture taken in log space.

    β must lie strictly between 0 and 1. At either end M is one of the two distributions and
    the divergence is identically 0 (no gradient, no distillation); near the ends it vanishes
    like β·KL(T‖S) and (1−β)·KL(S‖T), so substituting those KLs at exactly 0 or 1 would be a
    jump, not a limit. Use the `kl` component for KL(teacher‖student)."""
    if not 0.0 < beta < 1.0:
        raise ValueError(jsd_beta_error(beta))
    # logaddexp, not logsumexp over a stack: no [2, batch, len, vocab] copy
    log_m = torch.logaddexp(teacher_logp + math.log(beta), student_logp + math.log1p(-beta))
    return beta * kl_per_token(teacher_logp, log_m) + (1.0 - beta) * kl_per_token(student_logp, log_m)


def jsd_beta_error(beta: float) -> str:
    """The one message for a β outside (0, 1), shared by config validation and the loss."""
    return (f"loss.jsd_beta must be strictly between 0 and 1, not {beta}: at 0 or 1 the JSD mixture equals "
            "one side and the divergence is 0 (no distillation); for KL(teacher‖student) use the `kl` component")


def _soft(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.log_softmax(upcast(logits) / temperature, dim=-1)


# EMPTY_BUCKET_LOGP (fused): exp(−1e4) is 0 in float32 and float64 alike, so an empty bucket
# weighs nothing, and 0·(−inf) never becomes NaN


def teacher_buckets(topk: TeacherTopK, temperature: float, vocab: int) -> torch.Tensor:
    """The cached teacher as k + 1 bucket log-probabilities [..., k + 1] at `temperature`: its
    top-k tokens, then the tail of mass r = 1 − Σ p_top (from the T = 1 log-probabilities).
    At T ≠ 1 the tail is taken as uniform over the V − k other tokens, log p = log(r / (V − k))
    each, so the softened tail weighs (V − k)·(r / (V − k))^(1/T) before normalisation."""
    logp = upcast(topk.logp)
    k = logp.shape[-1]
    log_tail = torch.log((-torch.expm1(torch.logsumexp(logp, -1, keepdim=True))).clamp(min=0.0))
    others = vocab - k
    if others > 0:
        log_others = math.log(others)
        tail = log_others + (log_tail - log_others) / temperature
    else:
        tail = torch.full_like(log_tail, float("-inf"))
    scaled = torch.cat([logp / temperature, tail], -1)
    return (scaled - torch.logsumexp(scaled, -1, keepdim=True)).clamp(min=EMPTY_BUCKET_LOGP)


def student_buckets(student_logp: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """The student's log-probabilities [..., V] collapsed onto the teacher's buckets: the k
    tokens `ids`, then the student's mass on every other token (exactly, by a masked
    logsumexp, not as 1 − Σ, which loses all precision when the top-k hold nearly everything)."""
    top = student_logp.gather(-1, ids)
    rest = student_logp.scatter(-1, ids, float("-inf")).logsumexp(-1, keepdim=True)
    return torch.cat([top, rest.clamp(min=EMPTY_BUCKET_LOGP)], -1)


def _distributions(inputs: LossInputs, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(teacher, student) log-probabilities at `temperature`: over the vocabulary with the
    teacher online, over the k + 1 buckets with a cached teacher."""
    student = _soft(inputs.student_logits, temperature)
    if inputs.teacher_logits is not None:
        if inputs.teacher_logits.shape != inputs.student_logits.shape:
            raise ValueError(f"teacher logits {tuple(inputs.teacher_logits.shape)} and student logits "
                             f"{tuple(inputs.student_logits.shape)} differ in shape")
        return _soft(inputs.teacher_logits, temperature), student
    topk = inputs.teacher_topk
    if topk is None:
        raise ValueError("this loss component needs the teacher: its logits, or its cached top-k")
    if topk.ids.shape[:-1] != inputs.labels.shape:
        raise ValueError(f"cached teacher top-k {tuple(topk.ids.shape)} does not match labels {tuple(inputs.labels.shape)}")
    return teacher_buckets(topk, temperature, student.shape[-1]), student_buckets(student, topk.ids)


def ce(inputs: LossInputs, cfg) -> torch.Tensor:
    weights = critical_token_weights(inputs, cfg)
    return masked_mean(token_nll(inputs.student_logits, inputs.labels), inputs.labels, weights)


def focal_reference(inputs: LossInputs, cfg) -> torch.Tensor:
    nll = token_nll(inputs.student_logits, inputs.labels)
    p = torch.exp(-nll)
    weights = critical_token_weights(inputs, cfg)
    return masked_mean(cfg.focal_alpha * (1.0 - p).pow(cfg.focal_gamma) * nll, inputs.labels, weights)


def kl_reference(inputs: LossInputs, cfg) -> torch.Tensor:
    t = temperature_at(cfg, inputs.progress)
    teacher, student = _distributions(inputs, t)
    return masked_mean(kl_per_token(teacher, student), inputs.labels) * t * t


def jsd_reference(inputs: LossInputs, cfg) -> torch.Tensor:
    t = temperature_at(cfg, inputs.progress)
    teacher, student = _distributions(inputs, t)
    return masked_mean(jsd_per_token(teacher, student, cfg.jsd_beta), inputs.labels) * t * t


def focal(inputs: LossInputs, cfg, chunk: int = fused.ROW_CHUNK) -> torch.Tensor:
    logits, labels = inputs.student_logits, inputs.labels
    kernel = fused.focal_kernel(labels.reshape(-1), cfg.focal_alpha, cfg.focal_gamma)
    return fused.row_loss(logits, labels, kernel, weights=critical_token_weights(inputs, cfg), chunk=chunk)


def kl(inputs: LossInputs, cfg, chunk: int = fused.ROW_CHUNK) -> torch.Tensor:
    return _divergence(inputs, cfg, None, chunk)


def jsd(inputs: LossInputs, cfg, chunk: int = fused.ROW_CHUNK) -> torch.Tensor:
    if not 0.0 < cfg.jsd_beta < 1.0:
        raise ValueError(jsd_beta_error(cfg.jsd_beta))
    return _divergence(inputs, cfg, cfg.jsd_beta, chunk)


def _divergence(inputs: LossInputs, cfg, beta: float | None, chunk: int) -> torch.Tensor:
    """KL(teacher ‖ student) (beta None) or JSD_β at the scheduled temperature, times T², fused."""
    t = temperature_at(cfg, inputs.progress)
    student, labels = inputs.student_logits, inputs.labels
    vocab = student.shape[-1]
    if inputs.teacher_logits is not None:
        teacher = inputs.teacher_logits
        if teacher.shape != student.shape:
            raise ValueError(f"teacher logits {tuple(teacher.shape)} and student logits "
                             f"{tuple(student.shape)} differ in shape")
        if teacher.requires_grad and torch.is_grad_enabled():
            return (kl_reference if beta is None else jsd_reference)(inputs, cfg)
        flat = teacher.detach().reshape(-1, vocab)
        kernel = fused.kl_kernel(flat, t) if beta is None else fused.jsd_kernel(flat, t, beta)
        return fused.row_loss(student, labels, kernel, scale=t * t, chunk=chunk, teacher=flat)
    topk = inputs.teacher_topk
    if topk is None:
        raise ValueError("this loss component needs the teacher: its logits, or its cached top-k")
    if topk.ids.shape[:-1] != labels.shape:
        raise ValueError(f"cached teacher top-k {tuple(topk.ids.shape)} does not match labels {tuple(labels.shape)}")
    k = topk.ids.shape[-1]
    buckets = teacher_buckets(topk, t, vocab).detach().reshape(-1, k + 1)
    ids = topk.ids.reshape(-1, k)

    def in_log_space(rows_logits: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        # the reference's per-row values, for rows whose tail mass underflows in the fused sums
        student_b = student_buckets(_soft(rows_logits, t), ids.index_select(0, rows))
        teacher_b = buckets.index_select(0, rows)
        return kl_per_token(teacher_b, student_b) if beta is None else jsd_per_token(teacher_b, student_b, beta)

    kernel = fused.bucket_kernel(buckets, ids, t, beta, in_log_space)
    return fused.row_loss(student, labels, kernel, scale=t * t, chunk=chunk, teacher=buckets)
