"""Wall time per optimizer step of the legacy, trident and trident-v1 losses (CPU by default).

For each model pair the three presets train the same student from the same random init on
the same batches, in one process, so the ratios compare like with like however noisy the
machine. Per-step time is the mean wall time
between consecutive optimizer-step ends (data, loss, backward, optimizer, logging), the
first `--warmup` steps left out. Per-component gradient-norm logging is a diagnostic with its own cost (one extra
backward pass per component every `train.grad_norm_every` steps): it is off here and
measured on its own, for the tiny pair, as is the `exec` reward (trident-v1 plus exec at weight 0.1),
in the last two columns.

    python benchmarks/overhead.py                 # tiny presets and the CodeT5+ shapes
    python benchmarks/overhead.py --pairs tiny    # just the tiny presets
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from transformers import TrainerCallback

from trident.config import load_config
from trident.data.synth import write_splits
from trident.fit import fit
from trident.models import build_model
from trident.rundir import RunDir
from trident.runs import prepare_data
from trident.teacher import build_tokenizer

PAIRS = {
    # name: (teacher, student, batch, max_source_len, max_target_len, steps)
    "tiny": ("tiny-teacher", "tiny-student", 16, 128, 32, 64),
    "codet5p-shape": ("codet5p-770m-shape", "codet5p-220m-shape", 8, 256, 32, 16),
}
PRESETS = ("legacy", "trident", "trident-v1")


class StepClock(TrainerCallback):
    """Wall time between consecutive optimizer-step ends: everything a step costs, data
    loading, loss, backward, optimizer and per-step logging included."""

    def __init__(self):
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())

    def mean_step(self, warmup: int) -> float:
        gaps = [b - a for a, b in zip(self.ends, self.ends[1:])][warmup:]
        return sum(gaps) / len(gaps)


def timed_fit(cfg, student, tok, data, teacher, warmup: int) -> float:
    clock = StepClock()
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    fit(cfg, cfg.train, RunDir(cfg.run_dir), student, tok, data, cfg.loss, role="student", model_spec=cfg.model.student,
        teacher=teacher, callbacks=[clock])
    return clock.mean_step(warmup)


def measure(pair: str, work: Path, warmup: int) -> dict:
    teacher_name, student_name, batch, src, tgt, steps = PAIRS[pair]
    common = [f"--data.dir={work / 'data'}", f"--runs_dir={work / 'runs'}", f"--data.max_source_len={src}",
              f"--data.max_target_len={tgt}", f"--train.batch_size={batch}", f"--train.max_steps={steps + warmup}",
              "--train.eval_every_epoch=false", "--train.save_steps=100000", "--tracking.wandb=disabled",
              "--tracking.tensorboard=false", "--tracking.progress=false", f"--eval.max_new_tokens={tgt}",
              "--model.vocab_size=1024", "--train.grad_norm_every=0"]
    base = load_config("experiments/legacy.yaml", common)
    data = prepare_data(base)
    data.val = data.val[:4]  # the final validation pass is not part of a step
    tok = build_tokenizer(base, data)
    teacher = build_model(teacher_name, tok, 1)
    out = {}
    for preset in PRESETS:
        cfg = load_config(f"experiments/{preset}.yaml", [*common, f"--name={pair}-{preset}"])
        out[preset] = timed_fit(cfg, build_model(student_name, tok, 0), tok, data, teacher, warmup)
        print(f"  {pair} {preset}: {out[preset]:.3f} s/step", flush=True)
    if pair != "tiny":  # the diagnostic's cost is a ratio of backward passes; the tiny pair shows it
        return out
    # the diagnostic alone: trident-v1 with a gradient norm per component on every step
    cfg = load_config("experiments/trident-v1.yaml", [*common, f"--name={pair}-v1-gradnorm", "--train.grad_norm_every=1"])
    out["v1_grad_norm_every_step"] = timed_fit(cfg, build_model(student_name, tok, 0), tok, data, teacher, warmup)
    # the `exec` reward (off by default): trident-v1 plus running the sampled assertions
    cfg = load_config("experiments/trident-v1.yaml", [*common, f"--name={pair}-v1-exec", "--loss.components.exec.start=0.1"])
    out["v1_with_exec"] = timed_fit(cfg, build_model(student_name, tok, 0), tok, data, teacher, warmup)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    p.add_argument("--warmup", type=int, default=2, help="first steps left out of the mean")
    p.add_argument("--out", default="benchmarks/overhead.json")
    args = p.parse_args()
    torch.manual_seed(0)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_splits(work / "data", 600, seed=0)
        for pair in args.pairs:
            t0 = time.perf_counter()
            r = measure(pair, work, args.warmup)
            r["trident_over_legacy"] = r["trident"] / r["legacy"]
            r["v1_over_trident"] = r["trident-v1"] / r["trident"]
            if "v1_grad_norm_every_step" in r:
                r["grad_norm_diagnostic_over_v1"] = r["v1_grad_norm_every_step"] / r["trident-v1"]
                r["exec_over_v1"] = r["v1_with_exec"] / r["trident-v1"]
            r["bench_seconds"] = time.perf_counter() - t0
            results[pair] = r
    table = pd.DataFrame(results).T.reindex(columns=["legacy", "trident", "trident-v1", "trident_over_legacy",
                                                     "v1_over_trident", "grad_norm_diagnostic_over_v1",
                                                     "exec_over_v1"])
    print("\nseconds per optimizer step, and ratios (budget: trident/legacy ≤ 1.25, v1/trident ≤ 1.10)")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"device": "cuda" if torch.cuda.is_available() else "cpu",
                                          "threads": torch.get_num_threads(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
