"""What a run tells its trackers and its console.

Two tiny trident-v1 runs through the real CLI, each in its own process (so its whole stdout and
stderr are seen): a plain `trident train` (which trains the teacher first) and a one-trial
`trident sweep` on the Optuna engine. Their offline W&B runs are read back from the .wandb
files, their TensorBoard folders with TensorBoard's own reader, the study from its storage.
"""
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
import yaml

from conftest import tiny_overrides
from trident.analysis.wandb_offline import read_offline_run
from trident.analysis.wandb_source import run_from_wandb
from trident.config import load_config
from trident.tracking import RunLabels, console_callbacks, flat_config, run_labels, set_progress_bars

ROOT = Path(__file__).resolve().parents[1]
V1 = ROOT / "experiments" / "trident-v1.yaml"
V1_COMPONENTS = set(yaml.safe_load(V1.read_text())["loss"]["components"])
PROGRESS_TEXT = ("Loading weights", "Writing model shards", "it/s", "s/it", "%|")


def _cli(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "trident", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_SILENT": "true"},
                          timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def runs(synth_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tracking")
    runs_dir = tmp / "runs"
    overrides = tiny_overrides(synth_dir, runs_dir, **{"tracking.wandb": "offline", "tracking.progress": "false"})
    plain = _cli("train", "--config", str(V1), *overrides, "--name=plain", "--loss.semantic_loss_scale=3")
    evaluated = _cli("evaluate", "--run", str(runs_dir / "plain"), "--split", "val", "--no-retrieval",
                     "--tracking.progress=false")
    sweep_file = tmp / "tiny.yaml"
    sweep_file.write_text(yaml.safe_dump({
        "name": "tiny", "program": "trident", "method": "grid", "metric": {"name": "eval/f1", "goal": "maximize"},
        "parameters": {"loss.semantic_loss_scale": {"values": [7]}}, "run_cap": 1,
        "command": ["${env}", "${interpreter}", "-m", "trident", "train", f"--config={V1}", *overrides, "${args}"]}))
    storage = f"sqlite:///{tmp / 'tiny.db'}"
    sweep = _cli("sweep", str(sweep_file), "--storage", storage)
    teachers = [p.parent for p in runs_dir.glob("teacher-*/summary.json")]
    assert len(teachers) == 1  # trained by the plain run, reused by the trial
    return SimpleNamespace(dir=runs_dir, plain=plain, evaluated=evaluated, sweep=sweep, storage=storage,
                           teacher=teachers[0], data=synth_dir)


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


# ---- W&B ----------------------------------------------------------------------------------

def test_wandb_run_holds_the_trident_config_next_to_the_trainer_arguments(runs):
    run = read_offline_run(runs.dir / "plain")
    assert run.state == "finished" and run.name == "plain"
    config = run.config
    assert config["loss.semantic_loss_scale"] == 3.0  # the command line's β, not the preset's 5
    assert config["model.teacher"] == "tiny-teacher" and config["model.student"] == "tiny-student"
    assert config["data.dir"] == str(runs.data) and config["name"] == "plain" and config["seed"] == 42
    assert {k.split(".")[2] for k in config if k.startswith("loss.components.")} == V1_COMPONENTS
    assert config["loss.components.contrastive.end"] == 0.2 and config["train.max_steps"] == 6
    assert config["tracking.sweep"] == "" and config["tracking.trial"] == -1
    # the Trainer's own arguments and the model's config, from transformers' W&B integration
    assert config["learning_rate"] == 3e-3 and config["max_steps"] == 6 and config["d_model"] == 72
    assert (run.group, run.tags) == ("trident-v1", ["trident-v1", "student"])
    # the final metrics, as summary.json has them
    assert run.summary["eval/f1"] == pytest.approx(_summary(runs.dir / "plain")["val_metrics"]["f1"])

    teacher = read_offline_run(runs.teacher)
    assert (teacher.group, teacher.tags) == ("teacher", ["teacher"])
    assert teacher.config["name"] == runs.teacher.name and teacher.config["model.teacher"] == "tiny-teacher"


def test_a_sweep_trial_is_grouped_and_tagged_by_its_sweep(runs):
    run = read_offline_run(runs.dir / "tiny-t000")
    assert run.config["loss.semantic_loss_scale"] == 7.0
    assert run.config["tracking.sweep"] == "tiny" and run.config["tracking.trial"] == 0
    assert run.config["tracking.wandb_group"] == "tiny" and run.config["optuna_trial"] == 0
    assert (run.group, run.tags) == ("tiny", ["trident-v1", "student", "sweep:tiny"])


def test_the_report_labels_a_wandb_run_by_its_trident_keys(runs):
    """The W&B run alone (no run directory, no sweep `config` parameter) gives preset, β and seed."""
    plain, trial = (run_from_wandb(read_offline_run(runs.dir / name), ROOT) for name in ("plain", "tiny-t000"))
    assert (plain.label, plain.beta, plain.seed, plain.display) == ("trident-v1", 3.0, 42, "trident-v1 (β=3)")
    assert (trial.label, trial.beta) == ("trident-v1", 7.0)
    assert plain.metrics["f1"] == pytest.approx(_summary(runs.dir / "plain")["val_metrics"]["f1"])


def test_each_offline_run_prints_where_it_is_and_how_to_upload_it(runs):
    for done, names in ((runs.plain, [runs.teacher.name, "plain"]), (runs.sweep, ["tiny-t000"])):
        synced = re.findall(r"^\[trident\] upload it with: wandb sync (\S+)$", done.stdout, re.M)
        saved = re.findall(r"^\[trident\] W&B run saved offline in (\S+)$", done.stdout, re.M)
        assert synced == saved and len(synced) == len(names), done.stdout
        for path, name in zip(synced, names):
            assert Path(path) == read_offline_run(runs.dir / name).path.parent
            assert Path(path).is_dir() and Path(path).parent == runs.dir / name / "wandb"


# ---- TensorBoard and Optuna ---------------------------------------------------------------

def _tensorboard(folder: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return events


def test_tensorboard_holds_the_config_as_hparams_with_the_final_metrics(runs):
    from tensorboard.plugins.hparams import metadata

    events = _tensorboard(runs.dir / "plain" / "tb")
    content = events.PluginTagToContent(metadata.PLUGIN_NAME)
    hparams = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG]).hparams
    assert hparams["loss.semantic_loss_scale"].number_value == 3.0
    assert hparams["model.teacher"].string_value == "tiny-teacher"
    assert hparams["data.dir"].string_value == str(runs.data)
    assert hparams["loss.plugins"].string_value == "[]"  # a list, shown as JSON
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    summary = _summary(runs.dir / "plain")
    assert {m.name.tag for m in experiment.metric_infos} == {f"hparams/{k}" for k in summary["val_metrics"]}
    f1 = events.Scalars("hparams/f1")
    assert len(f1) == 1 and f1[0].step == summary["global_step"]
    assert f1[0].value == pytest.approx(summary["val_metrics"]["f1"])


def test_the_evaluation_after_training_stays_in_the_runs_tensorboard_folder(runs):
    # trident-v1's teacher validates once, after training, when the library has closed its writer
    events = _tensorboard(runs.teacher / "tb")
    assert [e.step for e in events.Scalars("eval/f1")] == [_summary(runs.teacher)["global_step"]]
    assert not list(runs.teacher.rglob("checkpoints/**/events.out.tfevents.*"))


def test_the_study_names_its_metric(runs):
    study = optuna.load_study(study_name="tiny", storage=runs.storage)
    assert study.metric_names == ["eval/f1"]
    assert study.trials[0].values == [pytest.approx(_summary(runs.dir / "tiny-t000")["val_metrics"]["f1"])]


# ---- the console --------------------------------------------------------------------------

def test_no_progress_bar_with_progress_off(runs):
    for done in (runs.plain, runs.evaluated, runs.sweep):
        for text in PROGRESS_TEXT:
            assert text not in done.stdout and text not in done.stderr, (text, done.args)


def test_printed_evaluations_are_numbers(runs):
    printed = [ast.literal_eval(line) for line in runs.plain.stdout.splitlines() if line.startswith("{'eval_")]
    assert len(printed) == 2  # the teacher's and the student's
    for logs in printed:
        assert all(type(v) in (int, float) for v in logs.values()), logs
    final = _summary(runs.dir / "plain")["val_metrics"]
    assert printed[-1]["eval_f1"] == float(f"{final['f1']:.4g}")
    assert printed[-1]["eval_loss"] == float(f"{final['loss']:.4g}")


def test_the_progress_console_prints_numbers_too(capsys):
    _, progress = console_callbacks(True)
    state = SimpleNamespace(is_world_process_zero=True)
    progress.on_log(None, state, None, logs={"loss_total": 2.0, "grad_norm": 1.0})  # a step row: files only
    progress.on_log(None, state, None, logs={"eval_f1": 0.0, "eval_loss": 5.1234567, "eval_runtime": 12.0,
                                              "epoch": 1.0, "step": 3, "total_flos": 1e9})
    lines = capsys.readouterr().out.splitlines()
    assert [ast.literal_eval(line) for line in lines] == [
        {"eval_f1": 0.0, "eval_loss": 5.123, "eval_runtime": 12.0, "epoch": 1.0, "step": 3}]


def test_progress_flag_switches_the_libraries_bars():
    import huggingface_hub.utils as hub
    from transformers.utils import logging as hf_logging

    try:
        set_progress_bars(False)
        assert not hf_logging.is_progress_bar_enabled() and hub.are_progress_bars_disabled()
        set_progress_bars(True)
        assert hf_logging.is_progress_bar_enabled() and not hub.are_progress_bars_disabled()
    finally:
        set_progress_bars(True)


# ---- the labels and keys, without a run ---------------------------------------------------

def test_flat_config_and_labels():
    smoke = load_config(ROOT / "experiments" / "smoke.yaml", ["--loss.hidden_layers.encoder.2=1"])
    flat = flat_config(smoke)
    assert flat["loss.components.ce.start"] == 0.5 and flat["loss.hidden_layers.encoder.2"] == 1
    assert flat["name"] == "smoke" and flat["loss.plugins"] == [] and flat["model.teacher"] == "tiny-teacher"
    assert not any(isinstance(v, dict) and v for v in flat.values())
    # smoke.yaml's loss is legacy's: the report's label, so W&B groups it with legacy's runs
    assert run_labels(smoke, "student") == RunLabels("legacy", ("legacy", "student"))
    custom = load_config(ROOT / "experiments" / "smoke.yaml", ["--loss.components.focal.start=1",
                                                               "--tracking.sweep=s", "--tracking.wandb_group=g"])
    assert run_labels(custom, "student") == RunLabels("g", ("smoke", "student", "sweep:s"))  # no preset's loss
    assert run_labels(custom, "teacher") == RunLabels("g", ("teacher", "sweep:s"))
