"""Where loss components and rewards are registered, and the types they see.

A component is one function `(LossInputs, LossConfig) -> scalar tensor | None` plus a
`Component` record that describes it: its kind, whether it is a core loss for β balancing,
what it needs from the training step, an optional scale (β) and optional trainable
parameters. Built-in components are registered in `trident.losses.catalog`; a user's own
module registers the same way and is named in `loss.plugins`:

    from trident.losses.registry import Needs, register_component

    @register_component("length_penalty", kind="token", doc="mean predicted length / target length")
    def length_penalty(inputs, cfg):
        ...

A reward (a score in [0, 1] of decoded text against its reference) becomes a sequence
component trained by the self-critical term with one call,
`trident.losses.sequence.register_reward`.

This module imports nothing from the loss implementations, so it is safe to import from
anywhere (plugins, the catalog, the trainer).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Literal, Optional, Protocol

import torch

Kind = Literal["token", "sequence", "representation"]
KINDS: tuple[Kind, ...] = ("token", "sequence", "representation")


@dataclass(frozen=True)
class Needs:
    """What a component reads from the training step beyond the student's logits and labels."""

    teacher_logits: bool = False  # the teacher's distribution: full logits online, or its cached top-k
    decoder_hidden: bool = False  # the student's last decoder layer, [batch, target_len, d_model]
    gold_embeddings: tuple[str, ...] = ()  # LossConfig keys naming encoders whose target embeddings it reads
    records: bool = False  # the batch's records (a reward scoring with them gets `records=` per text)
    # the teacher itself, run in the step: its hidden states, or its distribution on targets other
    # than the gold ones; neither is in the teacher-logit cache, so a run needing it refuses a cache
    teacher_online: bool = False
    hidden_states: bool = False  # every encoder and decoder layer of the student and of the teacher
    teacher_beams: bool = False  # the teacher's best beam per training row (trident.teacher_beams)

    def __or__(self, other: "Needs") -> "Needs":
        merged = {f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self)}
        merged["gold_embeddings"] = tuple(dict.fromkeys(self.gold_embeddings + other.gold_embeddings))
        return Needs(**merged)


@dataclass(frozen=True)
class ModelShapes:
    """The widths and depths a component's trainable parameters are built for."""

    d_model: int  # the student's
    layers: tuple[int, int] = (0, 0)  # the student's encoder and decoder layers
    teacher_d_model: Optional[int] = None  # None when the teacher is not loaded (its logits are cached)
    teacher_layers: Optional[tuple[int, int]] = None


@dataclass
class HiddenStates:
    """One model's hidden states for a micro-batch: index 0 of each stack is the embeddings'
    output, index i the output of layer i; the masks mark real (non-padding) positions."""

    encoder: tuple  # of [batch, source_len, width]
    decoder: tuple  # of [batch, target_len, width]
    encoder_mask: torch.Tensor  # [batch, source_len] bool
    decoder_mask: torch.Tensor  # [batch, target_len] bool


@dataclass
class BeamTargets:
    """The teacher's best beam for each row of a micro-batch (trident.teacher_beams)."""

    labels: torch.Tensor  # [batch, beam_len] token ids, -100 after the beam's eos
    logp: torch.Tensor  # [batch] Σ log p_teacher(beam) at T = 1
    texts: list = field(default_factory=list)  # decoded beam per row
    embeddings: dict = field(default_factory=dict)  # encoder name -> [batch, dim] unit-norm beam embeddings


class Scale(Protocol):
    """A multiplier of a component's value and gradient (β of `semantic`): fixed, or chosen
    during training from what `observe` is shown."""

    def value(self) -> float: ...

    def observe(self, name: str, raw: torch.Tensor, core: bool) -> None: ...  # a detached scalar

    def chosen(self) -> Optional[float]: ...


@dataclass
class StepContext:
    """The training step, for components that need more than logits: the student, its inputs,
    the batch's reference texts and ids, and what the component's `Needs` asked for."""

    model: Any = None
    tokenizer: Any = None
    model_inputs: dict = field(default_factory=dict)
    references: list = field(default_factory=list)  # target text per row
    record_ids: list = field(default_factory=list)
    records: list = field(default_factory=list)  # trident.data.records.Record per row (rewards that run tests)
    gold_embeddings: dict = field(default_factory=dict)  # encoder name -> [batch, dim] unit-norm target embeddings
    decoder_hidden: Optional[torch.Tensor] = None  # [batch, target_len, d_model], student's last decoder layer
    # [batch, source_len, d_model], the last encoder layer of the step's forwards (the student's
    # carries gradient): second decoder passes on other targets reuse them (losses.forced)
    encoder_hidden: Optional[torch.Tensor] = None
    teacher_encoder_hidden: Optional[torch.Tensor] = None
    parameters: Any = None  # torch.nn.ModuleDict: each component's trainable loss parameters, by name
    global_step: int = 0
    epoch: float = 0.0
    training: bool = True
    max_target_len: int = 64
    # seeds the self-critical term's sampling for this micro-batch (from the run's seed, the step
    # and the batch's rows), so a sample depends on neither the process layout nor a resume
    sample_seed: Optional[int] = None
    teacher: Any = None  # the teacher model when it runs online (eval mode, no gradient)
    student_states: Optional[HiddenStates] = None  # when a component's Needs asked for hidden_states
    teacher_states: Optional[HiddenStates] = None
    teacher_beams: Optional[BeamTargets] = None


