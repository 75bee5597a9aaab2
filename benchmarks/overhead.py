"""Wall time per optimizer step of the legacy, trident and trident-v1 losses (CPU by default).

For each model pair the three presets train the same student from the same random init on
the same batches, in one process, so the ratios compare like with like however noisy the
machine. Per-step time is the mean wall time
between consecutive optimizer-step ends (data, loss, backward, optimizer, logging), the
first `--warmup` steps left out. Per-component gradient-norm logging is a diagnostic with its own cost (one extra
backward pass per component every `train.grad_norm_every` steps): it is off here and
measured on its own, for the tiny pair, as is the `exec` reward (trident-v1 plus exec at weight 0.1),
in the last two columns.

Each preset runs twice, the teacher online and from the teacher-logit cache.

    python benchmarks/overhead.py                 # tiny presets and the CodeT5+ shapes
    python benchmarks/overhead.py --pairs tiny    # just the tiny presets
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
from transformers import TrainerCallback

from record import machine, record, with_earlier_pairs
from trident import teacher_cache
from trident.config import load_config
from trident.data.synth import write_splits
from trident.fit import fit
from trident.models import build_model
from trident.rundir import RunDir
from trident.runs import prepare_data
from trident.teacher import build_tokenizer

PAIRS = {
    # name: (teacher, student, batch, max_source_len, max_target_len, steps, records written)
    "tiny": ("tiny-teacher", "tiny-student", 16, 128, 32, 64, 600),
    # 10 measured steps hold exactly one self-critical step (every 8): the mean carries its share
    "codet5p-shape": ("codet5p-770m-shape", "codet5p-220m-shape", 8, 256, 32, 8, 125),
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


def timed_fit(cfg, student, tok, data, teacher, warmup: int, cache=None, beams=None) -> float:
    clock = StepClock()
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    fit(cfg, cfg.train, RunDir(cfg.run_dir), student, tok, data, cfg.loss, role="student", model_spec=cfg.model.student,
        teacher=None if cache is not None else teacher, teacher_cache=cache, teacher_beams=beams, callbacks=[clock])
    return clock.mean_step(warmup)


def measure(pair: str, work: Path, warmup: int) -> dict:
    teacher_name, student_name, batch, src, tgt, steps, records = PAIRS[pair]
    data_dir = work / f"data-{pair}"
    write_splits(data_dir, records, seed=0)
    common = [f"--data.dir={data_dir}", f"--runs_dir={work / 'runs'}", f"--data.max_source_len={src}",
              f"--data.max_target_len={tgt}", f"--train.batch_size={batch}", f"--train.max_steps={steps + warmup + 1}",
              "--train.eval_every_epoch=false", "--train.save_steps=100000", "--tracking.wandb=disabled",
              "--tracking.tensorboard=false", "--tracking.progress=false", f"--eval.max_new_tokens={tgt}",
              "--model.vocab_size=1024", "--train.grad_norm_every=0"]
    base = load_config("experiments/legacy.yaml", common)
    data = prepare_data(base)
    data.val = data.val[:4]  # the final validation pass is not part of a step
    tok = build_tokenizer(base, data)
    teacher = build_model(teacher_name, tok, 1)
    # the cache needs the teacher as a folder (its fingerprint is its weights)
    teacher_path = work / f"teacher-{pair}"
    teacher.save_pretrained(teacher_path)
    tok.save_pretrained(teacher_path)
    cache_cfg = load_config("experiments/legacy.yaml", [*common, f"--model.teacher_checkpoint={teacher_path}"])
    started = time.perf_counter()
    cache = teacher_cache.ensure(cache_cfg, str(teacher_path), tok, progress=False)
    cache_s = time.perf_counter() - started
    out = {"cache_build_s": cache_s, "cache_records": cache.meta["records"]}
    for preset in PRESETS:  # interleaved: each preset online, then cached
        for source, c in (("online", None), ("cached", cache)):
            cfg = load_config(f"experiments/{preset}.yaml", [*common, f"--name={pair}-{preset}-{source}"])
            out[f"{preset}/{source}"] = timed_fit(cfg, build_model(student_name, tok, 0), tok, data, teacher, warmup, c)
            print(f"  {pair} {preset} teacher {source}: {out[f'{preset}/{source}']:.3f} s/step", flush=True)
    if pair != "tiny":  # the diagnostic's cost is a ratio of backward passes; the tiny pair shows it
        return out
    # the diagnostic alone: trident-v1 with a gradient norm per component on every step
    cfg = load_config("experiments/trident-v1.yaml", [*common, f"--name={pair}-v1-gradnorm", "--train.grad_norm_every=1"])
    out["v1_grad_norm_every_step"] = timed_fit(cfg, build_model(student_name, tok, 0), tok, data, teacher, warmup)
    # the `exec` reward (off by default): trident-v1 plus running the sampled assertions
    cfg = load_config("experiments/trident-v1.yaml", [*common, f"--name={pair}-v1-exec", "--loss.components.exec.start=0.1"])
    out["v1_with_exec"] = timed_fit(cfg, build_model(student_name, tok, 0), tok, data, teacher, warmup)
    return out


def summarise(pair: str, r: dict) -> list[dict]:
    rows = []
    for preset in PRESETS:
        rows.append({"models": pair, "preset": preset, "online s/step": r[f"{preset}/online"],
                     "cached s/step": r[f"{preset}/cached"], "cached / online": r[f"{preset}/cached"] / r[f"{preset}/online"]})
    for source in ("online", "cached"):
        rows.append({"models": pair, "preset": f"ratios, teacher {source}",
                     "trident / legacy": r[f"trident/{source}"] / r[f"legacy/{source}"],
                     "v1 / trident": r[f"trident-v1/{source}"] / r[f"trident/{source}"]})
    if "v1_grad_norm_every_step" in r:
        rows.append({"models": pair, "preset": "trident-v1 extras (online)",
                     "grad-norm diagnostic every step / v1": r["v1_grad_norm_every_step"] / r["trident-v1/online"],
                     "with exec reward / v1": r["v1_with_exec"] / r["trident-v1/online"]})
    return rows


def run_pairs(doc: str, pairs: dict, measure) -> dict:
    """Parse --pairs and --warmup, then `measure(pair, work, warmup)` each chosen pair in one
    temporary folder: {pair: its results, with the seconds it took as bench_seconds}."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--pairs", nargs="+", default=list(pairs), choices=list(pairs))
    p.add_argument("--warmup", type=int, default=2, help="first steps left out of the mean")
    args = p.parse_args()
    torch.manual_seed(0)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pair in args.pairs:
            t0 = time.perf_counter()
            results[pair] = measure(pair, Path(tmp), args.warmup)
            results[pair]["bench_seconds"] = time.perf_counter() - t0
            results[pair]["measured"] = machine()["measured"]
    return results


def main() -> None:
    results = with_earlier_pairs("steps", run_pairs(__doc__, PAIRS, measure), PAIRS)
    rows = [row for pair, r in results.items() for row in summarise(pair, r)]
    print("\nseconds per optimizer step (budgets: trident/legacy ≤ 1.25, v1/trident ≤ 1.10, cached/online ≤ 0.6 "
          "on the CodeT5+ shapes)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
    note = ("Each pair trains the same student from the same init on the same batches, in one process, online and "
            "cached interleaved per preset; the teacher is a random-init preset and its cache covers the run's "
            "training split (build time in results.json). Budgets: trident/legacy ≤ 1.25, v1/trident ≤ 1.10, "
            "cached/online ≤ 0.6 on the CodeT5+ shapes.")
    record("steps", {"rows": rows, "raw": results, "note": note, "pairs": {k: PAIRS[k] for k in results}})


if __name__ == "__main__":
    main()
