"""GPU figures (bf16, CodeT5+ shapes), as one short script for the first GPU available:

- step time, tokens per second, peak memory and model FLOPs utilisation (MFU) for `legacy` and
  `trident-v1`, teacher online and from its logit cache (interleaved, one process);
- MFU of the legacy step at growing batches until one no longer fits (the batch that fills the device);
- a bf16 epoch of trident-v1 on synthetic data, counting its non-finite steps;
- the student's generation latency at batch 1 and 32 (greedy, a fixed number of new tokens);
- with Liger Kernel installed (CUDA only): trident's kl and jsd against Liger's fused losses,
  forward + backward time, peak memory and the largest value difference.

Models are the `codet5p-*-shape` presets: the CodeT5+ architectures with random weights, built
from their configs (no download; the GPU box has no network). Targets: MFU ≥ 0.35 for the
legacy step at a batch that fills the device; trident-v1 ≤ 1.10 × legacy, online and cached.

    python benchmarks/gpu.py                # on a GPU (not yet timed there; budget ~10 minutes)
    python benchmarks/gpu.py --dry-run      # CPU, tiny presets, a few steps: proves the script runs

Without a GPU (and without --dry-run) it records nothing, so results.md keeps saying "not
measured", and exits 0. A dry run records only where TRIDENT_BENCH_RESULTS points (see record.py):
its CPU figures are no GPU measurement.

MFU = achieved model FLOP/s over the device's dense bf16 peak. Model FLOPs per step: 6 per
parameter per token for the student (forward + backward; encoder parameters see the source
tokens, decoder and output-layer parameters the target tokens), plus 2 per parameter per token
for the teacher's forward when it runs online. Tokens are the real (non-padding) ones of the
training split, on average per batch; padded positions are computed but not counted. The
sequence terms' decode and the loss are not model FLOPs, so they lower the MFU, as they should.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from overhead import StepClock
from record import record
from trident import teacher_cache
from trident.config import load_config
from trident.data.encoding import encode_records
from trident.data.synth import write_splits
from trident.fit import fit
from trident.models import build_model
from trident.rundir import RunDir
from trident.runs import prepare_data
from trident.teacher import build_tokenizer

# dense bf16 peaks, FLOP/s, by a substring of torch.cuda.get_device_name()
PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12, "L4": 121e12, "4090": 165e12}
TARGET_MFU = 0.35  # legacy step, at a batch that fills the device
TARGET_V1_OVER_LEGACY = 1.10


@dataclass(frozen=True)
class Plan:
    teacher: str
    student: str
    batch: int
    src: int  # data.max_source_len
    tgt: int  # data.max_target_len
    steps: int  # timed steps per run (after 2 left out)
    records: int  # synthetic records written (80% train)
    precision: str
    fill_batches: tuple[int, ...]  # legacy batches tried for the MFU at a full device, until one does not fit
    fill_steps: int
    generate_batches: tuple[int, ...]
    new_tokens: int


GPU = Plan("codet5p-770m-shape", "codet5p-220m-shape", batch=32, src=256, tgt=64, steps=20, records=6000,
           precision="bf16", fill_batches=(64, 128, 256), fill_steps=8, generate_batches=(1, 32), new_tokens=64)
DRY = Plan("tiny-teacher", "tiny-student", batch=4, src=48, tgt=16, steps=2, records=40, precision="fp32",
           fill_batches=(8,), fill_steps=2, generate_batches=(1, 4), new_tokens=4)
PRESETS = ("legacy", "trident-v1")
WARMUP = 2


def peak_flops(name: str) -> float | None:
    return next((v for k, v in PEAKS.items() if k in name), None)


def stack_parameters(model) -> tuple[int, int]:
    enc = sum(p.numel() for p in model.get_encoder().parameters())
    return enc, sum(p.numel() for p in model.parameters()) - enc


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class DeviceStepClock(StepClock):
    """StepClock that waits for the device first: a step ends when its kernels have run."""

    def on_step_end(self, args, state, control, **kwargs):
        sync()
        super().on_step_end(args, state, control, **kwargs)


def reset_peak() -> None:
    if torch.cuda.is_available():
        gc.collect()  # what a failed (out-of-memory) run left behind
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> float | None:
    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None


class Bench:
    """The synthetic data, tokenizer, teacher and its logit cache, shared by every measurement."""

    def __init__(self, plan: Plan, work: Path):
        self.plan, self.work = plan, work
        write_splits(work / "data", plan.records, seed=0)
        self.common = [f"--data.dir={work / 'data'}", f"--runs_dir={work / 'runs'}", f"--data.max_source_len={plan.src}",
                       f"--data.max_target_len={plan.tgt}", "--train.eval_every_epoch=false", "--train.save_steps=100000",
                       "--tracking.wandb=disabled", "--tracking.tensorboard=false", "--tracking.progress=false",
                       f"--train.precision={plan.precision}", "--model.vocab_size=1024", "--train.grad_norm_every=0",
                       f"--eval.max_new_tokens={plan.tgt}", f"--model.teacher={plan.teacher}",
                       f"--model.student={plan.student}"]
        base = load_config("experiments/legacy.yaml", self.common)
        self.data = prepare_data(base)
        self.data.val = self.data.val[:2]  # the final validation pass is not what is measured
        self.tok = build_tokenizer(base, self.data)
        self.teacher = build_model(plan.teacher, self.tok, 1)
        teacher_path = work / "teacher"
        self.teacher.save_pretrained(teacher_path)
        self.tok.save_pretrained(teacher_path)
        cache_cfg = load_config("experiments/legacy.yaml", [*self.common, f"--model.teacher_checkpoint={teacher_path}"])
        self.cache = teacher_cache.ensure(cache_cfg, str(teacher_path), self.tok, progress=False)
        features = encode_records(self.data.train, self.tok, plan.src, plan.tgt)
        # real tokens per row, on average: what a batch's model FLOPs are counted on
        self.src_tokens = statistics.fmean(len(f["input_ids"]) for f in features)
        self.tgt_tokens = statistics.fmean(len(f["labels"]) for f in features)
        self.t_enc, self.t_dec = stack_parameters(self.teacher)

    def run(self, preset: str, name: str, batch: int, steps: int, cached: bool, extra=()) -> tuple[float, object, dict]:
        """(mean s/step, fit's summary, figures) of one run of `preset`."""
        cfg = load_config(f"experiments/{preset}.yaml", [*self.common, f"--name={name}", f"--train.batch_size={batch}",
                                                          f"--train.max_steps={steps + WARMUP + 1}", *extra])
        student = build_model(self.plan.student, self.tok, 0)
        s_enc, s_dec = stack_parameters(student)
        clock = DeviceStepClock()
        reset_peak()
        cfg.run_dir.mkdir(parents=True, exist_ok=True)
        summary = fit(cfg, cfg.train, RunDir(cfg.run_dir), student, self.tok, self.data, cfg.loss, role="student",
                      model_spec=self.plan.student, teacher=None if cached else self.teacher,
                      teacher_cache=self.cache if cached else None, callbacks=[clock])
        step = clock.mean_step(WARMUP) if steps > 0 else float("nan")
        flops = 6 * batch * (s_enc * self.src_tokens + s_dec * self.tgt_tokens)
        if not cached:
            flops += 2 * batch * (self.t_enc * self.src_tokens + self.t_dec * self.tgt_tokens)
        return step, summary, {"flops": flops, "peak GiB": peak_gib()}


def step_rows(bench: Bench, peak: float | None) -> list[dict]:
    rows = []
    for preset in PRESETS:  # interleaved: each preset online, then cached
        for source in ("online", "cached"):
            step, summary, fig = bench.run(preset, f"{preset}-{source}", bench.plan.batch, bench.plan.steps,
                                           source == "cached")
            tokens = bench.plan.batch * (bench.src_tokens + bench.tgt_tokens)
            rows.append({"preset": preset, "teacher": source, "batch": bench.plan.batch, "s/step": step,
                         "tokens/s": tokens / step, "peak GiB": fig["peak GiB"],
                         "MFU": fig["flops"] / step / peak if peak else None,
                         "non-finite steps": summary.nonfinite_skipped})
            print(f"  {preset} teacher {source}: {step:.3f} s/step", flush=True)
    return rows


def fill_rows(bench: Bench, peak: float | None) -> list[dict]:
    """The legacy step (teacher cached: the student alone) at growing batches until one does
    not fit: its MFU at the largest that does is the figure held to TARGET_MFU."""
    rows = []
    for batch in bench.plan.fill_batches:
        try:
            step, _, fig = bench.run("legacy", f"legacy-fill-{batch}", batch, bench.plan.fill_steps, cached=True)
        except torch.cuda.OutOfMemoryError:
            rows.append({"batch": batch, "s/step": None, "tokens/s": None, "peak GiB": None, "MFU": None,
                         "fits": False})
            reset_peak()
            break
        rows.append({"batch": batch, "s/step": step,
                     "tokens/s": batch * (bench.src_tokens + bench.tgt_tokens) / step, "peak GiB": fig["peak GiB"],
                     "MFU": fig["flops"] / step / peak if peak else None, "fits": True})
        print(f"  legacy, teacher cached, batch {batch}: {step:.3f} s/step", flush=True)
    return rows


def epoch_figures(bench: Bench) -> dict:
    """One epoch of trident-v1 from the cache, in the plan's precision: non-finite steps counted."""
    started = time.perf_counter()
    _, summary, fig = bench.run("trident-v1", "v1-epoch", bench.plan.batch, 0, cached=True,
                                extra=("--train.max_steps=-1", "--train.epochs=1"))
    return {"steps": summary.global_step, "non-finite steps": summary.nonfinite_skipped,
            "seconds": time.perf_counter() - started, "peak GiB": fig["peak GiB"]}


def generation_rows(bench: Bench, device: torch.device, dtype: torch.dtype, repeats: int = 3) -> list[dict]:
    """Greedy decoding latency of the student: exactly `new_tokens` new tokens per row (random
    weights would stop at a random eos otherwise), median of `repeats` after one warm-up call."""
    student = build_model(bench.plan.student, bench.tok, 0).to(device=device, dtype=dtype).eval()
    features = encode_records(bench.data.train, bench.tok, bench.plan.src, bench.plan.tgt)
    rows = []
    for batch in bench.plan.generate_batches:
        enc = bench.tok.pad({"input_ids": [f["input_ids"] for f in features[:batch]]}, return_tensors="pt").to(device)
        n = bench.plan.new_tokens
        times = []
        for _ in range(repeats + 1):
            sync()
            t0 = time.perf_counter()
            with torch.no_grad():
                out = student.generate(**enc, do_sample=False, num_beams=1, max_new_tokens=n, min_new_tokens=n)
            sync()
            times.append(time.perf_counter() - t0)
        latency = statistics.median(times[1:])
        rows.append({"batch": batch, "new tokens": out.shape[1] - 1, "source tokens": enc["input_ids"].shape[1],
                     "latency s": latency, "ms per new token": 1000 * latency / n,
                     "tokens/s": batch * n / latency})
        print(f"  generation, batch {batch}: {latency:.3f} s", flush=True)
    return rows


def liger_rows(bench: Bench, device: torch.device) -> list[dict]:
    """trident's kl and jsd against Liger Kernel's at the plan's batch × target length over the
    student's vocabulary, bf16 logits, every position real: forward + backward."""
    if device.type != "cuda":
        return [{"component": "liger", "note": "skipped: Liger Kernel runs on CUDA only"}]
    try:
        from liger_kernel.transformers import LigerJSD, LigerKLDIVLoss
    except ImportError:
        return [{"component": "liger", "note": "skipped: liger-kernel is not installed (pip install liger-kernel)"}]
    from trident.losses.catalog import COMPONENTS
    from trident.losses.registry import LossInputs

    cfg = load_config("experiments/trident-v1.yaml", bench.common).loss
    t = cfg.temperature
    rows_n, vocab = bench.plan.batch * bench.plan.tgt, bench.teacher.config.vocab_size
    g = torch.Generator(device=device).manual_seed(0)
    s_logits = torch.randn(rows_n, vocab, device=device, generator=g).to(torch.bfloat16)
    t_logits = (torch.randn(rows_n, vocab, device=device, generator=g) * 2).to(torch.bfloat16)
    labels = torch.zeros(1, rows_n, dtype=torch.long, device=device)

    def ours(name):
        def fn(x):
            return COMPONENTS[name].fn(LossInputs(x.view(1, rows_n, vocab), labels, t_logits.view(1, rows_n, vocab)), cfg)
        return fn

    def soft(x):
        return torch.log_softmax(x.float() / t, -1)

    kl_lib, jsd_lib = LigerKLDIVLoss(reduction="batchmean", log_target=True), LigerJSD(beta=cfg.jsd_beta)
    candidates = {
        ("kl", "trident"): ours("kl"),
        ("kl", "liger"): lambda x: kl_lib(soft(x), soft(t_logits)) * t * t,
        ("jsd", "trident"): ours("jsd"),
        ("jsd", "liger"): lambda x: jsd_lib(soft(x), soft(t_logits)) * t * t,
    }
    out, values = [], {}
    for (component, impl), fn in candidates.items():
        times = []
        for _ in range(4):
            x = s_logits.detach().clone().requires_grad_(True)
            reset_peak()
            sync()
            t0 = time.perf_counter()
            value = fn(x)
            value.backward()
            sync()
            times.append(time.perf_counter() - t0)
        values[(component, impl)] = float(value)
        out.append({"component": component, "implementation": impl, "ms (fwd + bwd)": 1000 * statistics.median(times[1:]),
                    "peak GiB": peak_gib(), "value": float(value)})
    for row in out:
        row["|value − trident's|"] = abs(row["value"] - values[(row["component"], "trident")])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny presets, a few steps: the script's own test")
    parser.add_argument("--batch", type=int, help="batch of the step rows (default 32)")
    parser.add_argument("--steps", type=int, help="timed steps per run (default 20)")
    args = parser.parse_args()
    plan = DRY if args.dry_run else GPU
    plan = Plan(**{**asdict(plan), **{k: v for k, v in (("batch", args.batch), ("steps", args.steps)) if v}})
    cuda = torch.cuda.is_available()
    if not cuda and not args.dry_run:
        print("no GPU: GPU figures not measured (python benchmarks/gpu.py --dry-run checks the script on the CPU)")
        return
    device = torch.device("cuda" if cuda else "cpu")
    name = torch.cuda.get_device_name(0) if cuda else "CPU (dry run)"
    peak = peak_flops(name) if cuda else None
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(plan, Path(tmp))
        rows = step_rows(bench, peak)
        fill = fill_rows(bench, peak)
        epoch = epoch_figures(bench)
        dtype = torch.bfloat16 if plan.precision == "bf16" else torch.float32
        generation = generation_rows(bench, device, dtype)
        liger = liger_rows(bench, device)
    step = {(r["preset"], r["teacher"]): r["s/step"] for r in rows}
    mfus = [r["MFU"] for r in [*(r for r in rows if r["preset"] == "legacy"), *fill] if r["MFU"] is not None]
    targets = [{"target": f"legacy MFU ≥ {TARGET_MFU} at a batch that fills the device",
                "measured": max(mfus) if mfus else None, "met": (max(mfus) >= TARGET_MFU) if mfus else None}]
    for source in ("online", "cached"):
        ratio = step[("trident-v1", source)] / step[("legacy", source)]
        targets.append({"target": f"trident-v1 / legacy ≤ {TARGET_V1_OVER_LEGACY}, teacher {source}",
                        "measured": ratio, "met": ratio <= TARGET_V1_OVER_LEGACY})
    figures = {
        "rows": rows, "device": name, "peak_flops": peak, "dry_run": args.dry_run, "plan": asdict(plan),
        "epoch": epoch, "real_tokens_per_row": {"source": bench.src_tokens, "target": bench.tgt_tokens},
        "tables": [
            {"title": "Targets", "rows": targets},
            {"title": "The legacy step (teacher cached) at growing batches: MFU where the device is full", "rows": fill},
            {"title": f"trident-v1, one epoch from the cache in {plan.precision}",
             "rows": [{"steps": epoch["steps"], "non-finite steps": epoch["non-finite steps"],
                       "seconds": epoch["seconds"], "peak GiB": epoch["peak GiB"]}]},
            {"title": f"The student's generation latency (greedy, {plan.new_tokens} new tokens, {plan.precision})",
             "rows": generation},
            {"title": "kl and jsd against Liger Kernel (forward + backward, bf16 logits)", "rows": liger},
        ],
        "note": (f"{name}, {plan.precision}, {plan.student} student and {plan.teacher} teacher (random init, built "
                 f"from their configs), batch {plan.batch}, source ≤ {plan.src} / target ≤ {plan.tgt} tokens "
                 f"({bench.src_tokens:.0f} / {bench.tgt_tokens:.0f} real on average), {plan.steps} timed steps per "
                 "run after 2; tokens/s and MFU count real tokens only. Targets: legacy MFU ≥ 0.35 at a batch "
                 "filling the device, trident-v1 ≤ 1.10 × legacy."),
    }
    print(figures)
    if args.dry_run and not os.environ.get("TRIDENT_BENCH_RESULTS"):
        print("dry run: nothing recorded (set TRIDENT_BENCH_RESULTS to record it somewhere)")
        return
    record("gpu", figures)


if __name__ == "__main__":
    main()
