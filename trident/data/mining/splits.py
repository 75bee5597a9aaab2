"""Train/val/test by group (repository, package or test class), so no group is in two splits.

Groups are shuffled with the seed, then each goes to the split furthest below its share of the
records so far: the record shares come out close to the asked ones even with few, uneven groups.
"""
from __future__ import annotations

import random
from typing import Sequence

from trident.errors import ConfigError

SPLITS = ("train", "val", "test")


def parse_ratios(text: str) -> tuple[float, float, float]:
    """`80/10/10` → (0.8, 0.1, 0.1)."""
    parts = text.split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or any(v < 0 for v in values) or sum(values) <= 0:
        raise ConfigError(f"--split must be three non-negative numbers like 80/10/10, got {text!r}")
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total


def assign(sizes: dict[str, int], ratios: Sequence[float], seed: int) -> dict[str, str]:
    """group → split. `sizes` holds each group's record count."""
    groups = sorted(sizes)
    random.Random(seed).shuffle(groups)
    # Largest groups first would balance better, but a group's place would then depend on the
    # others' sizes; the shuffle keeps the draw honest and the deficit rule keeps shares close.
    filled = dict.fromkeys(SPLITS, 0)
    out = {}
    for g in groups:
        total = sum(filled.values()) + sizes[g]
        split = max((s for s, r in zip(SPLITS, ratios) if r > 0),
                    key=lambda s: ratios[SPLITS.index(s)] * total - filled[s])
        out[g] = split
        filled[split] += sizes[g]
    return out
