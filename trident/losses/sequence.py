"""Sequence-level components: `semantic`, `pans` and `ast`, trained by one self-critical term.

These score decoded text, which has no gradient of its own. Wrapping such a score in a fresh
tensor gives a constant: the logged number moves, the student does not. Here they train the
student through a self-critical policy gradient (Rennie et al., 2017):

    loss_c = −(score_c(sample) − score_c(baseline)) · log p(sample) / |sample|

for each active kind c, summed with the components' weights, which is the self-critical loss
with reward Σ_c w_c·score_c. One sampling pass per micro-batch serves all three kinds.

Baseline: the reward of the student's teacher-forced argmax sequence (argmax of the logits the
token losses already computed). It needs no decoding, and since it does not depend on the
sample, the estimator stays unbiased; greedy decoding would cost a second decode per step.

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
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trident import metrics
from trident.encoders import embed
from trident.losses.registry import LossInputs, register_component

KINDS = ("semantic", "pans", "ast")


@dataclass
class SampleRewards:
    sample: torch.Tensor  # [n, len] sampled token ids (pad after eos)
    logp: torch.Tensor  # [n] length-normalised log p(sample), carries gradient
    sample_scores: dict[str, torch.Tensor]  # kind -> [n]
    baseline_scores: dict[str, torch.Tensor]


def sequence_logprob(model, enc: dict, sequence: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Length-normalised log p(sequence | source) under `model`, with gradient; [n].

    Positions after the sequence's end (pad) are excluded; a sequence is scored up to and
    including its eos token."""
    labels = sequence.masked_fill(sequence == pad_id, -100)
    labels[:, 0] = torch.where(labels[:, 0] == -100, torch.full_like(labels[:, 0], pad_id), labels[:, 0])
    dec_in = model.prepare_decoder_input_ids_from_labels(labels=labels)
    logits = model(**enc, decoder_input_ids=dec_in).logits
    mask = labels != -100
    token_logp = F.log_softmax(logits.float(), -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.where(mask, token_logp, torch.zeros_like(token_logp)).sum(-1) / mask.sum(-1).clamp(min=1)


def self_critical_loss(logp: torch.Tensor, sample_score: torch.Tensor, baseline_score: torch.Tensor) -> torch.Tensor:
    """−(r_sample − r_baseline)·log p(sample), averaged over the rows; the advantage is a constant."""
    return -((sample_score - baseline_score).detach() * logp).mean()


def _due(inputs: LossInputs, cfg) -> bool:
    ctx = inputs.context
    return ctx is not None and ctx.training and ctx.model is not None and ctx.global_step % cfg.seq_reward_every == 0


def _cut_at_eos(ids: torch.Tensor, eos: int, pad: int) -> torch.Tensor:
    """Everything after the first eos becomes pad."""
    is_eos = ids == eos
    after = (is_eos.cumsum(-1) - is_eos.long()) > 0
    return ids.masked_fill(after, pad)


def _scores(kinds, sample_texts: list[str], base_texts: list[str], refs: list[str], ref_emb, cfg, device):
    """Scores of the samples and of the baselines, each kind -> [n]. The semantic encoder sees
    both sets in one batch (one call instead of two is most of its cost at this size)."""
    n = len(sample_texts)
    sample, base = {}, {}
    if "semantic" in kinds:
        sim = (embed(sample_texts + base_texts, cfg.semantic_model, device) * torch.cat([ref_emb, ref_emb])).sum(-1)
        sample["semantic"], base["semantic"] = sim[:n], sim[n:]
    for kind, score in (("pans", lambda t, r: metrics.pans([t], [r.split("\n")])),
                        ("ast", lambda t, r: metrics.ast_validity([t]))):
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

    with torch.no_grad():
        generated = model.generate(**enc, do_sample=True, top_k=0, top_p=1.0, num_beams=1,
                                   max_length=ctx.max_target_len + 1)
    sample = _cut_at_eos(generated[:, 1:], tok.eos_token_id, tok.pad_token_id)  # drop the decoder start token
    logp = sequence_logprob(model, enc, sample, tok.pad_token_id)

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
    """β: a number, or with `auto` the value MultiComponentLoss chose after its warm-up (1 until then)."""
    if cfg.semantic_loss_scale == "auto":
        return ctx.cache.get("auto_beta", 1.0) if ctx is not None else 1.0
    return float(cfg.semantic_loss_scale)


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
