"""Throughput of the pieces a step and an evaluation are made of, on CPU (issue 12, part of item 2):

- metrics: records per second for exact match, F1, PANS, AST validity and BLEU over 10,000
  synthetic predictions (each record's reference against another record's assertions), each
  metric from the raw texts as `trident evaluate` computes it;
- loss components alone (token terms online and from the cached top-k, contrastive): forward + backward, microseconds per call, at batch 8, target
  length 64 and CodeT5+'s vocabulary of 32,100.

Records both in benchmarks/results.json and results.md (benchmarks/record.py) and prints them.

    python benchmarks/components.py [--records 10000] [--calls 20]
"""
from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from record import record
from trident import metrics
from trident.config import LossConfig
from trident.data.synth import generate_records
from trident.losses import catalog, contrastive
from trident.losses.registry import LossInputs, ModelShapes, StepContext, TeacherTopK

METRICS = {
    "exact_match": lambda p, r: metrics.exact_match(p, r),
    "f1": lambda p, r: metrics.precision_recall_f1(p, r),
    "pans": lambda p, r: metrics.pans(p, r),
    "ast_validity": lambda p, r: metrics.ast_validity(p),
    "bleu": lambda p, r: metrics.bleu(p, r),
}


def metric_rates(n: int) -> dict[str, float]:
    records = generate_records(n, 1)
    refs = [r["assertions"] for r in records]
    preds = ["\n".join(refs[(i * 7 + 3) % n]) for i in range(n)]  # another record's assertions: partial overlaps
    out = {}
    for name, fn in METRICS.items():
        started = time.perf_counter()
        fn(preds, refs)
        out[name] = n / (time.perf_counter() - started)
    return out


def component_micros(calls: int, batch: int = 8, length: int = 64, vocab: int = 32100, k: int = 64) -> dict[str, float]:
    """Forward + backward of each token component, the teacher online (full logits) and cached
    (its top-k float16 log-probabilities and ids), and of the contrastive term."""
    torch.manual_seed(0)
    components = catalog.resolve(["ce", "focal", "kl", "jsd", "contrastive"])
    cfg = LossConfig()
    labels = torch.randint(0, vocab, (batch, length))
    teacher = torch.randn(batch, length, vocab)
    values, ids = torch.log_softmax(teacher, -1).topk(k, -1)
    topk = TeacherTopK(values.half(), ids)
    d_model = 768
    parameters = torch.nn.ModuleDict({"contrastive": contrastive.make_projection(cfg, ModelShapes(d_model))})
    gold = torch.nn.functional.normalize(torch.randn(batch, parameters["contrastive"].out_features), dim=-1)
    cases = {"ce": ("ce", {}), "focal": ("focal", {}), "kl (online)": ("kl", {"teacher_logits": teacher}),
             "kl (cached top-64)": ("kl", {"teacher_topk": topk}), "jsd (online)": ("jsd", {"teacher_logits": teacher}),
             "jsd (cached top-64)": ("jsd", {"teacher_topk": topk}), "contrastive": ("contrastive", {})}
    out = {}
    for label, (name, extra) in cases.items():
        logits = torch.randn(batch, length, vocab, requires_grad=True)
        hidden = torch.randn(batch, length, d_model, requires_grad=True)
        ctx = StepContext(decoder_hidden=hidden, parameters=parameters, references=[str(i) for i in range(batch)],
                          gold_embeddings={cfg.contrastive_model: gold})
        for i in range(calls + 2):  # two warm-up calls
            if i == 2:
                started = time.perf_counter()
            loss = components[name].fn(LossInputs(logits, labels, context=ctx, **extra), cfg)
            loss.backward()
            logits.grad = hidden.grad = None
        out[label] = (time.perf_counter() - started) / calls * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    rates = metric_rates(args.records)
    micros = component_micros(args.calls)
    print(f"metrics, records per second over {args.records:,} predictions:")
    print(pd.Series(rates).to_string(float_format=lambda v: f"{v:,.0f}"))
    print("\nloss components, forward + backward, microseconds per call (batch 8, length 64, vocab 32,100):")
    print(pd.Series(micros).to_string(float_format=lambda v: f"{v:,.0f}"))
    targets = {"ast_validity": 20_000, "pans": 50_000, "f1": 50_000}
    record("metrics", {"rows": [{"metric": k, "records/s": v, "target": targets.get(k)} for k, v in rates.items()],
                       "note": f"Each metric alone over {args.records:,} synthetic predictions (another record's "
                               "assertions as the prediction), from the raw texts, one process.", "digits": 0})
    record("components", {"rows": [{"component": k, "µs per call": v} for k, v in micros.items()], "digits": 0,
                          "note": "Forward + backward of one component at batch 8, target length 64, vocabulary "
                                  "32,100 (CodeT5+); cached = the teacher's top-64 float16 log-probabilities; "
                                  "contrastive with the student's width 768. The sequence terms (semantic, pans, "
                                  "ast) decode and run the model again: their cost is in the per-step table."})


if __name__ == "__main__":
    main()
