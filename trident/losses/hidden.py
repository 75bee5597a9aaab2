"""`hidden`: intermediate-layer distillation for encoder-decoders (TinyBERT-style, both stacks).

For every matched pair (student layer i → teacher layer j, per stack) the student's states go
through a trained linear projection from its width to the teacher's (768 → 1024 for the
CodeT5+ pair) and are compared with the teacher's states of the same positions: the encoder's
over the source tokens, the decoder's over the target tokens (teacher-forced on the gold
assertion, as the token losses are). Distances:

    mse     mean over real positions of the mean squared difference per feature
    cosine  mean over real positions of 1 − cos(projected student state, teacher state)

The value is the mean over the matched pairs, so adding layers does not change its scale.
Padding never enters: positions are selected with the attention mask (encoder) and the labels
(decoder) before anything is summed.

The teacher's hidden states are not in the teacher-logit cache: this component needs the
teacher online. The projections are loss parameters (trained, checkpointed and resumed with
the student, never saved in it).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from trident.errors import ConfigError
from trident.losses.registry import LossInputs, ModelShapes

STACKS = ("encoder", "decoder")


def evenly_spaced(student_layers: int, teacher_layers: int) -> dict[int, int]:
    """Student layer i ↔ teacher layer round(i·L_t / L_s), i = 1..L_s: the last meets the last."""
    return {i: round(i * teacher_layers / student_layers) for i in range(1, student_layers + 1)}


def layer_map(cfg, shapes: ModelShapes) -> dict[str, dict[int, int]]:
    """The pairs to distil per stack, from loss.hidden_layers (a stack left out: evenly spaced),
    checked against the models' depths; a ConfigError names a layer that does not exist."""
    if shapes.teacher_layers is None or shapes.teacher_d_model is None:
        raise ConfigError("the `hidden` component needs the teacher online (its hidden states are not in the "
                          "teacher-logit cache): --teacher.source=online")
    unknown = sorted(set(cfg.hidden_layers) - set(STACKS))
    if unknown:
        raise ConfigError(f"loss.hidden_layers: unknown stack(s) {', '.join(unknown)}; known: {', '.join(STACKS)}")
    out = {}
    for stack, s_depth, t_depth in zip(STACKS, shapes.layers, shapes.teacher_layers):
        if stack not in cfg.hidden_layers:
            out[stack] = evenly_spaced(s_depth, t_depth)
            continue
        pairs = {}
        for s_key, t_layer in cfg.hidden_layers[stack].items():
            try:
                s_layer = int(s_key)
            except ValueError:
                raise ConfigError(f"loss.hidden_layers.{stack}.{s_key}: a student layer is a number") from None
            if not 0 <= s_layer <= s_depth:
                raise ConfigError(f"loss.hidden_layers.{stack}.{s_key}: the student's {stack} has layers 0..{s_depth}")
            if not 0 <= t_layer <= t_depth:
                raise ConfigError(f"loss.hidden_layers.{stack}.{s_key}={t_layer}: the teacher's {stack} has "
                                  f"layers 0..{t_depth}")
            pairs[s_layer] = t_layer
        out[stack] = pairs
    if not any(out.values()):
        raise ConfigError("loss.hidden_layers matches no layer: name at least one pair, or leave a stack out "
                          "for evenly spaced pairs")
    return out


def projection_name(stack: str, student_layer: int) -> str:
    return f"{stack}-{student_layer}"


class HiddenProjections(torch.nn.Module):
    """One linear map from the student's width to the teacher's per matched student layer."""

    def __init__(self, pairs: dict[str, dict[int, int]], d_student: int, d_teacher: int):
        super().__init__()
        self.pairs = pairs
        self.maps = torch.nn.ModuleDict({projection_name(stack, s): torch.nn.Linear(d_student, d_teacher)
                                         for stack, layer_pairs in pairs.items() for s in layer_pairs})


def make_projections(cfg, shapes: ModelShapes) -> torch.nn.Module:
    return HiddenProjections(layer_map(cfg, shapes), shapes.d_model, shapes.teacher_d_model)


def state_distance(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, metric: str) -> torch.Tensor:
    """Mean over the real positions `mask` [batch, len] of the distance between the (projected)
    student and teacher states [batch, len, width]."""
    s, t = student[mask].float(), teacher[mask].float()  # [real positions, width]: padding is gone
    if s.shape[0] == 0:
        return student.sum() * 0.0  # no real position: 0, still attached to the graph
    if metric == "mse":
        return (s - t).pow(2).mean()
    return (1.0 - F.cosine_similarity(s, t, dim=-1, eps=1e-8)).mean()


def hidden(inputs: LossInputs, cfg) -> torch.Tensor | None:
    ctx = inputs.context
    if ctx is None or ctx.student_states is None or ctx.teacher_states is None or ctx.parameters is None \
            or "hidden" not in ctx.parameters:
        return None
    module: HiddenProjections = ctx.parameters["hidden"]
    student, teacher = ctx.student_states, ctx.teacher_states
    terms = []
    for stack, pairs in module.pairs.items():
        s_states, t_states = getattr(student, stack), getattr(teacher, stack)
        mask = student.encoder_mask if stack == "encoder" else student.decoder_mask
        for s_layer, t_layer in pairs.items():
            proj = module.maps[projection_name(stack, s_layer)]
            projected = proj(s_states[s_layer].to(proj.weight.dtype))
            terms.append(state_distance(projected, t_states[t_layer], mask, cfg.hidden_metric))
    return torch.stack(terms).mean()
