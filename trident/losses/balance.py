"""Loss-magnitude balancing: the β that brings the scaled semantic term level with the core losses.

Shared by `semantic_loss_scale: auto` (during training) and `trident analyse-loss-scale`
(after it), so both recommend the same number from the same evidence.
"""
from __future__ import annotations

import math

BETA_RANGE = (0.1, 100.0)

def recommend_beta(core_magnitude: float, semantic_magnitude: float) -> float:
    """β with β·semantic = core: the middle (in ratio) of the 0.5–2× band around the core."""
    if not (math.isfinite(core_magnitude) and math.isfinite(semantic_magnitude)) or semantic_magnitude <= 0:
        return float("nan")
    lo, hi = BETA_RANGE
    return min(hi, max(lo, core_magnitude / semantic_magnitude))
