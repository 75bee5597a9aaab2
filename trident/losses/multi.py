"""MultiComponentLoss: the weighted sum of named components, each weight on its schedule.

Weights are applied exactly as written (no renormalisation). For every component the raw
value, the applied weight, any scale (β for semantic) and the weighted value are returned for
logging; a component that is not computed on a step (None) adds nothing and is not logged.
"""
from __future__ import annotations

import torch

from trident.config import AUTO
from trident.losses.balance import CORE, recommend_beta
from trident.losses.registry import COMPONENTS, LossInputs, StepContext, check_components
from trident.losses.sequence import KINDS
from trident.schedules import weight_at


class MultiComponentLoss:
    def __init__(self, loss_cfg):
        check_components(loss_cfg.components)
        self.cfg = loss_cfg
        self.names = list(loss_cfg.components)
        self.auto_beta: float | None = None
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    @property
    def needs_teacher(self) -> bool:
        return any(COMPONENTS[n].needs_teacher for n in self.names)

    def needs(self) -> set[str]:
        return set().union(*(COMPONENTS[n].needs for n in self.names))

    def weights(self, progress: float) -> dict[str, float]:
        return {n: weight_at(c.schedule, c.start, c.end, progress, step_at=c.step_at)
                for n, c in self.cfg.components.items()}

    def __call__(self, inputs: LossInputs, progress: float | None = None):
        """(total, parts, terms): parts are detached numbers for logging, terms the weighted
        tensors (for per-component gradient norms)."""
        if progress is not None:
            inputs.progress = progress
        ctx = inputs.context if inputs.context is not None else StepContext(training=False)
        inputs.context = ctx
        ctx.cache["active"] = tuple(n for n in self.names if n in KINDS)
        if self.auto_beta is not None:
            ctx.cache["auto_beta"] = self.auto_beta
        logits = inputs.student_logits
        total = logits.new_zeros((), dtype=torch.promote_types(logits.dtype, torch.float32))
        parts: dict[str, torch.Tensor] = {}
        terms: dict[str, torch.Tensor] = {}
        for name, weight in self.weights(inputs.progress).items():
            comp = COMPONENTS[name]
            raw = comp.fn(inputs, self.cfg)
            if raw is None:
                continue
            scale = comp.scale(self.cfg, ctx) if comp.scale is not None else 1.0
            weighted = weight * scale * raw
            total = total + weighted
            terms[name] = weighted
            parts[f"{name}/raw"] = raw.detach()
            parts[f"{name}/weight"] = torch.tensor(weight)
            if comp.scale is not None:
                parts[f"{name}/scale"] = torch.tensor(scale)
            parts[f"{name}/weighted"] = weighted.detach()
            if ctx.training:
                self._observe(name, float(raw.detach()))
        return total, parts, terms

    def _observe(self, name: str, value: float) -> None:
        if value != value:  # NaN says nothing about magnitude
            return
        self._sums[name] = self._sums.get(name, 0.0) + abs(value)
        self._counts[name] = self._counts.get(name, 0) + 1
        if (self.cfg.semantic_loss_scale == AUTO and self.auto_beta is None and name == "semantic"
                and self._counts[name] >= self.cfg.semantic_auto_warmup):
            core = [self._sums[n] / self._counts[n] for n in self.names if n in CORE and self._counts.get(n)]
            if core:
                beta = recommend_beta(sum(core) / len(core), self._sums[name] / self._counts[name])
                if beta == beta:
                    self.auto_beta = beta
                    print(f"[trident] semantic_loss_scale=auto: β = {beta:.4g} after {self._counts[name]} observations")
