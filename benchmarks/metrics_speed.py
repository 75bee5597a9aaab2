"""Metric throughput (issue 25, item 2): records per second for each metric alone and for all
of them together (`metrics.compute_all`, what `trident evaluate` and validation run), over
10,000 synthetic predictions, each metric from the raw texts.

The set is the one benchmarks/components.py has always timed: 10,000 synthetic records (seed 1),
each record's prediction being another record's assertions (partial overlaps). Each call is
timed three ways, interleaved in one process:

- cold: the lexing cache emptied first, so every line is lexed as in a fresh evaluation, with
  the forked workers a large split gets (their start-up included);
- 1 process: the same, with `workers=1`;
- warm: the same call again with every line already lexed (a later validation pass over the
  same references, or a second metric on the same predictions);

and against the reference, the code before this item (commit REFERENCE_COMMIT, read from git):
every metric lexing every line again, one tree-sitter parse and walk per line and metric.
Median of --repeats runs. Records the "metrics" section of benchmarks/results.{json,md}.

    python benchmarks/metrics_speed.py [--records 10000] [--repeats 3] [--reference-repeats 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

from record import record
from trident import forked, metrics
from trident.data.synth import generate_records

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_COMMIT = "144f428"  # main before issue 25's shared lexing
TARGETS = {"f1": 50_000, "pans": 50_000, "all together": 20_000}


def bench_set(n: int) -> tuple[list[str], list[list[str]]]:
    refs = [r["assertions"] for r in generate_records(n, 1)]
    preds = ["\n".join(refs[(i * 7 + 3) % n]) for i in range(n)]  # another record's assertions: partial overlaps
    return preds, refs


def calls(m) -> dict:
    """The metric calls of a metrics module `m` (today's or the reference), each from raw texts."""
    return {
        "exact_match": lambda p, r, **kw: m.exact_match(p, r, **kw),
        "f1": lambda p, r, **kw: m.precision_recall_f1(p, r, **kw),
        "pans": lambda p, r, **kw: m.pans(p, r, **kw),
        "ast_validity": lambda p, r, **kw: m.ast_validity(p, **kw),
        "assertion_validity": lambda p, r, **kw: m.assertion_validity(p, **kw),
        "bleu": lambda p, r, **kw: m.bleu(p, r, **kw),
        "all together": lambda p, r, **kw: m.compute_all(p, r, **kw),
    }


def reference_metrics():
    """trident.metrics and trident.java as of REFERENCE_COMMIT, loaded from git under other
    names; None where git cannot show them (no history in this checkout)."""
    try:
        sources = {name: subprocess.run(["git", "show", f"{REFERENCE_COMMIT}:trident/{name}.py"], cwd=ROOT, check=True,
                                        capture_output=True, text=True).stdout for name in ("java", "metrics")}
    except (OSError, subprocess.CalledProcessError):
        return None
    modules = {}
    for name in ("java", "metrics"):
        module = types.ModuleType(f"reference_{name}")
        sys.modules[module.__name__] = module  # dataclasses look their module up
        source = sources[name].replace("from trident import java", "import reference_java as java")
        exec(compile(source, f"{REFERENCE_COMMIT}:trident/{name}.py", "exec"), module.__dict__)
        modules[name] = module
    return modules["metrics"]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference-repeats", type=int, default=1, help="0: no reference")
    args = parser.parse_args()
    preds, refs = bench_set(args.records)
    reference = reference_metrics() if args.reference_repeats else None
    new, old = calls(metrics), calls(reference) if reference else {}
    # imports, the parser and sacrebleu loaded before any timing, as in an evaluation that has
    # already generated its predictions
    new["all together"](preds[:5], refs[:5])
    if reference:
        old["all together"](preds[:5], refs[:5])
    load = os.getloadavg()[0]
    rows = []
    for name, fn in new.items():
        cold, serial, warm, ref = [], [], [], []
        for i in range(args.repeats):
            metrics.clear_lex_cache()
            cold.append(timed(lambda: fn(preds, refs)))
            warm.append(timed(lambda: fn(preds, refs)))
            metrics.clear_lex_cache()
            serial.append(timed(lambda: fn(preds, refs, workers=1)))
            if reference and i < args.reference_repeats:
                ref.append(timed(lambda: old[name](preds, refs)))
        n = args.records
        row = {"metric": name, "records/s": n / statistics.median(cold),
               "records/s, 1 process": n / statistics.median(serial),
               "records/s, warm cache": n / statistics.median(warm), "seconds": statistics.median(cold)}
        if ref:
            row["reference records/s"] = n / statistics.median(ref)
            row["× reference"] = statistics.median(ref) / statistics.median(cold)
        row["target"] = TARGETS.get(name)
        rows.append(row)
        print(", ".join(f"{k}: {v:,.3f}" if isinstance(v, float) else f"{k}: {v}" for k, v in row.items()), flush=True)
    cpus = forked.cpu_count()
    record("metrics", {"rows": rows, "digits": 2, "note": (
        f"Each metric alone, and all of them together (compute_all), over {args.records:,} synthetic predictions "
        f"(another record's assertions as the prediction), from the raw texts; median of {args.repeats} runs. "
        "records/s: a cold start (the lexing cache emptied, every distinct line lexed) with the forked workers "
        f"a large split gets ({cpus} CPUs), their start-up included; 1 process: the same with workers=1; warm "
        "cache: the same call again with every line already lexed (ast_validity and assertion_validity alone parse "
        "each distinct line once without tokens or caching, so theirs is a second cold run); seconds: the cold run. "
        + (f"reference: the code before issue 25 (commit {REFERENCE_COMMIT}, every metric lexing every line "
           f"again), interleaved, median of {args.reference_repeats}. " if reference else "no reference timed. ")
        + f"Load average when the run started: {load:.1f} on {os.cpu_count()} CPUs (other work shares them).")})


if __name__ == "__main__":
    main()
