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

import torch
import torch.nn.functional as F

from trident import metrics
from trident.encoders import embed
from trident.losses.registry import Component, LossInputs, Needs, Reward, SampledRewards, add_reward


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


def due(context, cfg) -> bool:
    """Whether the self-critical term is computed on this step (training, every seq_reward_every steps)."""
    return (context is not None and context.training and context.model is not None
            and context.global_step % cfg.seq_reward_every == 0)


def _cut_at_eos(ids: torch.Tensor, eos: int, pad: int) -> torch.Tensor:
    """Everything after the first eos becomes pad."""
    is_eos = ids == eos
    after = (is_eos.cumsum(-1) - is_eos.long()) > 0
    return ids.masked_fill(after, pad)


@contextmanager
def _dropout_off(model):
    """Eval mode inside, the caller's mode restored after: sampling and scoring see one policy."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def _seeded(seed, device):
    """Sampling from its own seed when one is given; the global random state is left as it was."""
    if seed is None:
        yield
        return
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def gold_for(needs: Needs, cfg, context, n: int, device) -> dict:
    """The first `n` rows' reference embeddings for every encoder `needs` names, by encoder name."""
    out = {}
    for key in needs.gold_embeddings:
        name = getattr(cfg, key)
        gold = context.gold_embeddings.get(name)
        out[name] = gold[:n].to(device) if gold is not None else embed(context.references[:n], name, device)
    return out


def reward_rows(inputs: LossInputs, cfg) -> int:
    """Rows the self-critical term samples on this micro-batch: a `seq_reward_fraction` share on
    its own steps, none on the others."""
    if not due(inputs.context, cfg):
        return 0
    return max(1, math.ceil(inputs.labels.shape[0] * cfg.seq_reward_fraction))


def draw_samples(inputs: LossInputs, n: int) -> torch.Tensor:
    """Sample the first `n` rows' targets from the student (pure sampling, dropout off, from the
    micro-batch's own seed): [n, len] token ids without the decoder start, pad after eos."""
    ctx = inputs.context
    model, tok = ctx.model, ctx.tokenizer
    enc = {k: v[:n] for k, v in ctx.model_inputs.items() if k in ("input_ids", "attention_mask")}
    with _dropout_off(model), torch.no_grad(), _seeded(ctx.sample_seed, inputs.labels.device):
        generated = model.generate(**enc, do_sample=True, top_k=0, top_p=1.0, num_beams=1,
                                   max_length=ctx.max_target_len + 1)
    return _cut_at_eos(generated[:, 1:], tok.eos_token_id, tok.pad_token_id)


def sample_rewards(inputs: LossInputs, cfg, rewards: tuple[str, ...]) -> SampledRewards:
    """Score the micro-batch's samples (`inputs.samples`, drawn when missing) and the baselines
    with every reward in `rewards`, and compute log p(sample) with gradient."""
    from trident.losses.registry import REWARDS

    ctx = inputs.context
    model, tok = ctx.model, ctx.tokenizer
    n = reward_rows(inputs, cfg) or max(1, math.ceil(inputs.labels.shape[0] * cfg.seq_reward_fraction))
    if inputs.samples is None or len(inputs.samples) < n:
        inputs.samples = draw_samples(inputs, n)
    sample = inputs.samples[:n]
    enc = {k: v[:n] for k, v in ctx.model_inputs.items() if k in ("input_ids", "attention_mask")}
    refs = ctx.references[:n]
    device = inputs.labels.device

    with _dropout_off(model):
        logp = sequence_logprob(model, enc, sample, tok.eos_token_id, ctx.max_target_len)

    argmax = inputs.student_logits[:n].detach().argmax(-1)
    argmax = _cut_at_eos(argmax.masked_fill(inputs.labels[:n] == -100, tok.pad_token_id), tok.eos_token_id, tok.pad_token_id)
    sample_texts = tok.batch_decode(sample, skip_special_tokens=True)
    base_texts = tok.batch_decode(argmax, skip_special_tokens=True)
    sample_scores, base_scores = {}, {}
    for name in rewards:
        reward = REWARDS[name]
        needs = reward.needs_for(cfg)
        gold = gold_for(needs, cfg, ctx, n, device)
        # Samples and baselines in one call: for an encoder, one batch instead of two is most of its cost here.
        extra = {"records": ctx.records[:n] * 2} if needs.records else {}
        if needs.teacher_beams:
            beams = ctx.teacher_beams
            extra["teacher"] = {k: torch.cat([v[:n], v[:n]]).to(device) for k, v in beams.embeddings.items()}
        both = reward.score(sample_texts + base_texts, refs + refs, {k: torch.cat([v, v]) for k, v in gold.items()},
                            cfg, device, **extra)
        sample_scores[name], base_scores[name] = both[:n], both[n:]
    return SampledRewards(sample, logp, sample_scores, base_scores)


