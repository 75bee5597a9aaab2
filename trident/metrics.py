"""Corpus metrics for generated Java assertions.

A prediction is the model's decoded text, one assertion per line; a reference is the
list of target assertion strings. Lines are compared in canonical form
(`java.canonical_assertion`), so whitespace and an `Assert.`/`Assertions.` qualifier
never decide a match. `prepare` lexes each distinct line once (`java.lex_line`: one
tree-sitter parse gives its canonical tokens and both validity answers) and keeps the
result for the process's life, so the metrics, the rewards and the per-example statistics
all read the same lexing; PANS and BLEU read the same canonical Java tokens, in which a
string literal is one token. `ast_validity` is syntactic; `assertion_validity` also asks
every line to be an assertion. Large evaluations lex and score in forked worker processes
(`trident.forked`), chunked in order, with the same numbers as one process.
Pure Python: no torch import.
"""
from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from trident import forked, java

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
    return [x.canonical for x in map(lex, lines) if x.canonical]


# ---- lexing, once per distinct line ---------------------------------------------------------

# Every line lexed in this process, by its text (as given: `lex_line` strips it). Lexing is a
# pure function of the text, so a hit is always right; the bound only caps memory (a full
# cache is emptied and refilled: an evaluation's own lines are held in its own dict meanwhile).
_LEXED: dict[str, java.LineLex] = {}
LEX_CACHE_MAX = 1 << 17
# Below these counts a forked worker costs more than it saves (fork, pickling results back).
PARALLEL_MIN_LINES = 3000  # distinct lines not lexed yet
PARALLEL_MIN_EXAMPLES = 3000  # examples to score with PANS or BLEU
PARALLEL_MIN_CHUNK = 1000  # the fewest items a worker is given


def lex(line: str) -> java.LineLex:
    """`java.lex_line(line)`, from the process's cache of lexed lines."""
    found = _LEXED.get(line)
    if found is None:
        found = _remember({line: java.lex_line(line)})[line]
    return found


def clear_lex_cache() -> None:
    """Forget every lexed line (a benchmark's cold start)."""
    _LEXED.clear()


def lex_cache_size() -> int:
    """How many lines the process's lexing cache holds."""
    return len(_LEXED)


def _remember(new: dict[str, java.LineLex]) -> dict[str, java.LineLex]:
    if len(_LEXED) + len(new) > LEX_CACHE_MAX:
        _LEXED.clear()
    _LEXED.update(new)
    return new


