"""The one place loss components register themselves.

Adding a component is one function plus one `@register_component(...)` line; configs name
components by these keys (`loss.components.<name>`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

import torch

if TYPE_CHECKING:
    from trident.config import LossConfig


@dataclass
class LossInputs:
    """What a component may look at for one micro-batch."""

    student_logits: torch.Tensor  # [batch, target_len, vocab]
    labels: torch.Tensor  # [batch, target_len], -100 where there is no target token
    teacher_logits: Optional[torch.Tensor] = None  # same shape as student_logits


ComponentFn = Callable[[LossInputs, "LossConfig"], torch.Tensor]


@dataclass(frozen=True)
class Component:
    name: str
    fn: ComponentFn
    needs_teacher: bool


COMPONENTS: dict[str, Component] = {}

# Named in the Trident design but not built yet: a config naming them must fail loudly,
# never train without them.
PLANNED = {
    "semantic": "sentence-embedding similarity",
    "pans": "position-aware n-gram similarity",
    "ast": "AST validity",
}


def register_component(name: str, needs_teacher: bool = False) -> Callable[[ComponentFn], ComponentFn]:
    def add(fn: ComponentFn) -> ComponentFn:
        if name in COMPONENTS:
            raise ValueError(f"loss component {name!r} registered twice")
        COMPONENTS[name] = Component(name, fn, needs_teacher)
        return fn
    return add


def check_components(names) -> None:
    from trident.config import ConfigError

    import trident.losses.token  # noqa: F401  (registers the token-level components)

    if not names:
        raise ConfigError("loss.components is empty: name at least one component")
    for name in names:
        if name in COMPONENTS:
            continue
        if name in PLANNED:
            raise ConfigError(
                f"loss component {name!r} ({PLANNED[name]}) is not implemented in this version of trident; "
                f"remove it from loss.components (available: {', '.join(sorted(COMPONENTS))})")
        raise ConfigError(f"unknown loss component {name!r}; available: {', '.join(sorted(COMPONENTS))}")