def self_critical_term(reward: str):
    """The component of `reward`: a value of 1 − mean sample score with the self-critical gradient."""
    def fn(inputs: LossInputs, cfg):
        r = inputs.rewards
        if r is None or reward not in r.sample_scores:
            return None
        score = r.sample_scores[reward]
        surrogate = self_critical_loss(r.logp, score, r.baseline_scores[reward])
        raw = 1.0 - score.mean()
        return surrogate + (raw - surrogate).detach()

    fn.__name__ = f"{reward}_term"
    return fn


def register_reward(name: str, score, doc: str = "", needs: Needs = Needs(), scale=None,
                    config_needs=None) -> Reward:
    """Register `score(texts, references, gold, cfg, device) -> [n] in [0, 1]` as a reward and
    as the sequence component `name` that the self-critical term trains with it. With
    `needs=Needs(records=True)` it is called with `records=` too: each text's Record.
    `config_needs(loss config) -> Needs` adds what it needs under a given config."""
    reward = Reward(name, score, doc, needs, config_needs)
    add_reward(reward, Component(name, self_critical_term(name), "sequence", doc, needs=needs, scale=scale,
                                 config_needs=config_needs, samples=reward_rows))
    return reward


# -- the built-in rewards ---------------------------------------------------------------------

def semantic_reward(embeddings: torch.Tensor, ref_emb: torch.Tensor) -> torch.Tensor:
    """(1 + cosine) / 2 of unit-norm embeddings [n, dim] and their references: a reward in
    [0, 1] like PANS and AST validity (a raw cosine can be negative, e.g. −0.1 for unrelated
    text), so the logged 1 − reward stays in [0, 1]. Clamped against rounding."""
    return ((1.0 + (embeddings * ref_emb).sum(-1)) / 2.0).clamp(0.0, 1.0)


def semantic_score(texts, references, gold, cfg, device, teacher=None) -> torch.Tensor:
    """Against the gold assertion, the teacher's best beam, or the mean of both (loss.semantic_reference)."""
    emb = embed(texts, cfg.semantic_model, device)
    by_gold = (lambda: semantic_reward(emb, gold[cfg.semantic_model]))
    by_teacher = (lambda: semantic_reward(emb, teacher[cfg.semantic_model]))
    if cfg.semantic_reference == "gold":
        return by_gold()
    if teacher is None:
        raise ValueError(f"loss.semantic_reference={cfg.semantic_reference} needs the teacher's beams in the step")
    return by_teacher() if cfg.semantic_reference == "teacher" else (by_gold() + by_teacher()) / 2


def semantic_needs(cfg) -> Needs:
    return Needs(teacher_beams=cfg.semantic_reference != "gold")


def pans_score(texts, references, gold, cfg, device) -> torch.Tensor:
    examples = metrics.prepare(list(texts), [r.split("\n") for r in references])  # each line lexed once
    return torch.tensor([metrics.example_pans(ex) for ex in examples], device=device)


def assertion_score(texts, references, gold, cfg, device) -> torch.Tensor:
    # the `ast` reward asks for assertions, not just any statement that parses
    return torch.tensor([metrics.assertion_validity([t]) for t in texts], device=device)
