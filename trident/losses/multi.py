"""MultiComponentLoss: the weighted sum of named components, each weight on its schedule.

Weights are applied exactly as written (no renormalisation). For every component the raw
value, the applied weight, any scale (β for semantic) and the weighted value are returned for
logging; a component that is not computed on a step (None) adds nothing and is not logged.
"""
from __future__ import annotations

from typing import Optional

import torch

from trident.losses import catalog, sequence
from trident.losses.registry import LossInputs, ModelShapes, Needs, StepContext
from trident.schedules import weight_at


class MultiComponentLoss:
    def __init__(self, loss_cfg):
        self.cfg = loss_cfg
        self.components = catalog.resolve(loss_cfg.components, loss_cfg.plugins)
        self.names = list(self.components)
        self.scales = {n: c.scale(loss_cfg) for n, c in self.components.items() if c.scale is not None}
        self.rewards = tuple(n for n, c in self.components.items() if c.kind == "sequence")

    @property
    def needs(self) -> Needs:
        out = Needs()
        for c in self.components.values():
            out = out | c.needs_for(self.cfg)
        return out

    @property
    def has_sequence_terms(self) -> bool:
        return bool(self.rewards)

    def make_parameters(self, shapes: ModelShapes) -> torch.nn.ModuleDict:
        """The components' trainable parameters for these models, by component name."""
        return torch.nn.ModuleDict({n: c.parameters(self.cfg, shapes) for n, c in self.components.items()
                                    if c.parameters is not None})

    def chosen_scales(self) -> dict[str, Optional[float]]:
        """Each scaled component's β as chosen during training (None where it is fixed or not chosen yet)."""
        return {n: s.chosen() for n, s in self.scales.items()}

    def weights(self, progress: float) -> dict[str, float]:
        return {n: weight_at(c.schedule, c.start, c.end, progress, step_at=c.step_at)
                for n, c in self.cfg.components.items()}

    def __call__(self, inputs: LossInputs, progress: float | None = None):
        """(total, parts, terms): parts are for logging (detached tensors, and plain floats for
        weights and scales: nothing here waits for the device), terms the weighted tensors (for
        per-component gradient norms)."""
        if progress is not None:
            inputs.progress = progress
        ctx = inputs.context if inputs.context is not None else StepContext(training=False)
        inputs.context = ctx
        wanted = max((c.samples(inputs, self.cfg) for c in self.components.values() if c.samples is not None),
                     default=0)
        if wanted and (inputs.samples is None or len(inputs.samples) < wanted):
            # one sampling pass serves every component that samples on this micro-batch
            inputs.samples = sequence.draw_samples(inputs, wanted)
        if self.rewards and inputs.rewards is None and sequence.due(ctx, self.cfg):
            # one sampling pass serves every reward of the step
            inputs.rewards = sequence.sample_rewards(inputs, self.cfg, self.rewards)
        logits = inputs.student_logits
        total = logits.new_zeros((), dtype=torch.promote_types(logits.dtype, torch.float32))
        parts: dict[str, torch.Tensor | float] = {}
        terms: dict[str, torch.Tensor] = {}
        for name, weight in self.weights(inputs.progress).items():
            comp = self.components[name]
            raw = comp.fn(inputs, self.cfg)
            if raw is None:
                continue
            scale = self.scales[name].value() if name in self.scales else 1.0
            weighted = weight * scale * raw
            total = total + weighted
            terms[name] = weighted
            parts[f"{name}/raw"] = raw.detach()
            parts[f"{name}/weight"] = weight
            if name in self.scales:
                parts[f"{name}/scale"] = scale
            parts[f"{name}/weighted"] = weighted.detach()
            if ctx.training:
                for s in self.scales.values():
                    s.observe(name, raw.detach(), comp.core)
        return total, parts, terms
