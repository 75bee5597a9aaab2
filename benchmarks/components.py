"""Throughput of the pieces a step and an evaluation are made of, on CPU (issue 12, part of item 2):

- metrics: records per second for exact match, F1, PANS, AST validity and BLEU over 10,000
  synthetic predictions (each record's reference against another record's assertions), each
  metric from the raw texts as `trident evaluate` computes it;
- token loss components alone: forward + backward, microseconds per call, at batch 8, target
  length 64 and CodeT5+'s vocabulary of 32,100.

Writes benchmarks/results.json (raw figures, with the machine) and prints a table.

    python benchmarks/components.py [--records 10000] [--calls 20]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import pandas as pd
import torch

from trident import metrics
from trident.config import LossConfig
from trident.data.synth import generate_records
from trident.losses import catalog
from trident.losses.registry import LossInputs

METRICS = {
    "exact_match": lambda p, r: metrics.exact_match(p, r),
    "f1": lambda p, r: metrics.precision_recall_f1(p, r),
    "pans": lambda p, r: metrics.pans(p, r),
    "ast_validity": lambda p, r: metrics.ast_validity(p),
    "bleu": lambda p, r: metrics.bleu(p, r),
}


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "device": "cpu"}


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


def component_micros(calls: int, batch: int = 8, length: int = 64, vocab: int = 32100) -> dict[str, float]:
    torch.manual_seed(0)
    components = catalog.resolve(["ce", "focal", "kl", "jsd"])
    cfg = LossConfig()
    labels = torch.randint(0, vocab, (batch, length))
    teacher = torch.randn(batch, length, vocab)
    out = {}
    for name, component in components.items():
        logits = torch.randn(batch, length, vocab, requires_grad=True)
        for i in range(calls + 2):  # two warm-up calls
            if i == 2:
                started = time.perf_counter()
            loss = component.fn(LossInputs(logits, labels, teacher_logits=teacher), cfg)
            loss.backward()
            logits.grad = None
        out[name] = (time.perf_counter() - started) / calls * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--out", default="benchmarks/results.json")
    args = parser.parse_args()
    rates = metric_rates(args.records)
    micros = component_micros(args.calls)
    print(f"metrics, records per second over {args.records:,} predictions:")
    print(pd.Series(rates).to_string(float_format=lambda v: f"{v:,.0f}"))
    print("\ntoken loss components, forward + backward, microseconds per call (batch 8, length 64, vocab 32,100):")
    print(pd.Series(micros).to_string(float_format=lambda v: f"{v:,.0f}"))
    Path(args.out).write_text(json.dumps({"machine": machine(), "metrics_records_per_s": rates,
                                          "components_us_per_call": micros}, indent=2) + "\n")


if __name__ == "__main__":
    main()
