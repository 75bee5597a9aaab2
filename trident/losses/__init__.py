"""Loss components (registered in `registry`) and their weighted sum."""
from trident.losses import token  # noqa: F401  (registers ce, focal, kl, jsd)
from trident.losses.multi import MultiComponentLoss
from trident.losses.registry import COMPONENTS, LossInputs, register_component

__all__ = ["COMPONENTS", "LossInputs", "MultiComponentLoss", "register_component"]
