"""Per-example statistics of a run's validation predictions, and bootstrap intervals over them.

Corpus metrics are not means of per-example scores: micro-F1 divides summed tp by summed
tp+fp/fn, and BLEU combines summed n-gram counts. So every replicate recomputes the corpus
metric from *sufficient statistics* summed over the resampled examples (tp/fp/fn counts,
trident.metrics.bleu_statistics' per-example n-gram counts), which is exact and needs no decoding or parsing per
replicate. A replicate is a vector of example counts `w` (how often each example was drawn);
a sum over the resample is then `w @ x`, one matrix product for all replicates at once.

Pooling over seeds: one set of resampled indices per replicate is applied to every seed's
predictions (the seeds saw the same validation examples), the corpus metric is computed per
seed and averaged. A Δ between two configurations uses the same replicates for both, so
the interval is a paired one: example difficulty cancels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from trident import metrics as tm

# Metric names in the order reports show them; all on a 0-1 scale.
METRICS = (*(k for k in tm.REPORTED_KEYS if k != "bleu"), "semantic", "bleu",  # semantic is computed here, not in training
           *tm.EXECUTION_KEYS)  # only where the runs' predictions were executed (eval.execute)
_MEAN_KINDS = ("pans", "ast_validity", "assertion_validity", "exact_match", "semantic")


@dataclass
class ExampleStats:
    """Per-example sufficient statistics of one run on one ordered list of examples."""

    ids: list[str]
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    exact_match: np.ndarray
    pans: np.ndarray
    ast_validity: np.ndarray
    assertion_validity: np.ndarray
    semantic: np.ndarray | None  # None where sentence embeddings were unavailable
    bleu: np.ndarray  # [n, 2 + 2·order]: hyp len, ref len, correct n-grams, total n-grams
    # [n, 5]: executable, compiles, passes, has mutants, share of mutants killed (trident.execution);
    # None where the predictions were not executed
    execution: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, order: Sequence[int]) -> "ExampleStats":
        idx = np.asarray(order, dtype=int)
        return ExampleStats(
            ids=[self.ids[i] for i in idx], tp=self.tp[idx], fp=self.fp[idx], fn=self.fn[idx],
            exact_match=self.exact_match[idx], pans=self.pans[idx], ast_validity=self.ast_validity[idx],
            assertion_validity=self.assertion_validity[idx],
            semantic=None if self.semantic is None else self.semantic[idx], bleu=self.bleu[idx],
            execution=None if self.execution is None else self.execution[idx])


def semantic_similarity(preds: Sequence[str], refs: Sequence[Sequence[str]],
                        model: str = "all-MiniLM-L6-v2") -> np.ndarray:
    """Cosine similarity of the prediction's and the reference's sentence embeddings.

    The reference text is the assertions joined by newlines, as the semantic loss sees it.
    """
    from trident.encoders import embed

    ref_texts = ["\n".join(a.strip() for a in r) for r in refs]
    emb = embed(list(preds) + ref_texts, model)
    n = len(preds)
    return (emb[:n] * emb[n:]).sum(-1).clamp(-1.0, 1.0).cpu().numpy().astype(float)


def execution_array(ids: Sequence[str], rows: Sequence[dict]) -> np.ndarray:
    """The execution columns of ExampleStats from execution.jsonl rows; an id without a row (a
    record that is not executable) counts in no execution metric."""
    by_id = {str(r["id"]): r for r in rows}
    out = np.zeros((len(ids), 5))
    for i, example in enumerate(ids):
        r = by_id.get(str(example))
        if r is not None and r.get("executable"):
            mutants = int(r.get("mutants") or 0)
            out[i] = (1.0, float(bool(r["compiles"])), float(bool(r["passes"])), float(mutants > 0),
                      (r["killed_mutants"] / mutants) if mutants else 0.0)
    return out


def example_stats(ids: Sequence[str], preds: Sequence[str], refs: Sequence[Sequence[str]],
                  semantic: np.ndarray | None = None, execution: np.ndarray | None = None) -> ExampleStats:
    """Per-example statistics computed with trident.metrics' own helpers (one parse per line)."""
    exs = tm.prepare(list(preds), [list(r) for r in refs])
    counts = [tm.line_counts(ex) for ex in exs]  # the same per-example sums micro-F1 is built from
    tp, fp, fn = ([c[i] for c in counts] for i in range(3))
    bleu = np.asarray([tm.bleu_statistics(ex) for ex in exs], dtype=float) if exs else \
        np.zeros((0, 2 + 2 * tm.BLEU_ORDER))
    return ExampleStats(
        ids=list(ids), tp=np.asarray(tp, float), fp=np.asarray(fp, float), fn=np.asarray(fn, float),
        exact_match=np.asarray([float(ex.pred == ex.ref) for ex in exs]),
        pans=np.asarray([tm.example_pans(ex) for ex in exs], float),
        ast_validity=np.asarray([tm.example_ast_valid(ex) for ex in exs]),
        assertion_validity=np.asarray([tm.example_assertion_valid(ex) for ex in exs]),
        semantic=None if semantic is None else np.asarray(semantic, float), bleu=bleu, execution=execution)


