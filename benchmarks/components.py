"""Throughput of the loss components a step is made of, on CPU (the metrics' throughput is
benchmarks/metrics_speed.py):

- loss components alone (token terms online and from the cached top-k, contrastive): forward +
  backward, microseconds per call at batch 8, target length 64 and CodeT5+'s vocabulary of
  32,100, interleaved with ce in one process (ratios to it, against the issue-25 targets), the
  fused focal/kl/jsd beside the autograd references they replaced; and the peak memory each
  adds, in a fresh process per case, at that shape and at the CodeT5+ training shape.

Records both in benchmarks/results.json and results.md (benchmarks/record.py) and prints them.

    python benchmarks/components.py [--calls 10] [--repeats 3]
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

from record import record
from trident.config import LossConfig
from trident.losses import catalog, contrastive, token
from trident.losses.registry import LossInputs, ModelShapes, StepContext, TeacherTopK



# The component cases: (component, teacher source, runs the autograd reference). kl and jsd
# run fused (trident.losses.fused) with their targets against ce; the `*_reference` rows are
# the autograd versions they replaced, measured alongside for the before/after ratio.
COMPONENT_CASES = {
    "ce": ("ce", None, False),
    "focal": ("focal", None, False),
    "focal (autograd reference)": ("focal", None, True),
    "kl (online)": ("kl", "online", False),
    "kl (online, autograd reference)": ("kl", "online", True),
    "kl (cached top-64)": ("kl", "cached", False),
    "kl (cached top-64, autograd reference)": ("kl", "cached", True),
    "jsd (online)": ("jsd", "online", False),
    "jsd (online, autograd reference)": ("jsd", "online", True),
    "jsd (cached top-64)": ("jsd", "cached", False),
    "jsd (cached top-64, autograd reference)": ("jsd", "cached", True),
    "contrastive": ("contrastive", None, False),
}
TARGETS = {"kl": 2.0, "jsd": 2.5}  # × ce, issue 25, online and cached
CODET5P_SHAPE = (32, 64, 32100)  # batch 32 × target 64 (benchmarks/gpu.py) × CodeT5+'s vocabulary


def _component_setup(batch: int, length: int, vocab: int, k: int = 64):
    """The inputs every case reads, seeded: labels, teacher logits, its cached top-k, and a
    callable(case) -> a fresh forward + backward of that case on a fresh student tensor."""
    torch.manual_seed(0)
    cfg = LossConfig()
    labels = torch.randint(0, vocab, (batch, length))
    teacher = torch.randn(batch, length, vocab)
    values, ids = torch.log_softmax(teacher, -1).topk(k, -1)
    topk = TeacherTopK(values.half(), ids)
    d_model = 768
    parameters = torch.nn.ModuleDict({"contrastive": contrastive.make_projection(cfg, ModelShapes(d_model))})
    gold = torch.nn.functional.normalize(torch.randn(batch, parameters["contrastive"].out_features), dim=-1)
    components = catalog.resolve(["ce", "focal", "kl", "jsd", "contrastive"])
    logits = torch.randn(batch, length, vocab, requires_grad=True)
    hidden = torch.randn(batch, length, d_model, requires_grad=True)
    ctx = StepContext(decoder_hidden=hidden, parameters=parameters, references=[str(i) for i in range(batch)],
                      gold_embeddings={cfg.contrastive_model: gold})

    def run(case: str) -> None:
        name, source, reference = COMPONENT_CASES[case]
        extra = {"teacher_logits": teacher} if source == "online" else {"teacher_topk": topk} if source == "cached" else {}
        fn = getattr(token, f"{name}_reference") if reference else components[name].fn
        fn(LossInputs(logits, labels, context=ctx, **extra), cfg).backward()
        logits.grad = hidden.grad = None

    return run


def component_micros(calls: int, repeats: int = 3, batch: int = 8, length: int = 64, vocab: int = 32100) -> list[dict]:
    """Forward + backward of each token component, the teacher online (full logits) and cached
    (its top-64 float16 log-probabilities and ids), and of the contrastive term, all in one
    process: each repeat runs every case `calls` times in turn (after one warm-up call each),
    and a case's ratio to ce is taken within each repeat, then the median over repeats."""
    run = _component_setup(batch, length, vocab)
    for case in COMPONENT_CASES:
        run(case)
    micros: dict[str, list[float]] = {case: [] for case in COMPONENT_CASES}
    for _ in range(repeats):
        for case in COMPONENT_CASES:
            started = time.perf_counter()
            for _ in range(calls):
                run(case)
            micros[case].append((time.perf_counter() - started) / calls * 1e6)
    rows = []
    for case, (name, source, reference) in COMPONENT_CASES.items():
        ratios = [m / ce for m, ce in zip(micros[case], micros["ce"])]
        target = TARGETS.get(name) if not reference else None
        rows.append({"component": case, "µs per call": statistics.median(micros[case]),
                     "× ce": statistics.median(ratios), "× ce per repeat": " / ".join(f"{r:.2f}" for r in ratios),
                     "target": f"≤ {target:g} × ce" if target else None})
    return rows


