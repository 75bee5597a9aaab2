"""Sequence-level components: `semantic`, `pans` and `ast`, trained by one self-critical term.

These score decoded text, which has no gradient of its own. Wrapping such a score in a fresh
tensor gives a constant: the logged number moves, the student does not. Here they train the
student through a self-critical policy gradient (Rennie et al., 2017):

    loss_c = −(score_c(sample) − score_c(baseline)) · log p(sample) / max_target_len

for each active kind c, summed with the components' weights, which is the self-critical loss
with reward Σ_c w_c·score_c. One sampling pass per micro-batch serves all three kinds.
Every score is in [0, 1]: semantic is (1 + cosine) / 2, PANS and AST validity are [0, 1] already.

Baseline: the reward of the student's teacher-forced argmax sequence (argmax of the logits the
token losses already computed). It needs no decoding; greedy decoding would cost a second
decode per step. The estimator is unbiased because neither the baseline nor the divisor
depends on the sample: E[b·∇log p(s)] = b·∇Σ p(s) = 0. Dividing by the sample's own length
instead would add a term proportional to b that favours some lengths over others;
max_target_len is a constant that keeps the per-token scale.

Dropout: the sample is drawn and its log-probability computed with the student in eval mode
(dropout off), so the policy that is scored is the one that sampled; the student's mode is
restored afterwards (the token losses' forward keeps its dropout).

What a component returns: a tensor whose VALUE is its honest raw score (1 − mean score of the
samples) and whose GRADIENT is the policy gradient above — `surrogate + (raw − surrogate).detach()`.
So the weighted value logged is w·raw, and the weight (and β for semantic) scales the gradient
exactly as it scales the value.

Cost: the sampling decode and the extra forward/backward on the sample run every
`seq_reward_every` optimizer steps on a `seq_reward_fraction` share of the batch; on other
steps these components return None (not computed, not logged, no gradient).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trident import metrics
from trident.config import AUTO
from trident.encoders import embed
from trident.losses.registry import LossInputs, register_component

KINDS = ("semantic", "pans", "ast")


@dataclass
class SampleRewards:
    sample: torch.Tensor  # [n, len] sampled token ids (pad after eos)
    logp: torch.Tensor  # [n] log p(sample) / max_target_len (see normalised_logprob), carries gradient
    sample_scores: dict[str, torch.Tensor]  # kind -> [n]
    baseline_scores: dict[str, torch.Tensor]


def normalised_logprob(token_logp: torch.Tensor, mask: torch.Tensor, norm: float) -> torch.Tensor:
    """Σ of the per-token log-probabilities [n, len] at the real positions `mask`, / `norm`; [n].

    `norm` must be the same for every possible sample (trident passes max_target_len): a
    divisor that depends on the sample, such as its length, biases the self-critical estimator."""
    return torch.where(mask, token_logp, torch.zeros_like(token_logp)).sum(-1) / norm


def sequence_logprob(model, enc: dict, sequence: torch.Tensor, eos_id: int, norm: float) -> torch.Tensor:
    """log p(sequence | source) under `model` / `norm` (see normalised_logprob), with gradient; [n].

    A sequence is scored up to and including its first eos (all of it when it has none); what
    follows is not part of it. A pad token before eos was sampled like any other and counts.
    The model is used in whatever mode it is in."""
    dec_in = model.prepare_decoder_input_ids_from_labels(labels=sequence)
    logits = model(**enc, decoder_input_ids=dec_in).logits
    is_eos = (sequence == eos_id).long()
    mask = (is_eos.cumsum(-1) - is_eos) == 0
    token_logp = F.log_softmax(logits.float(), -1).gather(-1, sequence.unsqueeze(-1)).squeeze(-1)
    return normalised_logprob(token_logp, mask, norm)


def self_critical_loss(logp: torch.Tensor, sample_score: torch.Tensor, baseline_score: torch.Tensor) -> torch.Tensor:
    """−(r_sample − r_baseline)·logp, averaged over the rows; the advantage is a constant.
    `logp` is normalised_logprob's: divided by a constant, never by the sample's length."""
    return -((sample_score - baseline_score).detach() * logp).mean()


def _due(inputs: LossInputs, cfg) -> bool:
    ctx = inputs.context
    return ctx is not None and ctx.training and ctx.model is not None and ctx.global_step % cfg.seq_reward_every == 0


def _cut_at_eos(ids: torch.Tensor, eos: int, pad: int) -> torch.Tensor:
    """Everything after the first eos becomes pad."""
    is_eos = ids == eos
    after = (is_eos.cumsum(-1) - is_eos.long()) > 0
    return ids.masked_fill(after, pad)


def semantic_reward(embeddings: torch.Tensor, ref_emb: torch.Tensor) -> torch.Tensor:
    """(1 + cosine) / 2 of unit-norm embeddings [n, dim] and their references: a reward in
    [0, 1] like PANS and AST validity (a raw cosine can be negative, e.g. −0.1 for unrelated
    text), so the logged 1 − reward stays in [0, 1]. Clamped against rounding."""
    return ((1.0 + (embeddings * ref_emb).sum(-1)) / 2.0).clamp(0.0, 1.0)


@contextmanager
def _dropout_off(model):
    """Eval mode inside, the caller's mode restored after: sampling and scoring see one policy."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _scores(kinds, sample_texts: list[str], base_texts: list[str], refs: list[str], ref_emb, cfg, device):
    """Scores of the samples and of the baselines, each kind -> [n]. The semantic encoder sees
    both sets in one batch (one call instead of two is most of its cost at this size)."""
    n = len(sample_texts)
    sample, base = {}, {}
    if "semantic" in kinds:
        sim = semantic_reward(embed(sample_texts + base_texts, cfg.semantic_model, device), torch.cat([ref_emb, ref_emb]))
        sample["semantic"], base["semantic"] = sim[:n], sim[n:]
    for kind, score in (("pans", lambda t, r: metrics.pans([t], [r.split("\n")])),
                        # the `ast` reward asks for assertions, not just any statement that parses
                        ("ast", lambda t, r: metrics.assertion_validity([t]))):
        if kind in kinds:
            sample[kind] = torch.tensor([score(t, r) for t, r in zip(sample_texts, refs)], device=device)
            base[kind] = torch.tensor([score(t, r) for t, r in zip(base_texts, refs)], device=device)
    return sample, base


