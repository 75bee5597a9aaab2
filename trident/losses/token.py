"""Token-level loss components on [batch, target_len, vocab] logits.

Every value is a mean over real target tokens (labels != -100): padding neither adds to the
sum nor to the count, and whatever the logits hold at masked positions never reaches the
value, because masked positions are selected away with `torch.where` (a multiply by zero
would still let an inf or NaN through).

Soft distributions use logits / T. `kl` and `jsd` are multiplied by T² (Hinton et al., 2015):
the gradient of a softened loss shrinks like 1/T², so the factor keeps its scale independent
of the temperature and the weights comparable across temperatures.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from trident.losses.registry import LossInputs
from trident.schedules import weight_at


def upcast(logits: torch.Tensor) -> torch.Tensor:
    """Half-precision logits are softmaxed in float32; float64 stays float64 (reference tests)."""
    return logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits


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
    log_m = torch.logsumexp(torch.stack([teacher_logp + math.log(beta), student_logp + math.log1p(-beta)]), dim=0)
    return beta * kl_per_token(teacher_logp, log_m) + (1.0 - beta) * kl_per_token(student_logp, log_m)


def jsd_beta_error(beta: float) -> str:
    """The one message for a β outside (0, 1), shared by config validation and the loss."""
    return (f"loss.jsd_beta must be strictly between 0 and 1, not {beta}: at 0 or 1 the JSD mixture equals "
            "one side and the divergence is 0 (no distillation); for KL(teacher‖student) use the `kl` component")


def _soft(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.log_softmax(upcast(logits) / temperature, dim=-1)


def _teacher(inputs: LossInputs) -> torch.Tensor:
    if inputs.teacher_logits is None:
        raise ValueError("this loss component needs teacher logits")
    if inputs.teacher_logits.shape != inputs.student_logits.shape:
        raise ValueError(f"teacher logits {tuple(inputs.teacher_logits.shape)} and student logits "
                         f"{tuple(inputs.student_logits.shape)} differ in shape")
    return inputs.teacher_logits


def ce(inputs: LossInputs, cfg) -> torch.Tensor:
    weights = critical_token_weights(inputs, cfg)
    return masked_mean(token_nll(inputs.student_logits, inputs.labels), inputs.labels, weights)


def focal(inputs: LossInputs, cfg) -> torch.Tensor:
    nll = token_nll(inputs.student_logits, inputs.labels)
    p = torch.exp(-nll)
    weights = critical_token_weights(inputs, cfg)
    return masked_mean(cfg.focal_alpha * (1.0 - p).pow(cfg.focal_gamma) * nll, inputs.labels, weights)


def kl(inputs: LossInputs, cfg) -> torch.Tensor:
    t = temperature_at(cfg, inputs.progress)
    per_token = kl_per_token(_soft(_teacher(inputs), t), _soft(inputs.student_logits, t))
    return masked_mean(per_token, inputs.labels) * t * t


def jsd(inputs: LossInputs, cfg) -> torch.Tensor:
    t = temperature_at(cfg, inputs.progress)
    per_token = jsd_per_token(_soft(_teacher(inputs), t), _soft(inputs.student_logits, t), cfg.jsd_beta)
    return masked_mean(per_token, inputs.labels) * t * t
