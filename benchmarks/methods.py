"""Wall time per optimizer step of trident-v1 and of each distillation method on top of it
(hidden, seqkd, gkd), the teacher online for all four (hidden and gkd need it; seqkd's beams
are written before the clock starts, as `trident teacher --beams` would).

Same student init, same batches, one process, presets interleaved, as benchmarks/overhead.py.

    python benchmarks/methods.py                   # tiny presets and the CodeT5+ shapes
    python benchmarks/methods.py --pairs tiny
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from overhead import run_pairs, timed_fit
from record import record, with_earlier_pairs
from trident import teacher_beams
from trident.config import load_config
from trident.data.synth import write_splits
from trident.models import build_model
from trident.runs import prepare_data
from trident.teacher import build_tokenizer

PAIRS = {
    # name: (teacher, student, batch, max_source_len, max_target_len, measured steps, records, beams)
    "tiny": ("tiny-teacher", "tiny-student", 16, 128, 32, 32, 600, 4),
    # 8 measured steps hold one self-critical step (every 8) and ~4 on-policy micro-batches (λ = 0.5)
    "codet5p-shape": ("codet5p-770m-shape", "codet5p-220m-shape", 8, 256, 32, 8, 80, 2),
}
METHODS = ("trident-v1", "trident-v1-hidden", "trident-v1-seqkd", "trident-v1-gkd")


def measure(pair: str, work: Path, warmup: int) -> dict:
    teacher_name, student_name, batch, src, tgt, steps, records, beams = PAIRS[pair]
    data_dir = work / f"data-{pair}"
    write_splits(data_dir, records, seed=0)
    teacher_path = work / f"teacher-{pair}"
    common = [f"--data.dir={data_dir}", f"--runs_dir={work / 'runs'}", f"--data.max_source_len={src}",
              f"--data.max_target_len={tgt}", f"--train.batch_size={batch}", f"--train.max_steps={steps + warmup + 1}",
              "--train.eval_every_epoch=false", "--train.save_steps=100000", "--tracking.wandb=disabled",
              "--tracking.tensorboard=false", "--tracking.progress=false", f"--eval.max_new_tokens={tgt}",
              "--model.vocab_size=1024", "--train.grad_norm_every=0", "--teacher.source=online",
              f"--model.teacher_checkpoint={teacher_path}", f"--teacher.beams={beams}"]
    base = load_config("experiments/trident-v1.yaml", common)
    data = prepare_data(base)
    data.val = data.val[:4]  # the final validation pass is not part of a step
    tok = build_tokenizer(base, data)
    teacher = build_model(teacher_name, tok, 1)
    teacher.save_pretrained(teacher_path)
    tok.save_pretrained(teacher_path)
    started = time.perf_counter()
    beams_dir = teacher_beams.ensure(base, str(teacher_path), tok, progress=False)
    out = {"beams_build_s": time.perf_counter() - started}
    for preset in METHODS:
        cfg = load_config(f"experiments/{preset}.yaml", [*common, f"--name={pair}-{preset}"])
        beams = beams_dir if "seqkd" in cfg.loss.components else None
        out[preset] = timed_fit(cfg, build_model(student_name, tok, 0), tok, data, teacher, warmup, beams=beams)
        print(f"  {pair} {preset}: {out[preset]:.3f} s/step", flush=True)
    return out


def main() -> None:
    results = with_earlier_pairs("methods", run_pairs(__doc__, PAIRS, measure), PAIRS)
    rows = [{"models": pair, "preset": preset, "s/step": r[preset], "× trident-v1": r[preset] / r["trident-v1"]}
            for pair, r in results.items() for preset in METHODS]
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    note = ("Teacher online for all four (random-init presets); seqkd's beams written before timing (build time in "
            "results.json); gkd at onpolicy_lambda = 0.5 samples the whole micro-batch on about half the steps.")
    record("methods", {"rows": rows, "raw": results, "note": note, "pairs": {k: PAIRS[k] for k in results}})


if __name__ == "__main__":
    main()
