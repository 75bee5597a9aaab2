"""Several processes: `torchrun --nproc_per_node=2` on CPU (gloo) trains like one process with
the same global batch (2 × 4 here against 4 with two accumulated micro-batches: the loss is a
mean per micro-batch, which DDP and accumulation both average), step for step."""
import csv
import json
import os
import subprocess
import sys

import pytest

from conftest import tiny_overrides
from trident.cli import main
from trident.config import load_config
from trident.errors import RunDirError
from trident.teacher import ensure_teacher


def _rows(run_dir):
    with open(run_dir / "step_metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("preset,columns", [
    ("legacy", ["loss_total", "ce/raw", "kl/raw", "grad_norm"]),
    # the self-critical term every 2 steps (semantic, pans, ast) and the contrastive term with its
    # own projection (averaged across processes by trident, not by DDP) on every step
    # (per-component gradient norms are not compared: each process measures its own first micro-batch)
    ("trident-v1", ["loss_total", "focal/raw", "jsd/raw", "semantic/raw", "pans/raw", "ast/raw", "contrastive/raw",
                    "grad_norm"]),
    # the three distillation methods at once: gkd on-policy on every micro-batch (λ = 1: the
    # student's samples, seeded per micro-batch, not per process; the λ draw uses the same seed),
    # the hidden-state projections averaged like the contrastive one, seqkd on beams written first
    ("trident-v1-gkd", ["loss_total", "gkd/raw", "hidden/raw", "seqkd/raw", "grad_norm"]),
])
def test_two_processes_follow_the_single_process_curve(synth_dir, tmp_path, preset, columns):
    runs = tmp_path / "runs"
    args = ["--config", f"experiments/{preset}.yaml", *tiny_overrides(synth_dir, runs), "--loss.seq_reward_every=2"]
    beams = []
    if preset == "trident-v1-gkd":
        args += ["--loss.components={hidden: {start: 0.1, end: 0.1}, seqkd: {start: 0.2, end: 0.2}}",
                 "--loss.onpolicy_lambda=1"]
        beams = ["--beams", "4"]
    # a multi-process run needs its teacher (and seqkd's beams) written first
    assert main(["teacher", *args, *beams]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "trident", "train", *args, "--name=ddp", "--train.batch_size=4"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "unused parameters" not in done.stderr
    assert main(["train", *args, "--name=single", "--train.batch_size=4", "--train.grad_accum=2"]) == 0

    ddp, single = _rows(runs / "ddp"), _rows(runs / "single")
    assert len(ddp) == len(single) == 6  # one writer: rank 0
    for column in columns:
        a = [r[column] for r in single]
        b = [r[column] for r in ddp]
        assert [x == "" for x in a] == [x == "" for x in b], column
        assert any(a), column
        assert [float(x) for x in b if x] == pytest.approx([float(x) for x in a if x], rel=1e-4, abs=1e-6), column
    if preset == "trident-v1":
        assert [r["semantic/raw"] != "" for r in ddp] == [True, False] * 3
    summary = json.loads((runs / "ddp" / "summary.json").read_text())
    assert summary["completed"] and summary["global_step"] == 6
    one = json.loads((runs / "single" / "summary.json").read_text())
    for key in ("f1", "exact_match", "pans", "bleu"):  # the final validation pass, gathered from both ranks
        assert summary["val_metrics"][key] == pytest.approx(one["val_metrics"][key], abs=1e-9)
    # one writer, rank 0: its training curves and, in a second file, the hparams it writes at the end
    # (events.out.tfevents.<time>.<host>.<pid>.<n>)
    events = list((runs / "ddp" / "tb").glob("events.out.tfevents.*"))
    assert events and len({e.name.split(".")[-2] for e in events}) == 1, events


def test_a_multi_process_run_without_its_teacher_says_to_train_it_first(synth_dir, tmp_path, monkeypatch):
    cfg = load_config("experiments/legacy.yaml", tiny_overrides(synth_dir, tmp_path / "runs"))
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RunDirError, match="train it first in one process: trident teacher"):
        ensure_teacher(cfg)