# ---- corpus metrics from summed statistics ---------------------------------------------

def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Micro F1 from summed counts, elementwise; 0 where undefined (as trident.metrics does)."""
    tp, fp, fn = (np.asarray(a, float) for a in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return f1


def bleu_from_stats(summed: np.ndarray) -> np.ndarray:
    """Corpus BLEU (0-1) for each row of summed sacrebleu statistics."""
    summed = np.atleast_2d(summed)
    return np.asarray([tm.bleu_from_statistics(row) for row in summed], dtype=float)


def corpus_metric(stats: ExampleStats, name: str, weights: np.ndarray) -> np.ndarray:
    """The corpus metric for each replicate; `weights` is [replicates, n] example counts."""
    total = weights.sum(axis=1)
    if name == "f1":
        return f1_from_counts(weights @ stats.tp, weights @ stats.fp, weights @ stats.fn)
    if name == "bleu":
        return bleu_from_stats(weights @ stats.bleu)
    if name in tm.EXECUTION_KEYS:
        if stats.execution is None:
            return np.full(len(weights), np.nan)
        x = stats.execution
        num, den = {"compile_rate": (x[:, 0] * x[:, 1], x[:, 0]), "pass_rate": (x[:, 0] * x[:, 2], x[:, 0]),
                    "mutation_score": (x[:, 3] * x[:, 4], x[:, 3])}[name]
        top, bottom = weights @ num, weights @ den
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)
    if name in _MEAN_KINDS:
        values = getattr(stats, name)
        if values is None:
            return np.full(len(weights), np.nan)
        return (weights @ values) / np.where(total > 0, total, 1)
    raise KeyError(f"unknown metric {name!r}")


def full_sample(stats: ExampleStats, name: str) -> float:
    """The metric on the whole sample (the identity replicate)."""
    return float(corpus_metric(stats, name, np.ones((1, len(stats))))[0])


# ---- the bootstrap ---------------------------------------------------------------------

def replicate_weights(n: int, replicates: int, seed: int) -> np.ndarray:
    """[replicates, n] counts of each example in each resample (indices drawn once, shared by all runs)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(replicates, n))
    weights = np.zeros((replicates, n))
    rows = np.repeat(np.arange(replicates), n)
    np.add.at(weights, (rows, idx.ravel()), 1.0)
    return weights


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval; NaN replicates (undefined metric) are ignored."""
    samples = np.asarray(samples, float)
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return (float("nan"), float("nan"))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(samples, [alpha, 1 - alpha])
    return float(lo), float(hi)


@dataclass
class Estimate:
    value: float
    lo: float
    hi: float
    replicates: np.ndarray | None = None  # kept so a Δ can be paired with another estimate


def pooled_estimate(runs: Sequence[ExampleStats], name: str, weights: np.ndarray, level: float = 0.95) -> Estimate:
    """Mean over seeds of the corpus metric, with its bootstrap interval (same resamples for every seed)."""
    point = float(np.mean([full_sample(s, name) for s in runs]))
    reps = np.mean([corpus_metric(s, name, weights) for s in runs], axis=0)
    lo, hi = percentile_interval(reps, level)
    return Estimate(point, lo, hi, reps)


def paired_delta(a: Estimate, b: Estimate, level: float = 0.95) -> Estimate:
    """a − b with a paired interval: both estimates must come from the same replicate weights."""
    if a.replicates is None or b.replicates is None:
        return Estimate(a.value - b.value, float("nan"), float("nan"))
    diff = a.replicates - b.replicates
    lo, hi = percentile_interval(diff, level)
    return Estimate(a.value - b.value, lo, hi, diff)


def bootstrap_mean_interval(x: Sequence[float], replicates: int = 1000, seed: int = 0,
                            level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of `x` (the plain case, used to check the machinery)."""
    x = np.asarray(x, float)
    weights = replicate_weights(len(x), replicates, seed)
    return percentile_interval(weights @ x / len(x), level)


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean over seeds (W&B mode, where there are no per-example data)."""
    from scipy import stats as st

    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if len(v) < 2:
        return (float("nan"), float("nan"))
    half = st.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean() - half), float(v.mean() + half)


def seed_bootstrap_delta(a: Sequence[float], b: Sequence[float], replicates: int, seed: int,
                         level: float = 0.95) -> tuple[float, float]:
    """Interval of mean(a) − mean(b) resampling seeds (unpaired: W&B runs carry no shared examples)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    ma = a[rng.integers(0, len(a), size=(replicates, len(a)))].mean(axis=1)
    mb = b[rng.integers(0, len(b), size=(replicates, len(b)))].mean(axis=1)
    return percentile_interval(ma - mb, level)


