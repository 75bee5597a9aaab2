"""Sweep files, their mapping to Optuna studies, and the engine on SQLite and PostgreSQL."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from conftest import tiny_overrides
from trident.cli import main, split_config_args
from trident.sweeps import optuna_engine as eng
from trident.sweeps.spec import SweepError, agent_command, load_sweep, schema_violations, train_argv

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TRIDENT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.mark.parametrize("name", ["beta", "contrastive", "before-after"])
def test_sweep_files_are_valid_wandb_configs_and_map_to_their_study(name):
    raw = yaml.safe_load((ROOT / "sweeps" / f"{name}.yaml").read_text())
    import sweeps  # W&B's own sweep-config checks (wandb[sweeps])

    assert sweeps.schema_violations_from_proposed_config(raw) == []
    spec = load_sweep(ROOT / "sweeps" / f"{name}.yaml")
    sampler = eng.make_sampler(spec, seed=0)
    assert isinstance(sampler, optuna.samplers.GridSampler)
    assert spec.direction == "maximize"
    points = spec.grid()
    assert len(points) == {"beta": 3, "contrastive": 6, "before-after": 9}[name] == spec.run_cap
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
            assert cfg.loss.semantic_loss_scale == str(params["loss.semantic_loss_scale"])
            assert cfg.data.train_fraction == 0.05
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
    assert main(["sweep", str(path), "--storage", storage]) == 0
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
def pg_storage():
    from sqlalchemy import create_engine, text

    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # CI has the server: a missing one is a failure, not a skip
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    return PG_URL


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
