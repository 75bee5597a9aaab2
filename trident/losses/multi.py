"""MultiComponentLoss: the weighted sum of named components, each weight on its schedule.

Weights are applied exactly as written (no renormalisation), and every component's raw
value, applied weight and weighted value is returned for logging.
"""
from __future__ import annotations

import torch

from trident.losses.registry import COMPONENTS, LossInputs, check_components
from trident.schedules import weight_at


class MultiComponentLoss:
    def __init__(self, loss_cfg):
        check_components(loss_cfg.components)
        self.cfg = loss_cfg
        self.names = list(loss_cfg.components)

    @property
    def needs_teacher(self) -> bool:
        return any(COMPONENTS[n].needs_teacher for n in self.names)

    def weights(self, progress: float) -> dict[str, float]:
        return {n: weight_at(c.schedule, c.start, c.end, progress) for n, c in self.cfg.components.items()}

    def __call__(self, inputs: LossInputs, progress: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        total = inputs.student_logits.new_zeros((), dtype=torch.promote_types(inputs.student_logits.dtype, torch.float32))
        parts: dict[str, torch.Tensor] = {}
        for name, weight in self.weights(progress).items():
            raw = COMPONENTS[name].fn(inputs, self.cfg)
            weighted = weight * raw
            total = total + weighted
            parts[f"{name}/raw"] = raw.detach()
            parts[f"{name}/weight"] = torch.tensor(weight)
            parts[f"{name}/weighted"] = weighted.detach()
        return total, parts
