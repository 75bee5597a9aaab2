"""An export against the float model it came from: the share of identical greedy predictions,
the F1 of each (trident.metrics) and its difference, and latency per record at batch 1.

Latency is measured interleaved in one process: for each record the two models run one after
the other, in alternating order, so drifts of a shared machine fall on both."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Sequence

import torch

from trident import metrics

PARITY_TARGET = 0.99  # below this share of identical predictions an export is flagged


def agreement(reference: Sequence[str], candidate: Sequence[str]) -> tuple[int, float]:
    """(identical predictions, their share): how many of `candidate` equal `reference` exactly,
    position by position."""
    if len(reference) != len(candidate):
        raise ValueError(f"{len(candidate)} predictions to compare with {len(reference)}")
    if not reference:
        raise ValueError("no predictions to compare")
    same = sum(a == b for a, b in zip(reference, candidate))
    return same, same / len(reference)


@dataclass(frozen=True)
class Parity:
    records: int
    identical: int
    agreement: float
    f1_float: float
    f1_export: float

    @property
    def delta_f1(self) -> float:
        return self.f1_export - self.f1_float

    @property
    def meets_target(self) -> bool:
        return self.agreement >= PARITY_TARGET


def parity(float_preds: Sequence[str], export_preds: Sequence[str], references: Sequence[list[str]]) -> Parity:
    same, share = agreement(float_preds, export_preds)
    refs = [list(r) for r in references]
    if len(refs) != len(float_preds):
        raise ValueError(f"{len(refs)} references for {len(float_preds)} predictions")
    return Parity(records=len(refs), identical=same, agreement=share,
                  f1_float=metrics.precision_recall_f1(list(float_preds), refs)[2],
                  f1_export=metrics.precision_recall_f1(list(export_preds), refs)[2])


def _generate(model, tokenizer, rows: list[list[int]], max_new_tokens: int):
    batch = tokenizer.pad({"input_ids": rows}, return_tensors="pt")
    with torch.inference_mode():
        # max_length, not max_new_tokens: the saved generation config sets max_length, and both
        # at once make transformers warn on every call (for an encoder-decoder, + 1 for the start token)
        return model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], num_beams=1,
                              do_sample=False, max_length=max_new_tokens + 1)


def greedy_predictions(model, tokenizer, inputs: Sequence[list[int]], max_new_tokens: int,
                       batch_size: int = 32) -> list[str]:
    """Greedy decoding of every encoded source in `inputs` (token ids), in batches, in order."""
    preds: list[str] = []
    for start in range(0, len(inputs), batch_size):
        out = _generate(model, tokenizer, list(inputs[start:start + batch_size]), max_new_tokens)
        preds += tokenizer.batch_decode(out, skip_special_tokens=True)
    return preds


def interleaved_latency(models: Sequence, tokenizer, inputs: Sequence[list[int]], max_new_tokens: int,
                        warmup: int = 2) -> list[list[float]]:
    """Seconds per record at batch 1 for each model, greedy: for each record every model runs
    once, in an order that rotates from record to record; the first `warmup` records are run
    and not counted."""
    times: list[list[float]] = [[] for _ in models]
    for i, row in enumerate(inputs):
        order = list(range(len(models)))
        shift = i % len(models)
        for m in order[shift:] + order[:shift]:
            started = time.perf_counter()
            _generate(models[m], tokenizer, [list(row)], max_new_tokens)
            if i >= warmup:
                times[m].append(time.perf_counter() - started)
    return times


def p50_ms(seconds: Sequence[float]) -> float:
    return 1000 * statistics.median(seconds)
