"""Weight schedules: a component's weight as a function of training progress in [0, 1].

Progress counts optimizer updates: the k-th of N updates (0-based) runs at k / (N − 1), so the
first update uses a schedule's start value and the last its end value (see `progress_at`).
Counting updates makes a schedule mean the same thing whatever the batch size, accumulation or
number of devices.
"""
from __future__ import annotations

from typing import Callable

import math

Schedule = Callable[..., float]
SCHEDULES: dict[str, Schedule] = {}


def register_schedule(name: str) -> Callable[[Schedule], Schedule]:
    def add(fn: Schedule) -> Schedule:
        SCHEDULES[name] = fn
        return fn
    return add


@register_schedule("linear")
def linear(start: float, end: float, progress: float, **_) -> float:
    p = min(max(progress, 0.0), 1.0)
    return start + (end - start) * p


@register_schedule("cosine")
def cosine(start: float, end: float, progress: float, **_) -> float:
    p = min(max(progress, 0.0), 1.0)
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * p))


@register_schedule("step")
def step(start: float, end: float, progress: float, step_at: float = 0.5, **_) -> float:
    return start if progress < step_at else end


@register_schedule("constant")
def constant(start: float, end: float, progress: float, **_) -> float:
    return start


def progress_at(step: int, total_steps: int) -> float:
    """Progress of the update that starts at optimizer step `step` (0-based) of `total_steps`:
    0 for the first, 1 for the last (k / N would never reach 1; it ended a 10-step run at 0.9).
    A one-update run uses the start values; anything after the last update is clipped to 1."""
    return min(1.0, step / max(1, total_steps - 1))


def weight_at(schedule: str, start: float, end: float | None, progress: float, **kw) -> float:
    return SCHEDULES[schedule](start, start if end is None else end, progress, **kw)
