"""Inference figures of a saved model: what it costs to run, measured the same way for every run.

    params          parameters of the loaded model
    bytes_on_disk   the model folder's weight files (its *.safetensors; *.bin only where it has none)
    peak_rss_mb     peak memory while loading and generating, in MiB: on CPU the peak resident set
                    of the measuring process (ru_maxrss); on CUDA the peak GPU memory torch allocated
                    (torch.cuda.max_memory_allocated)
    latency_p50_ms, latency_p95_ms
                    milliseconds per record at batch 1, greedy
    records_per_s, tokens_per_s
                    greedy generation at the evaluation batch size; tokens are the generated ones
                    (up to and including each record's end-of-sequence token)
    device, threads the evaluation device and torch's CPU thread count
    records, warmup, batch_size
                    the records measured (the first `eval.speed_records` of the split, in file order),
                    the batch-1 generations run first and not timed, the evaluation batch size

They are measured in a fresh process (`python -m trident.inference_figures`) that loads the
model from disk and generates: the peak memory of the process that trained or evaluated the
model includes the training (or the evaluation's own generation) and can never go back down,
so only a process that does nothing else measures what running the model costs. The same
fresh process makes the timings independent of what the caller did before.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from trident.io import atomic_write_json


@dataclass(frozen=True)
class InferenceFigures:
    params: int
    bytes_on_disk: int
    peak_rss_mb: float
    latency_p50_ms: float
    latency_p95_ms: float
    records_per_s: float
    tokens_per_s: float
    device: str
    threads: int
    records: int
    warmup: int
    batch_size: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "InferenceFigures":
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"not inference figures (missing {', '.join(missing)})")
        return cls(**{n: data[n] for n in names})


@dataclass(frozen=True)
class SpeedPlan:
    """What the measuring process is asked to do (written as JSON for it)."""
    model_dir: str
    inputs: list[list[int]]  # source token ids of the measured records, in order
    batch_size: int
    max_new_tokens: int
    warmup: int
    device: str  # a torch device: "cpu", "cuda:0"
    threads: int


def weight_files(model_dir: str | Path) -> list[Path]:
    """The files holding a model folder's weights: its safetensors files; a folder without any
    (an older hub model) loads from its pytorch_model*.bin, so those are its weights."""
    folder = Path(model_dir)
    return sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))


def bytes_on_disk(model_dir: str | Path) -> int:
    return sum(os.path.getsize(p) for p in weight_files(model_dir))


def local_model_dir(spec: str | Path) -> Path:
    """The folder a model spec loads from: the folder itself, or a hub name's cached snapshot."""
    path = Path(spec)
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(str(spec), local_files_only=True))


def measure(model_dir: str | Path, features: Sequence[dict], eval_cfg, device: Any) -> InferenceFigures | None:
    """The figures of the model in `model_dir` on the first `eval_cfg.speed_records` of `features`
    (encoded records, in split order), measured in a fresh process; None when `eval_cfg.speed` is
    off or there is no record. `device` is the evaluation's torch device."""
    if not eval_cfg.speed or not features:
        return None
    import torch

    plan = SpeedPlan(model_dir=str(local_model_dir(model_dir)),
                     inputs=[list(f["input_ids"]) for f in features[:eval_cfg.speed_records]],
                     batch_size=eval_cfg.batch_size, max_new_tokens=eval_cfg.max_new_tokens,
                     warmup=eval_cfg.speed_warmup, device=str(device), threads=torch.get_num_threads())
    return run_in_fresh_process(plan)


DISTRIBUTED_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK",
                   "ROLE_WORLD_SIZE", "GROUP_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def run_in_fresh_process(plan: SpeedPlan) -> InferenceFigures:
    package_root = str(Path(__file__).resolve().parent.parent)
    # one process on its own: not a rank of the torchrun group that may have started the caller
    env = {k: v for k, v in os.environ.items() if k not in DISTRIBUTED_ENV and not k.startswith("TORCHELASTIC_")}
    env.update(PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p),
               TRANSFORMERS_VERBOSITY="error")
    with tempfile.TemporaryDirectory(prefix="trident-speed-") as tmp:
        plan_file, out_file = Path(tmp) / "plan.json", Path(tmp) / "figures.json"
        atomic_write_json(plan_file, dataclasses.asdict(plan))
        done = subprocess.run([sys.executable, "-m", "trident.inference_figures", str(plan_file), str(out_file)],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0 or not out_file.exists():
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"measuring the inference figures of {plan.model_dir} failed "
                               f"(exit {done.returncode}); --eval.speed=false skips them:\n{tail}")
        return InferenceFigures.from_json(json.loads(out_file.read_text()))


