"""Scales: what multiplies a component's value and gradient (β of `semantic`).

One object owns a component's β for a run: a fixed number, or with `auto` the number chosen
after a warm-up from the running magnitudes of the core losses and of the component itself.
"""
from __future__ import annotations

from typing import Optional

from trident.losses.balance import recommend_beta

AUTO = "auto"  # loss.semantic_loss_scale: let training choose β from the running magnitudes


class FixedScale:
    def __init__(self, beta: float):
        self.beta = float(beta)

    def value(self) -> float:
        return self.beta

    def observe(self, name: str, raw: float, core: bool) -> None:
        pass

    def chosen(self) -> Optional[float]:
        return None


class AutoScale:
    """β = 1 until `owner` has been observed `warmup` times, then the β that brings its mean
    magnitude level with the mean of the core losses' mean magnitudes (balance.recommend_beta)."""

    def __init__(self, owner: str, warmup: int):
        self.owner, self.warmup = owner, warmup
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._core: list[str] = []
        self._beta: Optional[float] = None

    def value(self) -> float:
        return 1.0 if self._beta is None else self._beta

    def chosen(self) -> Optional[float]:
        return self._beta

    def observe(self, name: str, raw: float, core: bool) -> None:
        if raw != raw or self._beta is not None:  # NaN says nothing about magnitude
            return
        self._sums[name] = self._sums.get(name, 0.0) + abs(raw)
        self._counts[name] = self._counts.get(name, 0) + 1
        if core and name not in self._core:
            self._core.append(name)
        if name == self.owner and self._counts[name] >= self.warmup:
            core_means = [self._sums[n] / self._counts[n] for n in self._core]
            if core_means:
                beta = recommend_beta(sum(core_means) / len(core_means), self._sums[name] / self._counts[name])
                if beta == beta:
                    self._beta = beta
                    print(f"[trident] {name}_loss_scale=auto: β = {beta:.4g} after {self._counts[name]} observations")


def semantic_scale(cfg) -> FixedScale | AutoScale:
    """`loss.semantic_loss_scale`: a number, or `auto` with `loss.semantic_auto_warmup`."""
    if cfg.semantic_loss_scale == AUTO:
        return AutoScale("semantic", cfg.semantic_auto_warmup)
    return FixedScale(cfg.semantic_loss_scale)
