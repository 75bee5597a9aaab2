"""The one place the built-in loss components and rewards register, and where a run's
components are resolved: built-ins, then the user's `loss.plugins`, then the names checked.

Adding a built-in is one function in its module and one line here.
"""
from __future__ import annotations

from trident.errors import ConfigError
from trident.execution.reward import exec_score
from trident.losses import contrastive, hidden, onpolicy, seqkd, sequence, token
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
add_component(Component("hidden", hidden.hidden, "representation",
                        "MSE or cosine between projected student and teacher hidden states of matched layers "
                        "(encoder and decoder; needs the teacher online)",
                        needs=Needs(teacher_online=True, hidden_states=True), parameters=hidden.make_projections))
add_component(Component("seqkd", seqkd.seqkd, "token",
                        "cross-entropy on the teacher's best beam (trident teacher --beams), optionally weighted "
                        "by its probability", needs=Needs(teacher_beams=True)))
add_component(Component("gkd", onpolicy.gkd, "token",
                        "on-policy GKD: generalized JSD to the teacher on the student's own samples with "
                        "probability loss.onpolicy_lambda, else on the gold assertion (needs the teacher online)",
                        core=True, needs=Needs(teacher_logits=True, teacher_online=True),
                        samples=onpolicy.sample_rows))
sequence.register_reward("semantic", sequence.semantic_score, "(1 + cosine) / 2 of sentence embeddings "
                         "against the gold assertion, the teacher's best beam or both (loss.semantic_reference)",
                         needs=Needs(gold_embeddings=("semantic_model",)), scale=semantic_scale,
                         config_needs=sequence.semantic_needs)
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


def needs_of(loss_cfg) -> Needs:
    """What the run's components need from the training step, under its loss config."""
    out = Needs()
    for component in resolve(loss_cfg.components, loss_cfg.plugins).values():
        out = out | component.needs_for(loss_cfg)
    return out


def online_teacher_problem(cfg) -> str | None:
    """Why this run's teacher settings cannot serve its loss (components that need the teacher
    itself, with a cache-only teacher), or None."""
    components = resolve(cfg.loss.components, cfg.loss.plugins)
    online = [n for n, c in components.items() if c.needs_for(cfg.loss).teacher_online]
    if not online or (cfg.teacher.source != "cache" and not cfg.teacher.cache):
        return None
    given = "teacher.source=cache" if cfg.teacher.source == "cache" else f"teacher.cache={cfg.teacher.cache}"
    return (f"loss component(s) {', '.join(online)} need the teacher online (its hidden states, or its "
            f"distribution on the student's own samples, are not in the teacher-logit cache), but {given} "
            "asks for the cache alone: use --teacher.source=online (or auto, which then runs the teacher)")


def core_names() -> tuple[str, ...]:
    """The components β balancing treats as core (the token distillation losses)."""
    return tuple(n for n, c in COMPONENTS.items() if c.core)


def describe() -> list[tuple[str, str, str]]:
    """(name, kind, what it is) of every registered component, for --help and the docs (docs/loss.md)."""
    return [(c.name, c.kind, c.doc) for c in COMPONENTS.values()]