# ---- in the measuring process ------------------------------------------------------------------

def generated_tokens(sequences, eos_ids: set[int]) -> int:
    """Tokens generated per row of `generate`'s output (the decoder start token left out), each
    row counted up to and including its first end-of-sequence token: the padding after it is not generated."""
    total = 0
    for row in sequences[:, 1:].tolist():
        ends = [i for i, t in enumerate(row) if t in eos_ids]
        total += ends[0] + 1 if ends else len(row)
    return total


def peak_rss_mib() -> float:
    """This process's peak resident set in MiB. Linux's VmHWM, not getrusage's ru_maxrss: a child
    process's ru_maxrss starts at its parent's peak (the kernel carries it over fork and exec), so
    in the measuring process it would report the trainer's memory."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    import resource  # elsewhere (macOS: bytes, and a fresh spawn does not carry the parent's peak)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def measure_plan(plan: SpeedPlan) -> InferenceFigures:
    import numpy as np
    import torch
    from torch.nn.utils.rnn import pad_sequence
    from transformers import AutoModelForSeq2SeqLM

    from trident.models import count_parameters

    torch.set_num_threads(plan.threads)
    device = torch.device(plan.device)
    model = AutoModelForSeq2SeqLM.from_pretrained(plan.model_dir).to(device)
    model.eval()
    gen = model.generation_config
    # Greedy whatever the run's eval.num_beams, so the figures compare across runs; max_length
    # counts the decoder start token (see trident.generation.set_generation).
    gen.max_length, gen.num_beams, gen.do_sample = plan.max_new_tokens + 1, 1, False
    eos = gen.eos_token_id if gen.eos_token_id is not None else model.config.eos_token_id
    eos_ids = set(eos) if isinstance(eos, (list, tuple)) else {eos}
    pad = model.config.pad_token_id

    def generate(rows: list[list[int]]):
        ids = pad_sequence([torch.tensor(r) for r in rows], batch_first=True, padding_value=pad).to(device)
        mask = pad_sequence([torch.ones(len(r), dtype=torch.long) for r in rows], batch_first=True).to(device)
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen)
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # generate returns before the GPU has finished
        return out

    inputs = plan.inputs
    for i in range(plan.warmup):  # the first calls pay one-off allocations and kernel choices
        generate([inputs[i % len(inputs)]])
    latencies = []
    for row in inputs:
        start = time.perf_counter()
        generate([row])
        latencies.append(time.perf_counter() - start)
    if plan.warmup:  # one untimed batch: the first call at the batch shape pays its own one-off costs
        generate([inputs[i % len(inputs)] for i in range(min(plan.warmup, plan.batch_size))])
    tokens, start = 0, time.perf_counter()
    for b in range(0, len(inputs), plan.batch_size):
        tokens += generated_tokens(generate(inputs[b:b + plan.batch_size]), eos_ids)
    elapsed = time.perf_counter() - start

    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
        label = f"{device} ({torch.cuda.get_device_name(device)})"
    else:
        peak_mb, label = peak_rss_mib(), str(device)
    p50, p95 = np.percentile(np.array(latencies) * 1000.0, [50, 95])
    return InferenceFigures(
        params=count_parameters(model), bytes_on_disk=bytes_on_disk(plan.model_dir),
        peak_rss_mb=float(peak_mb), latency_p50_ms=float(p50), latency_p95_ms=float(p95),
        records_per_s=len(inputs) / elapsed, tokens_per_s=tokens / elapsed, device=label,
        threads=torch.get_num_threads(), records=len(inputs), warmup=plan.warmup, batch_size=plan.batch_size)


def main(argv: list[str]) -> int:
    plan_file, out_file = argv
    plan = SpeedPlan(**json.loads(Path(plan_file).read_text()))
    atomic_write_json(out_file, measure_plan(plan).to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
