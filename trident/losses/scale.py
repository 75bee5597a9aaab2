"""Scales: what multiplies a component's value and gradient (β of `semantic`).

One object owns a component's β for a run: a fixed number, or with `auto` the number chosen
after a warm-up from the running magnitudes of the core losses and of the component itself.
"""
from __future__ import annotations

from typing import Optional

import torch

from trident.losses.balance import recommend_beta

AUTO = "auto"  # loss.semantic_loss_scale: let training choose β from the running magnitudes


class FixedScale:
    def __init__(self, beta: float):
        self.beta = float(beta)

    def value(self) -> float:
        return self.beta

    def observe(self, name: str, raw: torch.Tensor, core: bool) -> None:
        pass

    def chosen(self) -> Optional[float]:
        return None


class AutoScale:
    """β = 1 until `owner` has been observed `warmup` times, then the β that brings its mean
    magnitude level with the mean of the core losses' mean magnitudes (balance.recommend_beta).

    Magnitudes are summed as tensors on the device and read back once, when β is chosen, so
    observing never waits for the device. NaN observations say nothing about magnitude: they
    are left out of both the sums and the counts."""

    def __init__(self, owner: str, warmup: int):
        self.owner, self.warmup = owner, warmup
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, torch.Tensor] = {}
        self._seen = 0  # observations of the owner, NaN or not: β is tried once this reaches warmup
        self._core: list[str] = []
        self._beta: Optional[float] = None

    def value(self) -> float:
        return 1.0 if self._beta is None else self._beta

    def chosen(self) -> Optional[float]:
        return self._beta

    def observe(self, name: str, raw: torch.Tensor, core: bool) -> None:
        if self._beta is not None:
            return
        raw = raw.detach().to(torch.float32 if raw.device.type == "mps" else torch.float64)
        known = ~torch.isnan(raw)
        self._sums[name] = self._sums.get(name, 0) + torch.where(known, raw.abs(), torch.zeros_like(raw))
        self._counts[name] = self._counts.get(name, 0) + known.to(raw.dtype)
        if core and name not in self._core:
            self._core.append(name)
        if name == self.owner:
            self._seen += 1
            if self._seen >= self.warmup:
                self._choose()

    def _choose(self) -> None:
        sums = {n: float(v) for n, v in self._sums.items()}  # the one read back from the device
        counts = {n: float(v) for n, v in self._counts.items()}
        if counts[self.owner] < self.warmup:  # NaNs among the owner's observations: wait for more
            return
        core_means = [sums[n] / counts[n] for n in self._core if counts[n] > 0]
        if core_means:
            beta = recommend_beta(sum(core_means) / len(core_means), sums[self.owner] / counts[self.owner])
            if beta == beta:
                self._beta = beta
                print(f"[trident] {self.owner}_loss_scale=auto: β = {beta:.4g} after {int(counts[self.owner])} observations")


def semantic_scale(cfg) -> FixedScale | AutoScale:
    """`loss.semantic_loss_scale`: a number, or `auto` with `loss.semantic_auto_warmup`."""
    if cfg.semantic_loss_scale == AUTO:
        return AutoScale("semantic", cfg.semantic_auto_warmup)
    return FixedScale(cfg.semantic_loss_scale)
