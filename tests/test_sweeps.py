"""Sweep files, their mapping to Optuna studies, and the engine on SQLite and PostgreSQL."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from conftest import tiny_overrides
from trident.cli import main
from trident.config import split_config_args
from trident.sweeps import optuna_engine as eng
from trident.errors import SweepError
from trident.sweeps.spec import agent_command, load_sweep, schema_violations, train_argv

ROOT = Path(__file__).resolve().parents[1]


SWEEP_FILES = sorted(p.stem for p in (ROOT / "sweeps").glob("*.yaml"))


def test_every_shipped_sweep_file_is_checked():
    assert SWEEP_FILES == ["before-after", "before-after-smoke", "beta", "contrastive", "gkd", "hidden",
                           "methods-smoke", "seqkd"]


@pytest.mark.parametrize("name", SWEEP_FILES)
def test_sweep_files_are_valid_wandb_configs_and_map_to_their_study(name):
    raw = yaml.safe_load((ROOT / "sweeps" / f"{name}.yaml").read_text())
    import sweeps  # W&B's own sweep-config checks (wandb[sweeps])

    assert sweeps.schema_violations_from_proposed_config(raw) == []
    spec = load_sweep(ROOT / "sweeps" / f"{name}.yaml")
    sampler = eng.make_sampler(spec, seed=0)
    assert isinstance(sampler, optuna.samplers.GridSampler)
    assert spec.direction == "maximize"
    points = spec.grid()
    assert len(points) == {"beta": 3, "contrastive": 6, "before-after": 9, "before-after-smoke": 6, "gkd": 6, "hidden": 6,
                          "seqkd": 6, "methods-smoke": 8}[name] == spec.run_cap
    pruner = eng.make_pruner(spec)
    expected = optuna.pruners.HyperbandPruner if name == "contrastive" else optuna.pruners.NopPruner
    assert isinstance(pruner, expected)
    for params in points:  # the command W&B's agent would run is the one an Optuna trial runs
        cmd = agent_command(spec, params)
        assert cmd[:5] == ["/usr/bin/env", "python", "-m", "trident", "train"]
        assert cmd[5:] == train_argv(spec, params)
        config, overrides = split_config_args(train_argv(spec, params))
        from trident.config import load_config

        cfg = load_config(config, overrides)  # every trial's command is a valid trident config
        if name == "beta":
            assert cfg.loss.semantic_loss_scale == float(params["loss.semantic_loss_scale"])
            assert isinstance(cfg.loss.semantic_loss_scale, float)
            # the whole training split, validated once on all 600 records, the teacher from the cache
            assert cfg.data.train_fraction == 1.0 and cfg.data.max_val_records == 0
            assert cfg.train.eval_every_epoch is False and cfg.teacher.source == "cache"
        if name == "before-after-smoke":  # only the student's seed varies: one teacher for every trial
            assert cfg.teacher_seed == 42 and cfg.seed == params["seed"] and cfg.eval.execute
        if name == "contrastive":
            c = cfg.loss.components["contrastive"]
            assert (c.start, c.end) == (params["loss.components.contrastive"]["start"],
                                        params["loss.components.contrastive"]["end"])


def _write(path, **raw):
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


BASE = {"program": "trident", "metric": {"name": "eval/f1", "goal": "maximize"},
        "command": ["${env}", "${interpreter}", "-m", "trident", "train", "${args}"]}


def test_methods_and_hyperband_map_to_samplers_and_pruners(tmp_path):
    params = {"train.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
              "train.batch_size": {"distribution": "int_uniform", "min": 4, "max": 16},
              "loss.jsd_beta": {"distribution": "uniform", "min": 0.1, "max": 0.9},
              "seed": {"value": 3}}
    random_spec = load_sweep(_write(tmp_path / "r.yaml", name="r", method="random", parameters=params, run_cap=4, **BASE))
    assert isinstance(eng.make_sampler(random_spec, 0), optuna.samplers.RandomSampler)
    bayes = load_sweep(_write(tmp_path / "b.yaml", name="b", method="bayes", parameters=params,
                              early_terminate={"type": "hyperband", "min_iter": 2, "eta": 2},
                              **{**BASE, "metric": {"name": "eval/loss", "goal": "minimize"}}))
    assert isinstance(eng.make_sampler(bayes, 0), optuna.samplers.TPESampler)
    assert bayes.direction == "minimize"
    pruner = eng.make_pruner(bayes)
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert pruner._min_resource == 2 and pruner._reduction_factor == 2
    assert isinstance(eng.make_pruner(bayes, "median"), optuna.pruners.MedianPruner)
    study = optuna.create_study(sampler=eng.make_sampler(random_spec, 0))
    trial = study.ask()
    values = eng.suggest(trial, random_spec)
    assert 1e-4 <= values["train.lr"] <= 1e-2 and 4 <= values["train.batch_size"] <= 16 and values["seed"] == 3
    assert isinstance(trial.distributions["train.lr"], optuna.distributions.FloatDistribution)
    assert trial.distributions["train.lr"].log and isinstance(values["train.batch_size"], int)


def test_invalid_sweep_files_are_rejected(tmp_path):
    with pytest.raises(SweepError, match="gridx"):
        load_sweep(_write(tmp_path / "x.yaml", method="gridx", parameters={"seed": {"values": [1]}}, **BASE))
    with pytest.raises(SweepError, match=r"\$\{args\}"):
        load_sweep(_write(tmp_path / "y.yaml", method="grid", parameters={"seed": {"values": [1]}},
                          **{**BASE, "command": ["python", "-m", "trident", "train"]}))
    assert schema_violations({"method": "grid", "parameters": {"a": {"values": [1]}}}) == []


def _tiny_sweep(tmp_path, synth_dir, name, parameters, extra=(), metric=("eval/f1", "maximize"), **raw):
    overrides = tiny_overrides(synth_dir, tmp_path / "runs", **dict(extra))
    command = ["${env}", "${interpreter}", "-m", "trident", "train", "--config=experiments/legacy.yaml",
               *overrides, "${args}"]
    return _write(tmp_path / f"{name}.yaml", name=name, program="trident", method="grid",
                  metric={"name": metric[0], "goal": metric[1]}, parameters=parameters, command=command, **raw)


def test_local_sweep_runs_each_point_once_and_a_restart_runs_nothing(synth_dir, tmp_path, capsys):
    path = _tiny_sweep(tmp_path, synth_dir, "local", {"train.lr": {"values": [1e-3, 3e-3]}})
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["sweep", str(path), "--storage", storage]) == 0
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]
    out = capsys.readouterr().out
    assert "best: trial" in out and "train.lr" in out
    study = optuna.load_study(study_name="local", storage=storage)
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert sorted(t.params["train.lr"] for t in done) == [1e-3, 3e-3]
    for t in done:
        run_dir = Path(t.user_attrs["run_dir"])
        assert (run_dir / "summary.json").exists()
        cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert cfg["tracking"]["trial"] == t.number and cfg["tracking"]["sweep"] == "local"
        assert cfg["train"]["lr"] == t.params["train.lr"]
    assert main(["sweep", str(path), "--storage", storage]) == 0
    assert len(optuna.load_study(study_name="local", storage=storage).trials) == len(study.trials)


def test_clearly_worse_trials_are_pruned_before_their_last_evaluation(synth_dir, tmp_path):
    epochs = 3
    path = _tiny_sweep(tmp_path, synth_dir, "prune", {"train.lr": {"values": [3e-3, 1e-7, 1e-8]}},
                       extra={"train.max_steps": -1, "train.epochs": epochs}, metric=("eval/loss", "minimize"))
    storage = f"sqlite:///{tmp_path / 'prune.db'}"
    spec = load_sweep(path)
    study = optuna.create_study(study_name="prune", storage=storage, direction="minimize")
    study.enqueue_trial({"train.lr": 3e-3})  # the good point first, so the others have a bar to clear
    eng.run_worker(spec, storage, pruner="median", heartbeat_interval=2, grace_period=10)
    trials = {t.params["train.lr"]: t for t in optuna.load_study(study_name="prune", storage=storage).trials
              if t.user_attrs.get("duplicate_of") is None}
    assert trials[3e-3].state == TrialState.COMPLETE and len(trials[3e-3].intermediate_values) == epochs
    pruned = [t for lr, t in trials.items() if lr < 1e-6 and t.state == TrialState.PRUNED]
    assert pruned and all(len(t.intermediate_values) < epochs for t in pruned)


@pytest.fixture
def pg_storage(postgres_url):
    from sqlalchemy import create_engine, text

    try:
        with create_engine(postgres_url).connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # a missing server is a failure, not a skip
        pytest.fail(f"PostgreSQL at {postgres_url} is not reachable: {exc}")
    return postgres_url


def _worker(path, storage):
    return subprocess.Popen([sys.executable, "-m", "trident", "sweep", str(path), "--storage", storage, "--worker",
                             "--heartbeat-interval", "1", "--grace-period", "4"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_postgres_workers_share_a_grid_and_survive_a_killed_worker(synth_dir, tmp_path, pg_storage):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    path = _tiny_sweep(tmp_path, synth_dir, name, {"train.lr": {"values": [1e-3, 2e-3, 3e-3]},
                                                   "seed": {"values": [1, 2]}},
                       extra={"train.max_steps": 10})
    assert main(["teacher", "--config", "experiments/legacy.yaml",
                 *tiny_overrides(synth_dir, tmp_path / "runs")]) == 0  # shared by every trial
    workers = [_worker(path, pg_storage) for _ in range(3)]
    try:
        victim = None
        deadline = time.time() + 240
        while victim is None and time.time() < deadline:
            time.sleep(0.3)
            try:
                study = optuna.load_study(study_name=name, storage=pg_storage)
            except KeyError:
                continue
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                pid = t.user_attrs.get("worker_pid")
                if pid in [w.pid for w in workers] and not t.user_attrs.get("duplicate_of"):
                    victim = (t.number, pid)
                    break
        assert victim, "no trial started"
        os.kill(victim[1], signal.SIGKILL)
        for w in workers:
            w.wait(timeout=400)
        study = optuna.load_study(study_name=name, storage=pg_storage)
        complete = study.get_trials(states=(TrialState.COMPLETE,))
        points = sorted((t.params["train.lr"], t.params["seed"]) for t in complete)
        assert points == sorted((lr, s) for lr in (1e-3, 2e-3, 3e-3) for s in (1, 2))  # each exactly once
        killed = study.trials[victim[0]]
        assert killed.state == TrialState.FAIL
        assert any(t.params == killed.params for t in complete)  # its point was run again
        retry = [t for t in complete if t.system_attrs.get("failed_trial") == victim[0]]
        assert retry and Path(retry[0].user_attrs["run_dir"]).name == f"{name}-t{victim[0]:03d}"  # the dead one's
        assert (Path(retry[0].user_attrs["run_dir"]) / "summary.json").exists()
        n = len(study.trials)
        restart = _worker(path, pg_storage)
        assert restart.wait(timeout=120) == 0
        assert len(optuna.load_study(study_name=name, storage=pg_storage).trials) == n  # nothing new
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        try:
            optuna.delete_study(study_name=name, storage=pg_storage)
        except KeyError:
            pass


def test_throwaway_postgres_serves_then_leaves_nothing_behind():
    from sqlalchemy import create_engine, text

    from pgserver import throwaway_postgres

    with throwaway_postgres() as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar() == 1
        engine.dispose()
    with pytest.raises(ConnectionRefusedError):  # the server is gone with the block
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_wandb_agent_trial_on_a_fresh_checkout_trains_its_teacher(synth_dir, tmp_path):
    """The W&B engine has no objective of its own: its agent runs the sweep file's command. That
    command, in a subprocess, with nothing trained yet, must find or train the teacher itself."""
    path = _tiny_sweep(tmp_path, synth_dir, "agent", {"train.lr": {"values": [3e-3]}})
    cmd = agent_command(load_sweep(path), {"train.lr": 3e-3})
    runs = tmp_path / "runs"
    assert not runs.exists()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT), "WANDB_SWEEP_ID": "sw1", "WANDB_RUN_ID": "run1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    teachers = list(runs.glob("teacher-*/model/config.json"))
    assert len(teachers) == 1
    summary = json.loads((runs / "legacy-run1" / "summary.json").read_text())
    assert summary["teacher"] == str(teachers[0].parent)
    assert summary["completed"] and summary["global_step"] == 6


@pytest.mark.parametrize("url, cause", [
    ("postgresql://ana:s3cr3t-pw@127.0.0.1:1/trident", "Connection refused"),
    ("sqlte:///study.db", "sqlte"),
    ("sqlite:////no/such/folder/study.db", "unable to open database file"),
])
def test_an_unusable_storage_url_is_one_line_naming_it_without_its_password(url, cause, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the trials' config files, which are checked (with their models) before the storage is opened
    shutil.copytree(ROOT / "experiments", tmp_path / "experiments")
    proc = subprocess.run([sys.executable, "-m", "trident", "sweep", str(ROOT / "sweeps" / "beta.yaml"), "--storage", url],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("trident: error: cannot open the study storage ") and cause in lines[0]
    assert "s3cr3t-pw" not in proc.stderr + proc.stdout
    assert url.replace("s3cr3t-pw", "***") in lines[0]


def test_a_registered_sampler_and_engine_are_used_by_name(tmp_path, monkeypatch):
    """Sweep files must stay valid for W&B (whose schema names the methods), so a new sampler
    takes one of those names; engines are named on the command line only."""
    from trident.sweeps import registry

    raw = yaml.safe_load((ROOT / "sweeps" / "beta.yaml").read_text())
    raw["method"] = "random"
    path = tmp_path / "qmc.yaml"
    path.write_text(yaml.safe_dump(raw))
    def qmc(spec, seed):
        with warnings.catch_warnings():  # QMCSampler is flagged experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(seed=seed)

    monkeypatch.setitem(registry.SAMPLERS, "random", registry.Entry("random", qmc, "quasi-Monte Carlo"))
    seen = []
    monkeypatch.setitem(registry.ENGINES, "echo", registry.Entry(
        "echo", lambda spec, options: seen.append((spec.method, options.seed)) or 0, "records its call"))
    spec = load_sweep(path)
    assert isinstance(eng.make_sampler(spec, 0), optuna.samplers.QMCSampler)
    assert main(["sweep", str(path), "--engine", "echo", "--seed", "7"]) == 0
    assert seen == [("random", 7)]


def test_an_unknown_early_terminate_type_is_refused(tmp_path):
    raw = yaml.safe_load((ROOT / "sweeps" / "beta.yaml").read_text())
    raw["early_terminate"] = {"type": "asha"}
    path = tmp_path / "asha.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SweepError, match="early_terminate needs a type, one of hyperband, median, none"):
        load_sweep(path)
