"""Corpus metrics for generated Java assertions.

A prediction is the model's decoded text, one assertion per line; a reference is the
list of target assertion strings. Lines are compared in canonical form
(`java.canonical_assertion`), so whitespace and an `Assert.`/`Assertions.` qualifier
never decide a match. Pure Python: no torch import.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from trident import java

METRIC_KEYS = ("exact_match", "precision", "recall", "f1", "pans", "ast_validity", "bleu")

_PANS_MAX_N = 4
_PANS_DECAY = 0.1


def split_lines(text: str) -> list[str]:
    """Non-empty stripped lines of a prediction."""
    return [s for s in (line.strip() for line in text.splitlines()) if s]


def canonical_lines(lines) -> list[str]:
    """Canonical form of each line; lines with no Java token are dropped."""
    return [c for c in (java.canonical_assertion(line) for line in lines) if c]


@dataclass(frozen=True)
class _Example:
    pred_raw: list[str]  # kept for ast_validity, which must judge the text as written
    pred: list[str]  # canonical lines
    ref: list[str]


def _prepare(preds: list[str], refs: list[list[str]]) -> list[_Example]:
    # Canonicalising parses every line with tree-sitter, so it is done once here.
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions but {len(refs)} references")
    out = []
    for pred, ref in zip(preds, refs):
        raw = split_lines(pred)
        out.append(_Example(raw, canonical_lines(raw), canonical_lines(ref)))
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _tokens(lines: list[str]) -> list[str]:
    # Canonical lines are tokens joined by one space. A string literal holding a space
    # splits in two here; BLEU (tokenize="none") sees the same split, so they agree.
    return [tok for line in lines for tok in line.split(" ")]


# ---- exact match, precision / recall / F1 -------------------------------------------

def _exact_match(exs: list[_Example]) -> float:
    return _mean([float(ex.pred == ex.ref) for ex in exs])


def _prf(exs: list[_Example]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for ex in exs:
        p, r = set(ex.pred), set(ex.ref)
        tp += len(p & r)
        fp += len(p - r)
        fn += len(r - p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def exact_match(preds: list[str], refs: list[list[str]]) -> float:
    """Fraction of examples whose canonical lines equal the reference's, in order."""
    return _exact_match(_prepare(preds, refs))


def precision_recall_f1(preds: list[str], refs: list[list[str]]) -> tuple[float, float, float]:
    """Micro-averaged P/R/F1 over sets of canonical assertion lines."""
    return _prf(_prepare(preds, refs))


# ---- PANS ------------------------------------------------------------------------------

def _ngram_similarity(p: list[str], r: list[str], n: int) -> float:
    p_grams = [tuple(p[i:i + n]) for i in range(len(p) - n + 1)]
    r_grams = [tuple(r[j:j + n]) for j in range(len(r) - n + 1)]
    if not p_grams or not r_grams:
        return 0.0
    unmatched: dict[tuple[str, ...], list[int]] = {}
    for j, g in enumerate(r_grams):
        unmatched.setdefault(g, []).append(j)
    total = 0.0
    for i, g in enumerate(p_grams):
        free = unmatched.get(g)
        if not free:
            continue
        j = min(free, key=lambda j: (abs(i - j), j))
        free.remove(j)
        total += math.exp(-_PANS_DECAY * abs(i - j))
    # Each pair adds at most 1 and there are at most min(#p, #r) pairs, so this is <= 1;
    # dividing by the larger count also charges both missing and extra n-grams.
    return total / max(len(p_grams), len(r_grams))


def pans_score(pred_tokens: list[str], ref_tokens: list[str]) -> float:
    """Position-aware n-gram similarity in [0, 1]; 1 exactly when the sequences are equal."""
    if not pred_tokens and not ref_tokens:
        return 1.0
    if not pred_tokens or not ref_tokens:
        return 0.0
    orders = range(1, min(_PANS_MAX_N, max(len(pred_tokens), len(ref_tokens))) + 1)
    weighted = sum(n * _ngram_similarity(pred_tokens, ref_tokens, n) for n in orders)
    return weighted / sum(orders)


def _pans(exs: list[_Example]) -> float:
    return _mean([pans_score(_tokens(ex.pred), _tokens(ex.ref)) for ex in exs])


def pans(preds: list[str], refs: list[list[str]]) -> float:
    """Mean PANS over examples, on the canonical tokens of all lines in order."""
    return _pans(_prepare(preds, refs))


# ---- AST validity ----------------------------------------------------------------------

def _valid(raw_lines: list[str]) -> bool:
    return bool(raw_lines) and all(java.is_valid_statement(line) for line in raw_lines)


def ast_validity(preds: list[str]) -> float:
    """Fraction of predictions that are non-empty and whose every line parses cleanly."""
    return _mean([float(_valid(split_lines(p))) for p in preds])


# ---- BLEU ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _bleu_metric():
    from sacrebleu.metrics import BLEU

    # Text is already tokenised (canonical tokens joined by spaces). "exp" is sacrebleu's
    # default (mteval NIST smoothing), named so a library default change cannot move scores.
    return BLEU(tokenize="none", smooth_method="exp", force=True)


def _bleu(exs: list[_Example]) -> float:
    if not exs:  # sacrebleu has no defined score for an empty corpus
        return 0.0
    hyps = [" ".join(ex.pred) for ex in exs]
    # An empty hypothesis is fine for sacrebleu: it adds 0 to the hypothesis length
    # (brevity penalty) and no n-grams.
    refs = [[" ".join(ex.ref) for ex in exs]]
    return _bleu_metric().corpus_score(hyps, refs).score / 100.0


def bleu(preds: list[str], refs: list[list[str]]) -> float:
    """Corpus BLEU-4 (0-1) on canonical tokens, one reference per example."""
    return _bleu(_prepare(preds, refs))


# ---- all -------------------------------------------------------------------------------

def compute_all(preds: list[str], refs: list[list[str]]) -> dict[str, float]:
    """Every metric, canonicalising each example once."""
    exs = _prepare(preds, refs)
    precision, recall, f1 = _prf(exs)
    return {
        "exact_match": _exact_match(exs),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pans": _pans(exs),
        "ast_validity": _mean([float(_valid(ex.pred_raw)) for ex in exs]),
        "bleu": _bleu(exs),
    }
