"""Corpus metrics for generated Java assertions.

A prediction is the model's decoded text, one assertion per line; a reference is the
list of target assertion strings. Lines are compared in canonical form
(`java.canonical_assertion`), so whitespace and an `Assert.`/`Assertions.` qualifier
never decide a match. Each line is lexed once (`prepare`); PANS and BLEU read the same
canonical Java tokens, in which a string literal is one token. `ast_validity` is syntactic;
`assertion_validity` also asks every line to be an assertion. Pure Python: no torch import.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from trident import java

METRIC_KEYS = ("exact_match", "precision", "recall", "f1", "pans", "ast_validity", "assertion_validity", "bleu")
# The ones reports, sweep trials and before/after tables carry, in their order (the others are F1's parts).
REPORTED_KEYS = ("f1", "pans", "ast_validity", "assertion_validity", "exact_match", "bleu")
# Execution metrics (trident.execution): present only where predictions were compiled and run;
# absent means n/a, never 0.
EXECUTION_KEYS = ("compile_rate", "pass_rate", "mutation_score")

_PANS_MAX_N = 4
_PANS_DECAY = 0.1


def split_lines(text: str) -> list[str]:
    """Non-empty stripped lines of a prediction."""
    return [s for s in (line.strip() for line in text.splitlines()) if s]


def canonical_lines(lines) -> list[str]:
    """Canonical form of each line; lines with no Java token are dropped."""
    return [c for c in (java.canonical_assertion(line) for line in lines) if c]


def _canonical_token_lines(lines) -> list[tuple[str, ...]]:
    # The Java lexer runs once per line; every metric reads these tokens.
    return [t for t in (tuple(java.canonical_tokens(line)) for line in lines) if t]


@dataclass(frozen=True)
class Example:
    """One prediction and its reference, lexed once: the raw predicted lines (for the validity
    metrics, which judge the text as written) and the canonical Java tokens of every line."""

    pred_raw: list[str]
    pred_tokens: list[tuple[str, ...]]  # canonical tokens of each predicted line
    ref_tokens: list[tuple[str, ...]]

    @property
    def pred(self) -> list[str]:
        """Canonical predicted lines (tokens joined by one space)."""
        return [" ".join(t) for t in self.pred_tokens]

    @property
    def ref(self) -> list[str]:
        return [" ".join(t) for t in self.ref_tokens]


def prepare(preds: list[str], refs: list[list[str]]) -> list[Example]:
    """Split and lex every prediction and reference once (tree-sitter parses each line)."""
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions but {len(refs)} references")
    out = []
    for pred, ref in zip(preds, refs):
        raw = split_lines(pred)
        out.append(Example(raw, _canonical_token_lines(raw), _canonical_token_lines(ref)))
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _tokens(lines: list[tuple[str, ...]]) -> list[str]:
    # All lines' Java tokens in order; a string literal is one token however many spaces it holds.
    return [tok for line in lines for tok in line]


# ---- exact match, precision / recall / F1 -------------------------------------------

def _exact_match(exs: list[Example]) -> float:
    return _mean([float(ex.pred == ex.ref) for ex in exs])


def line_counts(ex: Example) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of one example's canonical lines:
    the per-example sums behind micro P/R/F1, for resampling (bootstrap intervals)."""
    p, r = set(ex.pred), set(ex.ref)
    return len(p & r), len(p - r), len(r - p)


