"""The three distillation methods through `trident train`, as a user runs them: each preset
trains and its term has a gradient in the real trainer; the hidden-state projections survive a
SIGKILL and the resumed run continues exactly where the uninterrupted one went."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from conftest import tiny_overrides
from trident.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("method, term", [("hidden", "hidden"), ("seqkd", "seqkd"), ("gkd", "gkd")])
def test_each_method_preset_trains_and_its_term_moves_the_student(synth_dir, tmp_path, monkeypatch, method, term):
    runs = tmp_path / "runs"
    # the trainer hands seqkd's and gkd's second decoder passes the step's own encodings
    from trident.losses import forced, onpolicy, seqkd

    passes = []

    def logits_on(model, model_inputs, targets, encoded=None):
        passes.append(encoded is not None and encoded.shape[0] == model_inputs["input_ids"].shape[0])
        return forced.logits_on(model, model_inputs, targets, encoded)

    monkeypatch.setattr(seqkd, "logits_on", logits_on)
    monkeypatch.setattr(onpolicy, "logits_on", logits_on)
    args = ["--config", f"experiments/trident-v1-{method}.yaml",
            *tiny_overrides(synth_dir, runs, name=method, **{"train.max_steps": 4, "train.grad_norm_every": 2,
                                                              "loss.seq_reward_every": 2, "loss.onpolicy_lambda": 1.0})]
    assert main(["train", *args]) == 0
    run = runs / method
    rows = _rows(run / "step_metrics.csv")
    assert len(rows) == 4
    assert all(r[f"{term}/raw"] and float(r[f"{term}/raw"]) > 0 for r in rows)
    norms = [float(r[f"{term}/grad_norm"]) for r in rows if r[f"{term}/grad_norm"]]
    assert norms and all(n > 0 for n in norms)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["completed"]
    assert summary["teacher_source"] == "online"  # the seqkd preset has no cache yet: auto runs the teacher
    if method == "seqkd":  # built on first use, next to the logit cache
        assert list((runs / ".cache" / "teacher-beams").glob("*/beams.jsonl"))
    # 4 steps of one micro-batch each: one pass for seqkd, a student and a teacher pass for gkd (λ = 1)
    assert passes == {"hidden": [], "seqkd": [True] * 4, "gkd": [True] * 8}[method]


def test_a_cache_only_run_of_gkd_is_refused_with_the_reason(synth_dir, tmp_path, capsys):
    args = ["--config", "experiments/trident-v1-gkd.yaml", *tiny_overrides(synth_dir, tmp_path / "runs"),
            "--teacher.source=cache"]
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert "gkd need the teacher online" in err and "--teacher.source=online" in err


def test_hidden_projections_survive_a_sigkill_and_resume(synth_dir, tmp_path):
    runs = tmp_path / "runs"
    common = ["--config", "experiments/trident-v1-hidden.yaml",
              *tiny_overrides(synth_dir, runs, **{"train.max_steps": 12, "train.save_steps": 2,
                                                  "train.save_total_limit": 10, "train.eval_every_epoch": "false"})]
    assert main(["train", *common, "--name=full"]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "trident", "train", *common, "--name=cut"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = runs / "cut" / "checkpoints"
    deadline = time.time() + 300
    try:
        while not (checkpoints / "checkpoint-4" / "trainer_state.json").exists():
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (runs / "cut" / "summary.json").exists()
    saved = load_file(str(checkpoints / "checkpoint-4" / "loss_parameters.safetensors"))
    assert {k.split(".")[2] for k in saved if k.startswith("hidden.")} == {"encoder-1", "encoder-2", "decoder-1",
                                                                          "decoder-2"}
    assert saved["hidden.maps.decoder-2.weight"].shape == (128, 72)  # tiny student 72 → tiny teacher 128
    assert main(["train", *common, "--name=cut", "--train.resume=true"]) == 0
    full, cut = _rows(runs / "full" / "step_metrics.csv"), _rows(runs / "cut" / "step_metrics.csv")
    by_step = {int(r["step"]): r for r in cut}
    assert sorted(by_step) == list(range(1, 13))
    # the resumed steps continue with the checkpoint's projections: the same values as without the kill
    for r in full:
        assert float(by_step[int(r["step"])]["hidden/raw"]) == pytest.approx(float(r["hidden/raw"]), rel=1e-5)
    final_full = load_file(str(runs / "full" / "checkpoints" / "checkpoint-12" / "loss_parameters.safetensors"))
    final_cut = load_file(str(checkpoints / "checkpoint-12" / "loss_parameters.safetensors"))
    for k in final_full:
        assert (final_full[k] - final_cut[k]).abs().max() < 1e-5, k
    # never part of the saved student
    student = load_file(str(runs / "cut" / "model" / "model.safetensors"))
    assert not [k for k in student if "hidden" in k or "maps" in k]