def _workers(workers: int | None, items: int, minimum: int) -> int:
    # How many processes share `items` units of work: 1 below `minimum` or where fork is unavailable.
    if items < minimum or not forked.available():
        return 1
    n = forked.cpu_count() if workers is None else workers
    return max(1, min(n, items // PARALLEL_MIN_CHUNK))


def _chunks(items: list, n: int) -> list[list]:
    # n contiguous slices in order: concatenating the workers' results gives the serial order
    size = -(-len(items) // n)
    return [items[i:i + size] for i in range(0, len(items), size)]


def _lex_chunk(lines: list[str]) -> list[tuple]:
    # In a worker: plain tuples travel back faster than dataclasses
    return [(x.tokens, x.canonical, x.valid, x.assertion) for x in map(java.lex_line, lines)]


def lex_all(lines: Iterable[str], workers: int | None = None) -> dict[str, java.LineLex]:
    """Every distinct line of `lines` lexed (`java.lex_line`), each once: cached lines are
    looked up, the others lexed, in forked workers when there are many (`workers` processes;
    None: one per CPU; 1: this process only)."""
    known: dict[str, java.LineLex] = {}
    missing = []
    for line in dict.fromkeys(lines):
        found = _LEXED.get(line)
        if found is None:
            missing.append(line)
        else:
            known[line] = found
    if missing:
        n = _workers(workers, len(missing), PARALLEL_MIN_LINES)
        if n > 1:
            parts = forked.map_forked(_lex_chunk, _chunks(missing, n), "metrics lexing")
            lexed = [java.LineLex(*t) for part in parts for t in part]
        else:
            lexed = list(map(java.lex_line, missing))
        known.update(_remember(dict(zip(missing, lexed))))
    return known


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a tenth of a large evaluation
class Example:
    """One prediction and its reference, lexed once: the raw predicted lines (for the validity
    metrics, which judge the text as written), the canonical Java tokens and canonical form of
    every line that has tokens, and the two validity answers."""

    pred_raw: list[str]
    pred_tokens: list[tuple[str, ...]]  # canonical tokens of each predicted line
    ref_tokens: list[tuple[str, ...]]
    pred: list[str]  # canonical predicted lines (tokens joined by one space)
    ref: list[str]
    ast_valid: bool  # non-empty, and every predicted line parses cleanly
    assertion_valid: bool  # ... and is made of assertion statements only


def _example(raw: list[str], ref: list[str], lexed: dict[str, java.LineLex]) -> Example:
    pred_tokens, pred, ref_tokens, ref_lines = [], [], [], []
    valid = assertion = bool(raw)
    for line in raw:
        x = lexed[line]
        valid = valid and x.valid
        assertion = assertion and x.assertion
        if x.tokens:
            pred_tokens.append(x.tokens)
            pred.append(x.canonical)
    for line in ref:
        x = lexed[line]
        if x.tokens:
            ref_tokens.append(x.tokens)
            ref_lines.append(x.canonical)
    return Example(raw, pred_tokens, ref_tokens, pred, ref_lines, valid, assertion)


def _split(preds: list[str], refs: list[list[str]]) -> list[list[str]]:
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions but {len(refs)} references")
    return [split_lines(p) for p in preds]


def prepare(preds: list[str], refs: list[list[str]], workers: int | None = None) -> list[Example]:
    """Split every prediction and lex every distinct prediction and reference line once
    (`lex_all`)."""
    raws = _split(preds, refs)
    lexed = lex_all(_all_lines(raws, refs), workers)
    return [_example(raw, ref, lexed) for raw, ref in zip(raws, refs)]


def _all_lines(raws: list[list[str]], refs: list[list[str]]) -> Iterable[str]:
    for raw in raws:
        yield from raw
    for ref in refs:
        yield from ref


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _tokens(lines: list[tuple[str, ...]]) -> list[str]:
    # All lines' Java tokens in order; a string literal is one token however many spaces it holds.
    return [tok for line in lines for tok in line]


# ---- exact match, precision / recall / F1 -------------------------------------------

def line_counts(ex: Example) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of one example's canonical lines:
    the per-example sums behind micro P/R/F1, for resampling (bootstrap intervals)."""
    p, r = set(ex.pred), set(ex.ref)
    return len(p & r), len(p - r), len(r - p)


def _prf(counts: Iterable[tuple[int, int, int]]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for a, b, c in counts:
        tp, fp, fn = tp + a, fp + b, fn + c
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def exact_match(preds: list[str], refs: list[list[str]], workers: int | None = None) -> float:
    """Fraction of examples whose canonical lines equal the reference's, in order."""
    return _evaluate(preds, refs, ("exact_match",), workers)["exact_match"]


def precision_recall_f1(preds: list[str], refs: list[list[str]], workers: int | None = None) -> tuple[float, float, float]:
    """Micro-averaged P/R/F1 over sets of canonical assertion lines."""
    out = _evaluate(preds, refs, ("precision", "recall", "f1"), workers)
    return out["precision"], out["recall"], out["f1"]


# ---- PANS ------------------------------------------------------------------------------

# exp(-decay · d) by distance d, computed as the definition writes it, so a lookup is the same float
_DECAYS: list[float] = []


def _decays(n: int) -> list[float]:
    while len(_DECAYS) < n:
        _DECAYS.append(math.exp(-_PANS_DECAY * len(_DECAYS)))
    return _DECAYS


def _ngram_matches(p_grams: list, r_grams: list) -> tuple[float, int]:
    """Greedy position-aware matching of two n-gram sequences: each predicted n-gram, in order,
    takes the nearest still-free equal reference n-gram (the smaller position on a tie) and adds
    exp(-decay · distance). Returns (that sum over the larger count, the number of pairs).
    Grams found on one side only are skipped up front, and the nearest free position is a
    bisection of the gram's sorted free positions; the pairs, and the order their terms are
    added in, are those of the plain scan. The pairs of a gram number min(its count in p, in r):
    BLEU's clipped matches."""
    if not p_grams or not r_grams:
        return 0.0, 0
    common = set(p_grams).intersection(r_grams)
    if not common:
        return 0.0, 0
    free: dict = {}
    for j, g in enumerate(r_grams):
        if g in common:
            if g in free:
                free[g].append(j)
            else:
                free[g] = [j]
    decay = _decays(max(len(p_grams), len(r_grams)))
    total = 0.0
    pairs = 0
    for i, g in [(i, g) for i, g in enumerate(p_grams) if g in common]:
        slots = free[g]
        if not slots:
            continue
        if len(slots) == 1:
            j = slots.pop()
        else:
            k = bisect_left(slots, i)  # slots[k-1] < i <= slots[k]
            if k == len(slots) or (k and i - slots[k - 1] <= slots[k] - i):
                k -= 1
            j = slots.pop(k)
        total += decay[i - j if i >= j else j - i]
        pairs += 1
    # Each pair adds at most 1 and there are at most min(#p, #r) pairs, so this is <= 1;
    # dividing by the larger count also charges both missing and extra n-grams.
    return total / max(len(p_grams), len(r_grams)), pairs


def _overlaps(p: list[str], r: list[str]) -> tuple[list[float], list[int]]:
    """PANS' similarity and the matched pairs for n = 1…4 (n-grams as tuples; a token itself for
    n = 1, equal exactly when its 1-tuple is). Once an order has no pair no longer one has (its
    first n tokens would pair too), so the rest are 0.0 and 0 without being matched."""
    sims, pairs = [0.0] * _PANS_MAX_N, [0] * _PANS_MAX_N
    p1, p2, p3 = p[1:], p[2:], p[3:]
    r1, r2, r3 = r[1:], r[2:], r[3:]
    for n in range(_PANS_MAX_N):
        if n == 0:
            pg, rg = p, r
        elif n == 1:
            pg, rg = list(zip(p, p1)), list(zip(r, r1))
        elif n == 2:
            pg, rg = list(zip(p, p1, p2)), list(zip(r, r1, r2))
        else:
            pg, rg = list(zip(p, p1, p2, p3)), list(zip(r, r1, r2, r3))
        sims[n], pairs[n] = _ngram_matches(pg, rg)
        if not pairs[n]:
            break
    return sims, pairs


def _pans_from(p: list[str], r: list[str], sims: list[float] | None) -> float:
    if not p and not r:
        return 1.0
    if not p or not r:
        return 0.0
    top = min(_PANS_MAX_N, max(len(p), len(r)))
    if p == r:
        # every n-gram pairs with itself at distance 0: each order scores k/k and the weighted
        # mean is exactly 1.0, as the full computation gives
        return 1.0
    if sims is None:
        sims = _overlaps(p, r)[0]
    weighted = 0
    for n in range(1, top + 1):
        weighted = weighted + n * sims[n - 1]  # in this order, from int 0: the same float sum as ever
    return weighted / sum(range(1, top + 1))


def pans_score(pred_tokens: list[str], ref_tokens: list[str]) -> float:
    """Position-aware n-gram similarity in [0, 1]; 1 exactly when the sequences are equal."""
    return _pans_from(list(pred_tokens), list(ref_tokens), None)


def example_pans(ex: Example) -> float:
    """PANS of one example, on the canonical Java tokens of all its lines in order."""
    return pans_score(_tokens(ex.pred_tokens), _tokens(ex.ref_tokens))


def pans(preds: list[str], refs: list[list[str]], workers: int | None = None) -> float:
    """Mean PANS over examples, on the canonical Java tokens of all lines in order."""
    return _evaluate(preds, refs, ("pans",), workers)["pans"]


# ---- AST validity, assertion validity ---------------------------------------------------

def asserts_only(text: str) -> bool:
    """`text` holds at least one statement and every line is assertion statements only (the
    `assertion_validity` rule for one prediction)."""
    raw = split_lines(text)
    return bool(raw) and all(lex(line).assertion for line in raw)


def example_ast_valid(ex: Example) -> float:
    return float(ex.ast_valid)


def example_assertion_valid(ex: Example) -> float:
    return float(ex.assertion_valid)


def _checks_chunk(lines: list[str]) -> list[tuple[bool, bool]]:
    return list(map(java.statement_checks, lines))


def _validity(preds: list[str], field: int, workers: int | None) -> float:
    # Asked alone, validity needs no tokens: lines lexed already answer from the cache, the others
    # are parsed once each (java.statement_checks) without the token walk, and not cached.
    raws = [split_lines(p) for p in preds]
    checks: dict[str, tuple[bool, bool]] = {}
    missing = []
    for line in dict.fromkeys(line for raw in raws for line in raw):
        found = _LEXED.get(line)
        if found is None:
            missing.append(line)
        else:
            checks[line] = (found.valid, found.assertion)
    n = _workers(workers, len(missing), PARALLEL_MIN_LINES)
    if n > 1:
        parts = forked.map_forked(_checks_chunk, _chunks(missing, n), "metrics validity")
        checks.update(zip(missing, (c for part in parts for c in part)))
    else:
        checks.update(zip(missing, _checks_chunk(missing)))
    return _mean([float(bool(raw) and all(checks[line][field] for line in raw)) for raw in raws])


def ast_validity(preds: list[str], workers: int | None = None) -> float:
    """Fraction of predictions that are non-empty and whose every line parses cleanly
    (syntax only: `;` or `int x = 1;` count)."""
    return _validity(preds, 0, workers)


def assertion_validity(preds: list[str], workers: int | None = None) -> float:
    """Fraction of predictions that are non-empty and whose every line parses cleanly and is
    made of assertion statements only (`java.is_assertion_statement`)."""
    return _validity(preds, 1, workers)


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


BLEU_ORDER = 4


def _bleu_from(hyp: list[str], ref: list[str], pairs: list[int] | None) -> list[int]:
    totals = [max(len(hyp) - n + 1, 0) for n in range(1, BLEU_ORDER + 1)]
    if hyp == ref:  # every n-gram matches itself: matched = hypothesis n-grams
        return [len(hyp), len(ref), *totals, *totals]
    if pairs is None:
        pairs = _overlaps(hyp, ref)[1]
    return [len(hyp), len(ref), *pairs, *totals]


def bleu_statistics(ex: Example) -> list[int]:
    """One example's BLEU sufficient statistics on the tokens `bleu_segments` gives it:
    [hypothesis length, reference length, matched n-grams for n = 1…4, hypothesis n-grams for
    n = 1…4] (matches clipped by the reference's counts): the per-segment statistics sacrebleu
    extracts from those segments (escaping is injective, so n-grams are equal exactly when
    their tokens are). Summed over examples they give the corpus BLEU (`bleu_from_statistics`),
    which makes bootstrap replicates cheap."""
    return _bleu_from(_tokens(ex.pred_tokens), _tokens(ex.ref_tokens), None)


def _corpus_bleu(stats: list[list[int]]) -> float:
    """sacrebleu's `corpus_score` from the segments' statistics: it sums them as integers and
    calls `compute_bleu` with its own settings, as here (0 for an empty corpus, which sacrebleu
    does not define)."""
    if not stats:
        return 0.0
    total = [sum(column) for column in zip(*stats)]
    metric = bleu_metric()
    return metric.compute_bleu(correct=total[2:2 + BLEU_ORDER], total=total[2 + BLEU_ORDER:], sys_len=int(total[0]),
                               ref_len=int(total[1]), smooth_method=metric.smooth_method,
                               smooth_value=metric.smooth_value, effective_order=metric.effective_order,
                               max_ngram_order=metric.max_ngram_order).score / 100.0


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


def bleu(preds: list[str], refs: list[list[str]], workers: int | None = None) -> float:
    """Corpus BLEU-4 (0-1) on canonical tokens, one reference per example."""
    return _evaluate(preds, refs, ("bleu",), workers)["bleu"]


# ---- all -------------------------------------------------------------------------------

# What each metric reads from an example's scores (`_score`)
_PARTS = {"exact_match": "exact", "precision": "counts", "recall": "counts", "f1": "counts", "pans": "pans",
          "ast_validity": "ast", "assertion_validity": "assertion", "bleu": "bleu"}
_HEAVY = frozenset({"pans", "bleu"})  # parts worth forked workers on a large split


@dataclass(slots=True)  # not frozen, like Example: one per example, made in the hot loop
class ExampleScores:
    """One example's share of every metric (None where not asked for): summed or averaged over
    examples, in order, they give the corpus metrics."""

    exact: bool | None
    counts: tuple[int, int, int] | None  # line_counts
    pans: float | None
    ast: bool | None
    assertion: bool | None
    bleu: list[int] | None  # bleu_statistics


def score_example(ex: Example, parts: Iterable[str] = frozenset(_PARTS.values())) -> ExampleScores:
    """The asked parts ("exact", "counts", "pans", "ast", "assertion", "bleu") of one example."""
    parts = frozenset(parts)
    pans = stats = None
    if parts & _HEAVY:
        # PANS and BLEU read the same n-gram matching: made once
        hyp, ref = _tokens(ex.pred_tokens), _tokens(ex.ref_tokens)
        sims, pairs = _overlaps(hyp, ref) if hyp and ref and hyp != ref else (None, None)
        pans = _pans_from(hyp, ref, sims) if "pans" in parts else None
        stats = _bleu_from(hyp, ref, pairs) if "bleu" in parts else None
    return ExampleScores(ex.pred == ex.ref if "exact" in parts else None,
                         line_counts(ex) if "counts" in parts else None, pans,
                         ex.ast_valid if "ast" in parts else None,
                         ex.assertion_valid if "assertion" in parts else None, stats)


def _score_chunk(job: tuple) -> list[tuple]:
    # In a forked worker: this chunk's examples from the lexing it inherited, their scores as tuples
    raws, refs, lexed, parts = job
    rows = []
    for raw, ref in zip(raws, refs):
        s = score_example(_example(raw, ref, lexed), parts)
        rows.append((s.exact, s.counts, s.pans, s.ast, s.assertion, s.bleu))
    return rows


def _aggregate(scores: list[ExampleScores], keys: Iterable[str]) -> dict[str, float]:
    # The corpus metrics, each summed or averaged over the examples in their order
    out: dict[str, float] = {}
    for key in keys:
        if key in out:  # precision, recall and F1 come together
            continue
        if key == "exact_match":
            out[key] = _mean([float(s.exact) for s in scores])
        elif key in ("precision", "recall", "f1"):
            out["precision"], out["recall"], out["f1"] = _prf(s.counts for s in scores)
        elif key == "pans":
            out[key] = _mean([s.pans for s in scores])
        elif key == "ast_validity":
            out[key] = _mean([float(s.ast) for s in scores])
        elif key == "assertion_validity":
            out[key] = _mean([float(s.assertion) for s in scores])
        elif key == "bleu":
            out[key] = _corpus_bleu([s.bleu for s in scores])
    return {k: out[k] for k in keys}


def _evaluate(preds: list[str], refs: list[list[str]], keys: tuple[str, ...], workers: int | None) -> dict[str, float]:
    raws = _split(preds, refs)
    lexed = lex_all(_all_lines(raws, refs), workers)
    parts = frozenset(_PARTS[k] for k in keys)
    n = _workers(workers, len(raws), PARALLEL_MIN_EXAMPLES) if parts & _HEAVY else 1
    if n > 1:
        # Workers forked now inherit `lexed`: each builds and scores its slice of the examples
        jobs = [(raw, ref, lexed, parts) for raw, ref in zip(_chunks(raws, n), _chunks(list(refs), n))]
        rows = forked.map_forked(_score_chunk, jobs, "metrics scoring")
        scores = [ExampleScores(*row) for part in rows for row in part]
    else:
        scores = [score_example(_example(raw, ref, lexed), parts) for raw, ref in zip(raws, refs)]
    return _aggregate(scores, keys)


def compute_all(preds: list[str], refs: list[list[str]], workers: int | None = None) -> dict[str, float]:
    """Every metric, lexing each distinct line once (in `workers` forked processes on a large
    split; None: one per CPU, 1: this process only; the numbers do not depend on it)."""
    return _evaluate(preds, refs, METRIC_KEYS, workers)
