"""Run directories: file modes, the gold-embedding cache format, locks, overwrite, resume."""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from conftest import StopAt, tiny_overrides
from trident.cli import main
from trident.config import load_config
from trident.distill import distill
from trident.encoders import cached_embeddings, embed
from trident.io import atomic_write_json, atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
LEGACY = "experiments/legacy.yaml"


@pytest.fixture
def umask():
    """Set a umask for one test and put the old one back."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_atomic_writes_get_the_mode_a_plain_open_would(tmp_path, umask, mask):
    umask(mask)
    with open(tmp_path / "plain.txt", "w") as fh:
        fh.write("x")
    atomic_write_text(tmp_path / "a.txt", "x")
    atomic_write_json(tmp_path / "b.json", {"x": 1})
    expected = 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode) == expected  # the rule we follow
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == expected


def test_gold_embedding_cache_is_safetensors_and_reloads_the_same_vectors(tmp_path):
    ids, texts = ["a", "b"], ["assertEquals(1, x);", "assertNull(y);"]
    first = cached_embeddings(ids, texts, "all-MiniLM-L6-v2", tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".safetensors"
    stored = load_file(files[0])  # no pickle involved: safetensors holds tensors only
    assert torch.equal(stored["embeddings"], first)
    assert torch.allclose(first, embed(texts, "all-MiniLM-L6-v2"), atol=1e-6)
    again = cached_embeddings(ids, texts, "all-MiniLM-L6-v2", tmp_path)
    assert torch.equal(again, first)


class _StartStep(TrainerCallback):
    """The step training (re)starts from: the checkpoint the Trainer really loaded."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.step = state.global_step


@pytest.fixture(scope="module")
def runs(synth_dir, tmp_path_factory):
    """A runs folder whose teacher is trained once for the module's tests."""
    runs = tmp_path_factory.mktemp("rundir") / "runs"
    assert main(["teacher", "--config", LEGACY, *_base(synth_dir, runs)]) == 0
    return runs


def _base(synth_dir, runs, **extra):
    return tiny_overrides(synth_dir, runs, **{"train.max_steps": 8, "train.save_steps": 2,
                                              "train.save_total_limit": 3, **extra})


def _cut_run(synth_dir, runs, name):
    base = _base(synth_dir, runs)
    cut = distill(load_config(LEGACY, [*base, f"--name={name}"]), callbacks=[StopAt(6)])
    assert cut.global_step == 6 and not cut.completed
    ckpts = runs / name / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    return base, cut, ckpts


