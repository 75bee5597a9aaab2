"""The one place loss components register themselves.

Adding a component is one function plus one `@register_component(...)` line; configs name
components by these keys (`loss.components.<name>`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

import torch

if TYPE_CHECKING:
    from trident.config import LossConfig


@dataclass
class StepContext:
    """What sequence-level components need beyond logits: the student itself, its inputs, the
    reference texts and ids of the batch, and a per-micro-batch cache that lets several
    components share one expensive computation (one sampling pass serves semantic, pans, ast)."""

    model: Any = None
    tokenizer: Any = None
    model_inputs: dict = field(default_factory=dict)
    references: list = field(default_factory=list)  # target text per row
    record_ids: list = field(default_factory=list)
    gold_embeddings: dict = field(default_factory=dict)  # encoder name -> [batch, dim] unit-norm target embeddings
    decoder_hidden: Optional[torch.Tensor] = None  # [batch, target_len, d_model], student's last decoder layer
    projection: Any = None  # trained map from decoder states to the contrastive encoder's space
    global_step: int = 0
    epoch: float = 0.0
    training: bool = True
    max_target_len: int = 64
    cache: dict = field(default_factory=dict)


@dataclass
class LossInputs:
    """What a component may look at for one micro-batch."""

    student_logits: torch.Tensor  # [batch, target_len, vocab]
    labels: torch.Tensor  # [batch, target_len], -100 where there is no target token
    teacher_logits: Optional[torch.Tensor] = None  # same shape as student_logits
    critical: Optional[torch.Tensor] = None  # [batch, target_len] 1 where a target token decides the assertion
    progress: float = 0.0  # optimizer step / total steps
    context: Optional[StepContext] = None


# A component returns a scalar tensor, or None when it is not computed on this step
# (sequence-level terms run every `seq_reward_every` steps).
ComponentFn = Callable[[LossInputs, "LossConfig"], Optional[torch.Tensor]]


@dataclass(frozen=True)
class Component:
    name: str
    fn: ComponentFn
    needs_teacher: bool
    needs: frozenset = frozenset()  # "gold:<config key of an encoder>", "decoder_hidden", "projection"
    scale: Optional[Callable] = None  # (cfg, context) -> float multiplying value and gradient (β for semantic)


COMPONENTS: dict[str, Component] = {}

# Named in the Trident design but not built yet: a config naming them must fail loudly,
# never train without them.
PLANNED: dict[str, str] = {}


def register_component(name: str, needs_teacher: bool = False, needs: tuple = (),
                       scale: Optional[Callable] = None) -> Callable[[ComponentFn], ComponentFn]:
    def add(fn: ComponentFn) -> ComponentFn:
        if name in COMPONENTS:
            raise ValueError(f"loss component {name!r} registered twice")
        COMPONENTS[name] = Component(name, fn, needs_teacher, frozenset(needs), scale)
        return fn
    return add


def check_components(names) -> None:
    from trident.config import ConfigError

    import trident.losses  # noqa: F401  (registers every built-in component)

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
