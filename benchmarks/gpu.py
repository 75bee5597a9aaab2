"""GPU figures (bf16, CodeT5+ shapes): step time, tokens per second, peak memory and model FLOPs
utilisation for `legacy` and `trident-v1`, teacher online and cached; and whether trident-v1
trains an epoch of the embedded corpus in bf16 without a non-finite step.

Without a GPU it records nothing (results.md then says "not measured") and exits 0.

    python benchmarks/gpu.py [--batch 32] [--steps 20]

MFU = achieved model FLOP/s over the GPU's dense bf16 peak. Model FLOPs per step: 6 per parameter
per token for the student (forward + backward; encoder parameters see the source tokens, decoder
and output-layer parameters the target tokens), plus 2 per parameter per token for the teacher's
forward when it runs online. The sequence terms' decode and the loss are not counted as model
FLOPs, so they lower the MFU, as they should.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from overhead import StepClock
from record import record
from trident import teacher_cache
from trident.config import load_config
from trident.data.synth import write_splits
from trident.fit import fit
from trident.models import build_model
from trident.rundir import RunDir, read_summary
from trident.runs import prepare_data
from trident.teacher import build_tokenizer

# dense bf16 peaks, FLOP/s, by a substring of torch.cuda.get_device_name()
PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12, "L4": 121e12, "4090": 165e12}


def peak_flops(name: str) -> float | None:
    return next((v for k, v in PEAKS.items() if k in name), None)


def stack_parameters(model) -> tuple[int, int]:
    enc = sum(p.numel() for p in model.get_encoder().parameters())
    return enc, sum(p.numel() for p in model.parameters()) - enc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--src", type=int, default=256)
    parser.add_argument("--tgt", type=int, default=64)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no GPU: GPU figures not measured")
        return
    name = torch.cuda.get_device_name(0)
    peak = peak_flops(name)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_splits(work / "data", 6000, seed=0)
        common = [f"--data.dir={work / 'data'}", f"--runs_dir={work / 'runs'}", f"--data.max_source_len={args.src}",
                  f"--data.max_target_len={args.tgt}", f"--train.batch_size={args.batch}",
                  f"--train.max_steps={args.steps + 3}", "--train.eval_every_epoch=false", "--train.save_steps=100000",
                  "--tracking.wandb=disabled", "--tracking.tensorboard=false", "--tracking.progress=false",
                  "--train.precision=bf16", "--model.vocab_size=1024", "--train.grad_norm_every=0",
                  "--model.teacher=codet5p-770m-shape", "--model.student=codet5p-220m-shape"]
        base = load_config("experiments/legacy.yaml", common)
        data = prepare_data(base)
        data.val = data.val[:8]
        tok = build_tokenizer(base, data)
        teacher = build_model("codet5p-770m-shape", tok, 1)
        teacher_path = work / "teacher"
        teacher.save_pretrained(teacher_path)
        tok.save_pretrained(teacher_path)
        cache_cfg = load_config("experiments/legacy.yaml", [*common, f"--model.teacher_checkpoint={teacher_path}"])
        cache = teacher_cache.ensure(cache_cfg, str(teacher_path), tok, progress=False)
        t_enc, t_dec = stack_parameters(teacher)
        for preset in ("legacy", "trident-v1"):
            for source, c in (("online", None), ("cached", cache)):
                cfg = load_config(f"experiments/{preset}.yaml", [*common, f"--name={preset}-{source}"])
                student = build_model("codet5p-220m-shape", tok, 0)
                s_enc, s_dec = stack_parameters(student)
                clock = StepClock()
                torch.cuda.reset_peak_memory_stats()
                cfg.run_dir.mkdir(parents=True, exist_ok=True)
                fit(cfg, cfg.train, RunDir(cfg.run_dir), student, tok, data, cfg.loss, role="student",
                    model_spec="codet5p-220m-shape", teacher=None if c else teacher, teacher_cache=c, callbacks=[clock])
                step = clock.mean_step(2)
                tokens = args.batch * (args.src + args.tgt)  # padded upper bound: batches are padded to their longest
                flops = 6 * args.batch * (s_enc * args.src + s_dec * args.tgt)
                if c is None:
                    flops += 2 * args.batch * (t_enc * args.src + t_dec * args.tgt)
                rows.append({"preset": preset, "teacher": source, "batch": args.batch, "s/step": step,
                             "tokens/s (≤)": tokens / step, "peak GiB": torch.cuda.max_memory_allocated() / 2**30,
                             "MFU (≤)": (flops / step / peak) if peak else None,
                             "non-finite steps": read_summary(RunDir(cfg.run_dir)).nonfinite_skipped})
        # an epoch of the embedded corpus in bf16: trident-v1 must finish without a non-finite step
        cfg = load_config("experiments/trident-v1.yaml", [*common, "--name=v1-epoch", "--train.max_steps=-1",
                                                          "--train.epochs=1"])
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        summary = fit(cfg, cfg.train, RunDir(cfg.run_dir), build_model("codet5p-220m-shape", tok, 0), tok, data,
                      cfg.loss, role="student", model_spec="codet5p-220m-shape", teacher=None, teacher_cache=cache)
        epoch = {"steps": summary.global_step, "non-finite steps": summary.nonfinite_skipped,
                 "seconds": time.perf_counter() - started}
    print(rows, epoch)
    record("gpu", {"rows": rows, "epoch": epoch, "peak_flops": peak, "device": name, "note": (
        f"{name}, bf16, CodeT5+ shapes (random init), source {args.src} / target {args.tgt} tokens; tokens/s and "
        f"MFU count padded lengths, so they are upper bounds. trident-v1, one epoch from the cache: "
        f"{epoch['steps']} steps, {epoch['non-finite steps']} non-finite.")})


if __name__ == "__main__":
    main()
