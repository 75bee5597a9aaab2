"""Loss components (registered in `registry`) and their weighted sum."""
from trident.losses import contrastive, sequence, token  # noqa: F401  (register their components)
from trident.losses.multi import MultiComponentLoss
from trident.losses.registry import COMPONENTS, LossInputs, StepContext, register_component

__all__ = ["COMPONENTS", "LossInputs", "MultiComponentLoss", "StepContext", "register_component"]
