"""Weight schedules: a component's weight as a function of training progress in [0, 1].

Progress is optimizer step / total optimizer steps, so a schedule means the same thing
whatever the batch size, accumulation or number of devices.
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


def weight_at(schedule: str, start: float, end: float | None, progress: float, **kw) -> float:
    return SCHEDULES[schedule](start, start if end is None else end, progress, **kw)