def _prf(exs: list[Example]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for ex in exs:
        a, b, c = line_counts(ex)
        tp, fp, fn = tp + a, fp + b, fn + c
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def exact_match(preds: list[str], refs: list[list[str]]) -> float:
    """Fraction of examples whose canonical lines equal the reference's, in order."""
    return _exact_match(prepare(preds, refs))


def precision_recall_f1(preds: list[str], refs: list[list[str]]) -> tuple[float, float, float]:
    """Micro-averaged P/R/F1 over sets of canonical assertion lines."""
    return _prf(prepare(preds, refs))


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


def example_pans(ex: Example) -> float:
    """PANS of one example, on the canonical Java tokens of all its lines in order."""
    return pans_score(_tokens(ex.pred_tokens), _tokens(ex.ref_tokens))


def _pans(exs: list[Example]) -> float:
    return _mean([example_pans(ex) for ex in exs])


def pans(preds: list[str], refs: list[list[str]]) -> float:
    """Mean PANS over examples, on the canonical Java tokens of all lines in order."""
    return _pans(prepare(preds, refs))


# ---- AST validity, assertion validity ---------------------------------------------------

def _valid(raw_lines: list[str]) -> bool:
    return bool(raw_lines) and all(java.is_valid_statement(line) for line in raw_lines)


def _assertions(raw_lines: list[str]) -> bool:
    return bool(raw_lines) and all(java.is_assertion_statement(line) for line in raw_lines)


def asserts_only(text: str) -> bool:
    """`text` holds at least one statement and every line is assertion statements only (the
    `assertion_validity` rule for one prediction)."""
    return _assertions(split_lines(text))


def example_ast_valid(ex: Example) -> float:
    return float(_valid(ex.pred_raw))


def example_assertion_valid(ex: Example) -> float:
    return float(_assertions(ex.pred_raw))


def ast_validity(preds: list[str]) -> float:
    """Fraction of predictions that are non-empty and whose every line parses cleanly
    (syntax only: `;` or `int x = 1;` count)."""
    return _mean([float(_valid(split_lines(p))) for p in preds])


def assertion_validity(preds: list[str]) -> float:
    """Fraction of predictions that are non-empty and whose every line parses cleanly and is
    made of assertion statements only (`java.is_assertion_statement`)."""
    return _mean([float(_assertions(split_lines(p))) for p in preds])


# ---- BLEU ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def bleu_metric():
    from sacrebleu.metrics import BLEU

    # Text is already tokenised (see bleu_segments). "exp" is sacrebleu's default (mteval NIST
    # smoothing), named so a library default change cannot move scores.
    return BLEU(tokenize="none", smooth_method="exp", force=True)


def _bleu_token(tok: str) -> str:
    # sacrebleu splits on whitespace, so whitespace inside a token (a string literal) is escaped,
    # injectively: "%" and each whitespace character become %<hex>; — distinct tokens stay distinct.
    if not any(c.isspace() or c == "%" for c in tok):
        return tok
    return "".join(f"%{ord(c):X};" if c.isspace() or c == "%" else c for c in tok)


def bleu_segments(exs: list[Example]) -> tuple[list[str], list[list[str]]]:
    """sacrebleu's (hypotheses, [references]) for the examples: the canonical Java tokens of all
    lines, one whitespace-free string per token, joined by spaces; PANS sees the same tokens."""
    hyps = [" ".join(_bleu_token(t) for t in _tokens(ex.pred_tokens)) for ex in exs]
    refs = [[" ".join(_bleu_token(t) for t in _tokens(ex.ref_tokens)) for ex in exs]]
    return hyps, refs


def _bleu(exs: list[Example]) -> float:
    if not exs:  # sacrebleu has no defined score for an empty corpus
        return 0.0
    # An empty hypothesis is fine for sacrebleu: it adds 0 to the hypothesis length
    # (brevity penalty) and no n-grams.
    hyps, refs = bleu_segments(exs)
    return bleu_metric().corpus_score(hyps, refs).score / 100.0


BLEU_ORDER = 4


def bleu_statistics(ex: Example) -> list[int]:
    """One example's BLEU sufficient statistics on the tokens `bleu_segments` gives it:
    [hypothesis length, reference length, matched n-grams for n = 1…4, hypothesis n-grams for
    n = 1…4] (matches clipped by the reference's counts). Summed over examples they give the
    corpus BLEU (`bleu_from_statistics`), which makes bootstrap replicates cheap."""
    from collections import Counter

    hyp, ref = (_tokens(ex.pred_tokens), _tokens(ex.ref_tokens))
    correct, total = [], []
    for n in range(1, BLEU_ORDER + 1):
        h = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
        r = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
        correct.append(sum(min(c, r[g]) for g, c in h.items()))
        total.append(max(len(hyp) - n + 1, 0))
    return [len(hyp), len(ref), *correct, *total]


def bleu_from_statistics(stats) -> float:
    """Corpus BLEU (0-1) from summed `bleu_statistics`, with `bleu_metric`'s settings; 0 for an
    empty corpus, as `bleu` does."""
    stats = [float(v) for v in stats]
    if stats[0] == 0 and stats[1] == 0:
        return 0.0
    metric = bleu_metric()
    return metric.compute_bleu(correct=stats[2:2 + BLEU_ORDER], total=stats[2 + BLEU_ORDER:],
                               sys_len=int(stats[0]), ref_len=int(stats[1]), smooth_method=metric.smooth_method,
                               smooth_value=metric.smooth_value, effective_order=metric.effective_order,
                               max_ngram_order=BLEU_ORDER).score / 100.0


def bleu(preds: list[str], refs: list[list[str]]) -> float:
    """Corpus BLEU-4 (0-1) on canonical tokens, one reference per example."""
    return _bleu(prepare(preds, refs))


# ---- all -------------------------------------------------------------------------------

def compute_all(preds: list[str], refs: list[list[str]]) -> dict[str, float]:
    """Every metric, canonicalising each example once."""
    exs = prepare(preds, refs)
    precision, recall, f1 = _prf(exs)
    return {
        "exact_match": _exact_match(exs),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pans": _pans(exs),
        "ast_validity": _mean([example_ast_valid(ex) for ex in exs]),
        "assertion_validity": _mean([example_assertion_valid(ex) for ex in exs]),
        "bleu": _bleu(exs),
    }