def sample_rewards(inputs: LossInputs, cfg, kinds: tuple[str, ...]) -> SampleRewards:
    """Sample, score and compute log p(sample) once per micro-batch; cached for all kinds."""
    ctx = inputs.context
    if "scst" in ctx.cache:
        return ctx.cache["scst"]
    model, tok = ctx.model, ctx.tokenizer
    batch = inputs.labels.shape[0]
    n = max(1, math.ceil(batch * cfg.seq_reward_fraction))
    enc = {k: v[:n] for k, v in ctx.model_inputs.items() if k in ("input_ids", "attention_mask")}
    refs = ctx.references[:n]
    device = inputs.labels.device

    with _dropout_off(model):
        with torch.no_grad():
            generated = model.generate(**enc, do_sample=True, top_k=0, top_p=1.0, num_beams=1,
                                       max_length=ctx.max_target_len + 1)
        sample = _cut_at_eos(generated[:, 1:], tok.eos_token_id, tok.pad_token_id)  # drop the decoder start token
        logp = sequence_logprob(model, enc, sample, tok.eos_token_id, ctx.max_target_len)

    argmax = inputs.student_logits[:n].detach().argmax(-1)
    argmax = _cut_at_eos(argmax.masked_fill(inputs.labels[:n] == -100, tok.pad_token_id), tok.eos_token_id, tok.pad_token_id)
    sample_texts = tok.batch_decode(sample, skip_special_tokens=True)
    base_texts = tok.batch_decode(argmax, skip_special_tokens=True)
    ref_emb = None
    if "semantic" in kinds:
        gold = ctx.gold_embeddings.get(cfg.semantic_model)
        ref_emb = gold[:n].to(device) if gold is not None else embed(refs, cfg.semantic_model, device)
    result = SampleRewards(sample, logp, *_scores(kinds, sample_texts, base_texts, refs, ref_emb, cfg, device))
    ctx.cache["scst"] = result
    return result


def semantic_scale(cfg, ctx) -> float:
    """β: the configured number (a float once the config is loaded), or with `auto` the value
    MultiComponentLoss chose after its warm-up (1 until then)."""
    if cfg.semantic_loss_scale == AUTO:
        return ctx.cache.get("auto_beta", 1.0) if ctx is not None else 1.0
    return cfg.semantic_loss_scale


def _component(kind: str):
    def fn(inputs: LossInputs, cfg):
        if not _due(inputs, cfg):
            return None
        active = tuple(k for k in KINDS if k in inputs.context.cache.get("active", KINDS))
        r = sample_rewards(inputs, cfg, active)
        score = r.sample_scores[kind]
        surrogate = self_critical_loss(r.logp, score, r.baseline_scores[kind])
        raw = 1.0 - score.mean()
        return surrogate + (raw - surrogate).detach()

    fn.__name__ = f"{kind}_term"
    return fn


register_component("semantic", needs=("gold:semantic_model",), scale=semantic_scale)(_component("semantic"))
register_component("pans")(_component("pans"))
register_component("ast")(_component("ast"))