@pytest.mark.parametrize("damage", ["empty", "no_state", "cut_state"])
def test_resume_passes_over_an_incomplete_checkpoint_and_accumulates_wall_time(synth_dir, runs, capsys, damage):
    name = f"cut-{damage}"
    base, cut, ckpts = _cut_run(synth_dir, runs, name)
    newest = ckpts / "checkpoint-6"
    if damage == "empty":  # SIGKILL right after the folder was made
        shutil.rmtree(newest)
        newest.mkdir()
    elif damage == "no_state":  # SIGKILL after the weights, before trainer_state.json (written last)
        (newest / "trainer_state.json").unlink()
    else:  # SIGKILL halfway through writing trainer_state.json
        text = (newest / "trainer_state.json").read_text()
        (newest / "trainer_state.json").write_text(text[: len(text) // 2])
    state4 = json.loads((ckpts / "checkpoint-4" / "trainer_state.json").read_text())
    before_resume = state4["stateful_callbacks"]["WallClock"]["attributes"]["elapsed_s"]
    assert 0 < before_resume < cut.wall_time_s  # recorded at the save, before the first part ended
    capsys.readouterr()

    start = _StartStep()
    resumed = distill(load_config(LEGACY, [*base, f"--name={name}", "--train.resume=true"]), callbacks=[start])
    out = capsys.readouterr().out
    assert start.step == 4
    assert f"passing over {newest}" in out and f"resuming from {ckpts / 'checkpoint-4'}" in out
    assert resumed.completed and resumed.global_step == 8
    assert resumed.wall_time_before_resume_s == before_resume
    assert resumed.wall_time_s > before_resume
    # The saved checkpoints of the resumed part carry the accumulated time on.
    state8 = json.loads((ckpts / "checkpoint-8" / "trainer_state.json").read_text())
    assert before_resume < state8["stateful_callbacks"]["WallClock"]["attributes"]["elapsed_s"] <= resumed.wall_time_s


def _train(synth_dir, runs, name, *extra):
    return main(["train", "--config", LEGACY, *_base(synth_dir, runs), f"--name={name}", *extra])


def test_a_second_process_on_a_held_run_directory_exits_2_naming_the_holder(synth_dir, runs):
    from trident.runs import hold_run_dir

    run = runs / "held"
    with hold_run_dir(run):
        done = subprocess.run([sys.executable, "-m", "trident", "train", "--config", LEGACY, *_base(synth_dir, runs),
                               "--name=held"], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert not (run / "config.yaml").exists()  # the holder's files are untouched
    assert done.returncode == 2
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("trident: error: ") and "Traceback" not in done.stderr
    assert str(run) in err[0] and f"pid {os.getpid()} on host {socket.gethostname()}" in err[0]


def test_a_dead_holder_s_lock_is_taken_over_and_said(synth_dir, runs, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = runs / "stale"
    run.mkdir(parents=True)
    (run / ".holder.json").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": "then"}))
    assert _train(synth_dir, runs, "stale") == 0
    out = capsys.readouterr().out
    assert f"taking over {run}" in out and f"pid {dead.pid} on host {socket.gethostname()}" in out
    assert (run / "summary.json").exists() and not (run / ".holder.json").exists()  # released at the end


def test_a_finished_run_is_refused_without_overwrite(synth_dir, runs, capsys):
    run = runs / "done"
    assert _train(synth_dir, runs, "done") == 0
    (run / "eval" / "test").mkdir(parents=True)
    (run / "eval" / "test" / "metrics.json").write_text("{}")  # a result of the earlier run
    before = (run / "summary.json").read_text()
    capsys.readouterr()
    assert _train(synth_dir, runs, "done") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"trident: error: {run} holds a finished run" in err[0] and "--overwrite" in err[0]
    assert (run / "summary.json").read_text() == before

    assert _train(synth_dir, runs, "done", "--overwrite") == 0
    assert "removing" in capsys.readouterr().out
    assert not (run / "eval" / "test").exists()  # nothing of the earlier run is mixed into the new one
    assert json.loads((run / "summary.json").read_text())["global_step"] == 8


def test_an_unfinished_run_with_checkpoints_is_refused_without_resume_or_overwrite(synth_dir, runs, capsys):
    base, cut, ckpts = _cut_run(synth_dir, runs, "killed")
    (runs / "killed" / "summary.json").unlink()  # as if killed before the end
    capsys.readouterr()
    assert _train(synth_dir, runs, "killed") == 2
    err = capsys.readouterr().err
    assert "unfinished" in err and "--train.resume=true" in err and "checkpoint-6" in err
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]


def test_evaluate_refuses_a_run_without_summary(synth_dir, runs, capsys):
    run = runs / "unsummarised"
    assert _train(synth_dir, runs, "unsummarised") == 0
    (run / "summary.json").unlink()
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run), "--split", "test"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("trident: error: ") and str(run / "summary.json") in err[0]
    assert not (run / "eval" / "test").exists()


def test_a_folder_that_is_no_run_is_never_emptied(synth_dir, runs, capsys):
    foreign = runs / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("keep me")
    assert _train(synth_dir, runs, "notes") == 2
    assert "holds no trident run" in capsys.readouterr().err
    assert (foreign / "todo.txt").read_text() == "keep me"


def test_overwrite_and_resume_together_are_refused(synth_dir, runs, capsys):
    assert _train(synth_dir, runs, "both", "--overwrite", "--train.resume=true") == 2
    assert "pass one" in capsys.readouterr().err


def test_runs_started_by_a_wandb_sweep_agent_each_get_their_own_directory(synth_dir, runs, monkeypatch):
    # W&B's agent runs the sweep file's command, the same --name every time, and sets these two.
    monkeypatch.setenv("WANDB_SWEEP_ID", "sw3ep")
    for run_id in ("r1", "r2"):
        monkeypatch.setenv("WANDB_RUN_ID", run_id)
        assert _train(synth_dir, runs, "agent") == 0
    for run_id in ("r1", "r2"):
        assert (runs / f"agent-{run_id}" / "summary.json").exists()
    assert not (runs / "agent").exists()