@dataclass
class SampledRewards:
    """One sampling pass per micro-batch, shared by every active reward (see losses.sequence)."""

    sample: torch.Tensor  # [n, len] sampled token ids (pad after eos)
    logp: torch.Tensor  # [n] log p(sample) / max_target_len, carries gradient
    sample_scores: dict[str, torch.Tensor]  # reward -> [n]
    baseline_scores: dict[str, torch.Tensor]


@dataclass
class TeacherTopK:
    """The teacher's k most likely tokens per target position, from the logit cache
    (trident.teacher_cache): log-probabilities at temperature 1 and their token ids. The rest
    of the teacher's mass (1 − Σ exp(logp)) is one tail bucket (see losses.token)."""

    logp: torch.Tensor  # [batch, target_len, k], float
    ids: torch.Tensor  # [batch, target_len, k], long


@dataclass
class LossInputs:
    """What a component may look at for one micro-batch."""

    student_logits: torch.Tensor  # [batch, target_len, vocab]
    labels: torch.Tensor  # [batch, target_len], -100 where there is no target token
    teacher_logits: Optional[torch.Tensor] = None  # same shape as student_logits
    critical: Optional[torch.Tensor] = None  # [batch, target_len] 1 where a target token decides the assertion
    progress: float = 0.0  # optimizer step / total steps
    context: Optional[StepContext] = None
    rewards: Optional[SampledRewards] = None  # set on the steps where the sequence terms are computed
    teacher_topk: Optional[TeacherTopK] = None  # instead of teacher_logits, when the teacher is cached
    # the student's own samples for the first rows of the micro-batch [n, len] (pad after eos):
    # drawn once per micro-batch for every component that asked (Component.samples)
    samples: Optional[torch.Tensor] = None


# A component returns a scalar tensor, or None when it is not computed on this step
# (sequence-level terms run every `seq_reward_every` steps).
# (The config is trident.config.LossConfig; not imported here, so that config may consult this registry.)
ComponentFn = Callable[[LossInputs, Any], Optional[torch.Tensor]]


@dataclass(frozen=True)
class Component:
    name: str
    fn: ComponentFn
    kind: Kind
    doc: str = ""
    core: bool = False  # a core distillation loss: β balancing brings other terms level with these
    needs: Needs = Needs()
    scale: Optional[Callable[[Any], Scale]] = None  # builds the component's β
    # (loss config, ModelShapes) -> the component's trainable parameters; trained with the
    # student in their own optimizer group and saved in checkpoints, never in the saved student.
    parameters: Optional[Callable[[Any, ModelShapes], torch.nn.Module]] = None
    # what it needs besides `needs` under a given loss config (semantic scored against the teacher's beams)
    config_needs: Optional[Callable[[Any], Needs]] = None
    # (inputs, loss config) -> how many rows of this micro-batch it wants sampled from the student
    # (0 = none): the largest request is drawn once and shared (LossInputs.samples)
    samples: Optional[Callable[[Any, Any], int]] = None

    def needs_for(self, cfg) -> Needs:
        return self.needs | self.config_needs(cfg) if self.config_needs is not None else self.needs


@dataclass(frozen=True)
class Reward:
    """A score in [0, 1] of decoded texts against their references (higher is better).
    `score(texts, references, gold, cfg, device) -> [n]`; `gold` holds the references'
    embeddings by encoder name when the reward's `needs` asked for them, and `teacher=` the
    teacher's best beams' embeddings (same keys) when they ask for teacher_beams."""

    name: str
    score: Callable[..., torch.Tensor]
    doc: str = ""
    needs: Needs = Needs()
    config_needs: Optional[Callable[[Any], Needs]] = None

    def needs_for(self, cfg) -> Needs:
        return self.needs | self.config_needs(cfg) if self.config_needs is not None else self.needs


COMPONENTS: dict[str, Component] = {}
REWARDS: dict[str, Reward] = {}


def add_component(component: Component) -> Component:
    if component.kind not in KINDS:
        raise ValueError(f"loss component {component.name!r}: kind must be one of {', '.join(KINDS)}, not {component.kind!r}")
    if component.name in COMPONENTS:
        raise ValueError(f"loss component {component.name!r} registered twice")
    COMPONENTS[component.name] = component
    return component


def register_component(name: str, kind: Kind = "token", doc: str = "", core: bool = False, needs: Needs = Needs(),
                       scale=None, parameters=None, config_needs=None, samples=None) -> Callable[[ComponentFn], ComponentFn]:
    """Decorator form of `add_component`, for a component in one function."""
    def add(fn: ComponentFn) -> ComponentFn:
        add_component(Component(name, fn, kind, doc or (fn.__doc__ or "").strip().split("\n")[0], core, needs,
                                scale, parameters, config_needs, samples))
        return fn
    return add


def add_reward(reward: Reward, component: Component) -> Reward:
    if reward.name in REWARDS:
        raise ValueError(f"reward {reward.name!r} registered twice")
    add_component(component)
    REWARDS[reward.name] = reward
    return reward
