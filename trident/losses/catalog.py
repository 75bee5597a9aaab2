"""The one place the built-in loss components and rewards register, and where a run's
components are resolved: built-ins, then the user's `loss.plugins`, then the names checked.

Adding a built-in is one function in its module and one line here.
"""
from __future__ import annotations

from trident.errors import ConfigError
from trident.execution.reward import exec_score
from trident.losses import contrastive, sequence, token
from trident.losses.registry import COMPONENTS, Component, Needs, add_component
from trident.losses.scale import semantic_scale
from trident.plugins import load_plugin

add_component(Component("ce", token.ce, "token", "cross-entropy on the gold assertion tokens", core=True))
add_component(Component("focal", token.focal, "token", "focal loss: cross-entropy focused on hard tokens", core=True))
add_component(Component("kl", token.kl, "token", "KL(teacher ‖ student) of the softened distributions", core=True,
                        needs=Needs(teacher_logits=True)))
add_component(Component("jsd", token.jsd, "token", "generalized Jensen–Shannon divergence to the teacher", core=True,
                        needs=Needs(teacher_logits=True)))
add_component(Component("contrastive", contrastive.contrastive, "representation",
                        "InfoNCE between the student's projected decoder states and the gold assertions' embeddings",
                        needs=Needs(decoder_hidden=True, gold_embeddings=("contrastive_model",)),
                        parameters=contrastive.make_projection))
sequence.register_reward("semantic", sequence.semantic_score, "(1 + cosine) / 2 of sentence embeddings",
                         needs=Needs(gold_embeddings=("semantic_model",)), scale=semantic_scale)
sequence.register_reward("pans", sequence.pans_score, "PANS: position-aware n-gram similarity on Java tokens")
sequence.register_reward("ast", sequence.assertion_score, "share of lines that are assertion statements")
sequence.register_reward("exec", exec_score, "runs the sample in its record's test: 0 unless it compiles and passes, "
                         "then 1/2 + 1/2 · share of mutants killed (executable records; needs Java)",
                         needs=Needs(records=True))

def resolve(names, plugins=()) -> dict[str, Component]:
    """The registered components for `names` (after importing `plugins`), in the given order;
    an unknown name is a ConfigError listing what is available."""
    for plugin in plugins:
        load_plugin(plugin, "loss.plugins")
    names = list(names)
    if not names:
        raise ConfigError("loss.components is empty: name at least one component")
    for name in names:
        if name not in COMPONENTS:
            raise ConfigError(f"unknown loss component {name!r}; available: {', '.join(sorted(COMPONENTS))}")
    return {name: COMPONENTS[name] for name in names}


def core_names() -> tuple[str, ...]:
    """The components β balancing treats as core (the token distillation losses)."""
    return tuple(n for n, c in COMPONENTS.items() if c.core)


def describe() -> list[tuple[str, str, str]]:
    """(name, kind, what it is) of every registered component, for --help and the README."""
    return [(c.name, c.kind, c.doc) for c in COMPONENTS.values()]