def _peak_rss_child(case: str, batch: int, length: int, vocab: int) -> None:
    """In a fresh process: the resident memory one forward + backward of `case` adds above its
    inputs, in MB (printed). VmHWM, the process's peak resident set, is reset after the inputs
    are built (/proc/self/clear_refs), and glibc is told (by the parent's environment) to mmap
    every block of 64 KiB or more, so freed tensors leave the resident set at once."""
    run = _component_setup(batch, length, vocab)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    base = _status_kb("VmRSS")
    run(case)
    print((_status_kb("VmHWM") - base) / 1024)


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/self/status")


def component_peaks(shapes: dict[str, tuple[int, int, int]], threads: int = 0) -> dict[str, dict[str, float]]:
    """{case: {shape label: MB}}: each case at each shape in its own fresh process."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out: dict[str, dict[str, float]] = {case: {} for case in COMPONENT_CASES}
    for label, (batch, length, vocab) in shapes.items():
        for case in COMPONENT_CASES:
            done = subprocess.run([sys.executable, __file__, "--peak-case", case, "--shape", f"{batch},{length},{vocab}"],
                                  env=env, capture_output=True, text=True, check=True)
            out[case][label] = float(done.stdout.strip().splitlines()[-1])
    return out


def component_rows(calls: int, repeats: int, threads: int = 0) -> list[dict]:
    """component_micros' rows with each case's peak memory at the bench and CodeT5+ shapes."""
    rows = component_micros(calls, repeats)
    shapes = {"bench shape": (8, 64, 32100), "CodeT5+ shape": CODET5P_SHAPE}
    peaks = component_peaks(shapes, threads)
    for row in rows:
        for label in shapes:
            row[f"peak MB, {label}"] = peaks[row["component"]][label]
    return rows


def record_components(rows: list[dict], calls: int, repeats: int) -> None:
    b, length, v = CODET5P_SHAPE
    record("components", {"rows": rows, "digits": 2,
                          "note": "Forward + backward of one component at batch 8, target length 64, vocabulary "
                                  "32,100 (CodeT5+), every target position real; cached = the teacher's top-64 float16 "
                                  "log-probabilities; contrastive with the student's width 768. focal, kl and jsd run "
                                  "fused (trident.losses.fused); the autograd reference rows are the versions they "
                                  f"replaced. All cases interleaved in one process, {repeats} rounds of "
                                  f"{calls} calls; µs = median round, × ce = median of the rounds' ratios to the "
                                  "same round's ce (targets from issue 25). Peak MB = resident memory one forward + "
                                  "backward adds above its inputs (logits, teacher), gradient included, each case in "
                                  f"a fresh process; CodeT5+ shape = batch {b} × target {length} × {v:,}. The sequence "
                                  "terms (semantic, pans, ast) decode and run the model again: their cost is in the "
                                  "per-step table."})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10, help="timed calls of each component per repeat")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds over all components")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads for the components (0 = torch's default); on a machine shared by "
                             "other jobs, 1 keeps each op from waiting for a descheduled second thread")
    parser.add_argument("--peak-case", help=argparse.SUPPRESS)  # internal: one peak-memory measurement
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_case:
        _peak_rss_child(args.peak_case, *(int(v) for v in args.shape.split(",")))
        return
    if args.threads:
        torch.set_num_threads(args.threads)  # recorded with the figures (record.machine)
    rows = component_rows(args.calls, args.repeats, args.threads)
    print("loss components, forward + backward (batch 8, length 64, vocab 32,100):")
    print(pd.DataFrame(rows).to_string(index=False))
    record_components(rows, args.calls, args.repeats)


if __name__ == "__main__":
    main()
