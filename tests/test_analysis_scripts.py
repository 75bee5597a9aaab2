"""Every script and notebook in analysis/, run as a user runs it (a subprocess from the repository
root; the notebook in a real Jupyter kernel) on a small study and run directories written with
trident's own writers, and what they wrote checked against what was put in."""
from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from trident import metrics as tm
from trident.config import load_run_config, save_config
from trident.data.records import Record
from trident.io import atomic_write_jsonl
from trident.predictions import score_predictions
from trident.rundir import RunDir, Summary, write_summary
from trident.tracking import MetricsFileCallback

ROOT = Path(__file__).resolve().parents[1]
ANALYSIS = ROOT / "analysis"
STEPS = 6
BETAS = {"v1-b3": 3.0, "v1-b5": 5.0, "v1-b7": 7.0}

# ---- run directories, written by the writers `trident train` / `trident evaluate` use ----

REFS = [[f"assertEquals({i}, result);"] for i in range(12)]


def _preds(right: int) -> list[str]:
    """The first `right` references copied, the rest a wrong assertion."""
    return [r[0] if i < right else "assertNull(result);" for i, r in enumerate(REFS)]


def _records() -> list[Record]:
    return [Record(id=f"val-{i}", focal_method="int f() { return 1; }",
                   test_method_masked="void t() { <AssertPlaceHolder> }", assertions=r) for i, r in enumerate(REFS)]


def _step_logs(components: list[str], scaled: tuple[str, ...], offset: float) -> list[dict]:
    """The Trainer's log event per optimizer step, as MultiComponentLoss and the Trainer emit it;
    even steps compute only the first two components (the others' cells stay empty)."""
    logs = []
    for step in range(1, STEPS + 1):
        row = {"epoch": step / STEPS, "progress": (step - 1) / (STEPS - 1), "learning_rate": 3e-3 * (1 - step / STEPS),
               "grad_norm": 0.5 / step, "samples_per_s": 40.0 + step, "nonfinite_skipped": 0}
        total = 0.0
        for k, name in enumerate(components):
            if step % 2 == 0 and k >= 2:
                continue
            raw, weight = offset + 2.0 / (k + 1) - 0.05 * step, 0.5 - 0.05 * k
            scale = 5.0 if name in scaled else 1.0
            row.update({f"{name}/raw": raw, f"{name}/weight": weight, f"{name}/weighted": raw * weight * scale})
            if name in scaled:
                row[f"{name}/scale"] = scale
            if step % 3 == 0:
                row[f"{name}/grad_norm"] = 0.1 * (k + 1)
            total += raw * weight * scale
        row["loss_total"] = total
        logs.append(row)
    return logs


def _write_run(runs: Path, name: str, config: str, role: str, right: int, teacher: Path | None = None,
               extra: tuple[str, ...] = ()) -> dict:
    """A finished run directory: config.yaml, step_metrics.csv, eval_metrics.csv, the validation
    predictions and summary.json, each by the code that writes it in training."""
    run = RunDir(runs / name)
    cfg = load_run_config(["--config", f"{ROOT}/experiments/{config}.yaml", f"--name={name}", f"--runs_dir={runs}",
                           *extra])
    run.root.mkdir(parents=True)
    save_config(cfg, run.config)
    names = ["ce"] if role == "teacher" else list(cfg.loss.components)
    scaled = () if role == "teacher" else tuple(n for n in names if n == "semantic")
    logs = _step_logs(names, scaled, offset=right / 10)
    callback = MetricsFileCallback(run.step_metrics, run.eval_metrics, names, scaled)
    state = SimpleNamespace(global_step=0, epoch=0.0, is_world_process_zero=True)
    callback.on_train_begin(None, state, None)
    for step, row in enumerate(logs, 1):
        state.global_step, state.epoch = step, row["epoch"]
        callback.on_log(None, state, None, logs=row)
    preds = _preds(right)
    val = tm.compute_all(preds, REFS)
    callback.on_evaluate(None, state, None, metrics={f"eval_{k}": v for k, v in val.items()})
    atomic_write_jsonl(run.predictions("val"), ({"id": r.id, "prediction": p, "references": r.assertions}
                                                for r, p in zip(_records(), preds)))
    write_summary(run, Summary(
        name=name, val_metrics={**val, "loss": 1.5}, train_runtime_s=10.0, train_samples_per_second=9.0,
        global_step=STEPS, max_steps=STEPS, completed=True, train_records=96, val_records=len(REFS), bad_records={},
        truncation={}, nonfinite_skipped=0, wandb_run_id=None, sweep=None, trial=None, semantic_auto_beta=None,
        versions={}, role=role, model="tiny-student" if role == "student" else "tiny-teacher", run_dir=str(run.root),
        wall_time_before_resume_s=0.0, wall_time_s=12.0, teacher=str(teacher / "model") if teacher else None,
        student_parameters=1000 if role == "student" else None, teacher_parameters=4000,
        teacher_source="online" if role == "student" else None))
    return {"dir": run.root, "logs": logs, "val": val, "names": names}


WANDB_SCRIPT = """
import json, sys, wandb
run_dir, name, logs, f1 = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
run = wandb.init(mode="offline", dir=run_dir, project="trident", name=name)
# as transformers' WandbCallback: every scalar against train/global_step, train/ and eval/ prefixes
run.define_metric("train/global_step")
run.define_metric("*", step_metric="train/global_step", step_sync=True)
for step, row in enumerate(logs, 1):
    run.log({**{"train/" + k: v for k, v in row.items()}, "train/global_step": step})
run.log({"eval/f1": f1, "train/global_step": len(logs)})
run.finish()
"""


def _offline_wandb_run(run: dict, tmp: Path) -> Path:
    env = {**os.environ, "WANDB_SILENT": "true", "WANDB_CONFIG_DIR": str(tmp / "wandb-config"),
           "WANDB_CACHE_DIR": str(tmp / "wandb-cache"), "WANDB_DATA_DIR": str(tmp / "wandb-data")}
    done = subprocess.run([sys.executable, "-c", WANDB_SCRIPT, str(run["dir"]), run["dir"].name,
                           json.dumps(run["logs"]), str(run["val"]["f1"])],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (log,) = run["dir"].glob("wandb/offline-run-*/run-*.wandb")
    return log


def _add_trial(study, beta: float | None, value: float | None, attrs: dict, state=None):
    import optuna

    params = {"loss.semantic_loss_scale": beta}
    dists = {"loss.semantic_loss_scale": optuna.distributions.CategoricalDistribution([3, 5, 7])}
    study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value, user_attrs=attrs,
                                              state=state or optuna.trial.TrialState.COMPLETE))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import optuna

    tmp = tmp_path_factory.mktemp("analysis")
    runs = tmp / "runs"
    teacher = _write_run(runs, "teacher-abc", "legacy", "teacher", right=9)
    out = {"tmp": tmp, "teacher": teacher}
    for (name, beta), right in zip(BETAS.items(), (4, 7, 6)):
        out[name] = _write_run(runs, name, "trident-v1", "student", right, teacher["dir"],
                               (f"--loss.semantic_loss_scale={beta}",))
    out["legacy-s0"] = legacy = _write_run(runs, "legacy-s0", "legacy", "student", 5, teacher["dir"])
    # `trident evaluate --split test --with-teacher` on the legacy student
    test_preds = {"student": _preds(3), "teacher": _preds(8)}
    out["test"] = {who: score_predictions(_records(), p, RunDir(legacy["dir"]).eval_dir("test", who == "teacher"),
                                          extra={"split": "test", "records": len(REFS)})
                   for who, p in test_preds.items()}
    # β=7 lost its predictions: its trial keeps its objective, without an interval
    RunDir(out["v1-b7"]["dir"]).predictions("val").unlink()
    out["wandb_log"] = _offline_wandb_run(out["v1-b5"], tmp)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp / 'beta.db'}"
    study = optuna.create_study(study_name="beta", storage=url, direction="maximize")
    for name, beta in BETAS.items():
        f1 = out[name]["val"]["f1"]
        _add_trial(study, int(beta), f1, {"run_dir": str(out[name]["dir"]), "f1": f1, "wall_time_s": 12.0})
    _add_trial(study, 3, 0.0, {"run_dir": "elsewhere", "duplicate_of": 0}, optuna.trial.TrialState.PRUNED)
    _add_trial(study, 5, None, {}, optuna.trial.TrialState.FAIL)
    out["storage"] = url
    return out


# ---- running the scripts ---------------------------------------------------------------

def _run(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})
    return done


def _trace_names(html: str) -> set[str]:
    import re

    return set(re.findall(r'"name":"([^"]*)"', html))


def _check_loss_curves(world, out: Path):
    runs = [world["teacher"]["dir"], *(world[n]["dir"] for n in BETAS), world["legacy-s0"]["dir"]]
    done = _run("analysis/loss_curves.py", "--runs", *map(str, runs), "--wandb", str(world["v1-b5"]["dir"]),
                "--out", str(out))
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out / "loss_curves.csv")
    assert list(frame.columns[:6]) == ["run", "preset", "seed", "beta", "source", "step"]
    expected = {"teacher-abc": ("teacher", world["teacher"]), "v1-b3": ("trident-v1 (β=3)", world["v1-b3"]),
                "v1-b5 (runs)": ("trident-v1 (β=5)", world["v1-b5"]), "v1-b7": ("trident-v1 (β=7)", world["v1-b7"]),
                "legacy-s0": ("legacy", world["legacy-s0"]), "v1-b5 (wandb)": ("trident-v1 (β=5)", world["v1-b5"])}
    assert sorted(frame["run"].unique()) == sorted(expected)
    for run, (preset, written) in expected.items():
        rows = frame[frame["run"] == run].sort_values("step")
        assert set(rows["preset"]) == {preset}
        assert list(rows["step"]) == list(range(1, STEPS + 1))
        for step, log in enumerate(written["logs"], 1):
            row = rows[rows["step"] == step].iloc[0]
            lr = "lr" if run != "v1-b5 (wandb)" else "learning_rate"  # W&B keeps the Trainer's name
            assert row[lr] == pytest.approx(log["learning_rate"])
            for key, value in log.items():
                if "/" in key or key == "loss_total":
                    assert row[key] == pytest.approx(value, rel=1e-12), (run, step, key)
            for name in written["names"]:  # a component not computed on this step stays empty
                if f"{name}/raw" not in log:
                    assert math.isnan(row[f"{name}/raw"]), (run, step, name)
    assert set(frame.loc[frame["run"] == "v1-b5 (wandb)", "source"]) == {"wandb"}
    assert set(frame.loc[frame["run"] == "v1-b3", "beta"]) == {3.0}
    html = (out / "loss_curves.html").read_text()
    assert 'id="loss_curves"' in html and "Plotly.newPlot" in html and 'src="http' not in html
    names = _trace_names(html)
    assert {"focal, v1-b3", "semantic, v1-b5 (wandb)", "ce, legacy-s0", "kl, legacy-s0", "ce, teacher-abc",
            "loss_total, v1-b7"} <= names, names
    for preset in ("preset=trident-v1 (\\u03b2=3)", "preset=legacy", "preset=teacher", "kind=raw", "kind=weighted"):
        assert preset in html, preset


def _check_beta_sweep(world, out: Path):
    done = _run("analysis/beta_sweep.py", "--study", "beta", "--storage", world["storage"], "--bootstrap", "200",
                "--out", str(out))
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(out / "beta_sweep.csv").set_index("trial")
    assert list(frame.index) == [0, 1, 2, 4]  # trial 3, a grid point another trial holds, is left out
    assert list(frame["state"]) == ["complete", "complete", "complete", "fail"]
    assert list(frame["loss.semantic_loss_scale"]) == [3, 5, 7, 5]
    # micro-F1 of k exact copies among 12 single-assertion references: k/12
    assert list(frame["objective"][:3]) == pytest.approx([4 / 12, 7 / 12, 6 / 12])
    for trial in (0, 1):  # a percentile interval around the F1 of 12 examples, neither empty nor [0, 1]
        lo, hi, f1 = frame.loc[trial, ["objective_lo", "objective_hi", "objective"]]
        assert 0 <= lo < f1 < hi <= 1 and hi - lo < 1
        assert frame.loc[trial, "interval"] == "95% bootstrap over 12 validation examples"
    assert math.isnan(frame.loc[2, "objective_lo"]) and "predictions.jsonl is missing" in frame.loc[2, "interval"]
    assert math.isnan(frame.loc[4, "objective"])
    assert "trial 2 has no interval" in done.stderr and "trial 4 is fail" in done.stderr
    html = (out / "beta_sweep.html").read_text()
    assert 'id="beta_sweep"' in html and {"trials", "mean"} <= _trace_names(html)
    # the same sweep from its run directories: β from each config.yaml, F1 from each summary
    done = _run("analysis/beta_sweep.py", "--runs", *(str(world[n]["dir"]) for n in BETAS), "--bootstrap", "200",
                "--out", str(out / "runs"))
    assert done.returncode == 0, done.stderr
    by_runs = pd.read_csv(out / "runs" / "beta_sweep.csv").set_index("run")
    for name, beta in BETAS.items():
        assert by_runs.loc[name, "loss.semantic_loss_scale"] == beta
        assert by_runs.loc[name, "objective"] == pytest.approx(world[name]["val"]["f1"])
    assert by_runs.loc["v1-b3", "objective_lo"] == pytest.approx(frame.loc[0, "objective_lo"])


def _check_student_teacher(world, out: Path):
    dirs = [world[n]["dir"] for n in ("v1-b3", "legacy-s0")] + [world["teacher"]["dir"]]
    done = _run("analysis/student_teacher.py", "--runs", *map(str, dirs), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "teacher-abc: a teacher run, not a student; not compared" in done.stderr
    frame = pd.read_csv(out / "student_teacher.csv")
    assert set(frame["teacher"]) == {"teacher-abc"}
    assert sorted(set(zip(frame["student"], frame["split"], frame["evaluated_by"]))) == [
        ("legacy-s0", "test", "evaluate"), ("legacy-s0", "val", "training"), ("v1-b3", "val", "training")]
    teacher_val = world["teacher"]["val"]
    for student in ("v1-b3", "legacy-s0"):
        rows = frame[(frame["student"] == student) & (frame["split"] == "val")].set_index("metric")
        assert sorted(rows.index) == sorted(tm.REPORTED_KEYS)
        for metric in tm.REPORTED_KEYS:
            assert rows.loc[metric, "student_value"] == pytest.approx(world[student]["val"][metric])
            assert rows.loc[metric, "teacher_value"] == pytest.approx(teacher_val[metric])
            assert rows.loc[metric, "delta"] == pytest.approx(world[student]["val"][metric] - teacher_val[metric])
    assert teacher_val["f1"] == pytest.approx(9 / 12) and world["v1-b3"]["val"]["f1"] == pytest.approx(4 / 12)
    test = frame[frame["split"] == "test"].set_index("metric")
    assert test.loc["f1", "student_value"] == pytest.approx(world["test"]["student"]["f1"]) == 3 / 12
    assert test.loc["f1", "teacher_value"] == pytest.approx(world["test"]["teacher"]["f1"]) == 8 / 12
    assert test.loc["f1", "teacher_file"].endswith("eval/test-teacher/metrics.json")
    assert set(frame["student_parameters"]) == {1000} and set(frame["teacher_parameters"]) == {4000}
    html = (out / "student_teacher.html").read_text()
    assert 'id="student_teacher"' in html and {"student", "teacher"} <= _trace_names(html)
    assert "student=v1-b3" in html and "evaluation=test (evaluate)" in html


def _check_report(world, out: Path):
    dirs = [world[n]["dir"] for n in ("legacy-s0", *BETAS)]
    done = _run("analysis/report.py", "--runs", *map(str, dirs), "--baseline", "legacy", "--out", str(out), "--no-png",
                "--bootstrap=50", "--semantic-model=none", "--beta-storage=none", "--contrastive-storage=none")
    assert done.returncode == 0, done.stderr
    first_table = (out / "report.md").read_text().split("\n\n")[2]  # after the title and the table's caption
    rows = [line.split(" | ")[0] for line in first_table.splitlines()[2:]]
    assert rows[:4] == ["| legacy (baseline)", "| trident-v1 (β=3)", "| trident-v1 (β=5)", "| trident-v1 (β=7)"]


def _check_explore(world, out: Path):
    """The notebook, executed cell by cell in a Python kernel, on the same runs and study."""
    import jupytext
    from nbclient import NotebookClient

    runs = [world[n]["dir"] for n in ("v1-b3", "v1-b5", "legacy-s0")] + [world["teacher"]["dir"]]
    env = {"TRIDENT_RUNS": os.pathsep.join(map(str, runs)), "TRIDENT_STUDY": "beta",
           "TRIDENT_STORAGE": world["storage"]}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        notebook = jupytext.read(ANALYSIS / "explore.py")
        # started in analysis/, as Jupyter starts a notebook's kernel in its folder
        NotebookClient(notebook, timeout=180, kernel_name="python3",
                       resources={"metadata": {"path": str(ANALYSIS)}}).execute()
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    text, plots = [], []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output
            if output.output_type == "stream":
                text.append(output.text)
            elif "application/vnd.plotly.v1+json" in output.get("data", {}):
                plots.append(output.data["application/vnd.plotly.v1+json"])
            elif "text/plain" in output.get("data", {}):
                text.append(output.data["text/plain"])
    text = "\n".join(text)
    assert f"{4 * STEPS} steps of 4 runs" in text
    assert f"W&B: {STEPS} steps; largest difference from step_metrics.csv" in text and "columns: 0\n" in text
    assert "warning: teacher-abc: a teacher run, not a student; not compared" in text
    assert len(plots) == 3  # loss components, the β sweep, students against teachers
    loss, beta, pairs = ({t.get("name") for t in p["data"]} for p in plots)
    assert {"focal, v1-b3", "kl, legacy-s0", "ce, teacher-abc"} <= loss
    assert beta == {"trials", "mean"} and pairs == {"student", "teacher"}
    sweep = next(t for t in plots[1]["data"] if t["name"] == "trials")
    assert list(_array(sweep["x"])) == [3, 5, 7]
    assert list(_array(sweep["y"])) == pytest.approx([world[n]["val"]["f1"] for n in BETAS])


def _array(value) -> np.ndarray:
    """A plotly JSON array: a list, or plotly's typed array ({"dtype", "bdata": base64})."""
    import base64

    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


CHECKS = {"loss_curves.py": _check_loss_curves, "beta_sweep.py": _check_beta_sweep,
          "student_teacher.py": _check_student_teacher, "report.py": _check_report, "explore.py": _check_explore}


def _notebooks_and_scripts() -> list[str]:
    return sorted(p.name for p in ANALYSIS.glob("*.py"))


@pytest.mark.parametrize("name", _notebooks_and_scripts())
def test_every_script_and_notebook_in_analysis_runs_and_writes_what_it_read(name, world, tmp_path):
    assert name in CHECKS, f"analysis/{name} has no test: add its check to CHECKS in {Path(__file__).name}"
    is_notebook = any(line.startswith("# %%") for line in (ANALYSIS / name).read_text().splitlines())
    assert is_notebook == (name == "explore.py"), f"analysis/{name}: a notebook is a jupytext percent file"
    CHECKS[name](world, tmp_path / "out")


# ---- the loaders behind them -----------------------------------------------------------

def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"analysis_{name}", ANALYSIS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bad_input_is_one_line_and_exit_2(world, tmp_path, capsys):
    cases = [("beta_sweep", ["--study", "nosuch", "--storage", world["storage"]], "no study 'nosuch' in"),
             ("loss_curves", ["--runs", str(tmp_path / "missing")], "no such run directory"),
             ("loss_curves", ["--wandb", str(world["legacy-s0"]["dir"])], "no offline W&B run"),
             ("student_teacher", ["--runs", str(world["teacher"]["dir"])], "no student run with metrics")]
    for name, argv, message in cases:
        assert _script(name).main([*argv, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"{name}: error: ") and message in err[-1], err
    assert not (tmp_path / "o").exists()


def test_the_offline_wandb_run_reads_as_its_run_directory_does(world):
    from trident.analysis import histories as h

    run = h.wandb_run(world["v1-b5"]["dir"])
    assert (run.name, run.label, run.beta, run.source) == ("v1-b5", "trident-v1", 5.0, "wandb")
    assert run.finished and run.metrics["f1"] == pytest.approx(world["v1-b5"]["val"]["f1"])
    files = h.step_history([world["v1-b5"]["dir"]])
    logged = h.wandb_history(world["wandb_log"].parent)  # the offline-run folder itself
    shared = [c for c in files.columns if c in logged.columns and c not in ("source",)]
    assert len(shared) > 20
    pd.testing.assert_frame_equal(files[shared].reset_index(drop=True), logged[shared].reset_index(drop=True),
                                  check_dtype=False)


def test_a_cut_transaction_log_keeps_the_records_before_the_cut(world, tmp_path):
    from trident.analysis.wandb_offline import read_offline_run

    whole = read_offline_run(world["wandb_log"])
    assert whole.state == "finished" and not whole.problems
    assert [r["train/global_step"] for r in whole.rows if "train/loss_total" in r] == list(range(1, STEPS + 1))
    data = world["wandb_log"].read_bytes()
    cut = tmp_path / world["wandb_log"].name
    cut.write_bytes(data[: len(data) * 2 // 3])
    part = read_offline_run(cut)
    assert part.state == "unfinished" and len(part.problems) == 1 and "cut at byte" in part.problems[0]
    assert 0 < len(part.rows) <= len(whole.rows) and part.rows == whole.rows[: len(part.rows)]
    damaged = bytearray(data)
    damaged[len(data) // 2] ^= 0xFF
    cut.write_bytes(bytes(damaged))
    assert "checksum mismatch" in read_offline_run(cut).problems[0]


def test_a_students_teacher_is_found_from_where_it_was_trained(world, tmp_path):
    """summary.json names the teacher's model folder relative to where training ran."""
    from trident.analysis.teacher_pairs import teacher_run_dir
    from trident.rundir import read_summary

    where = tmp_path / "checkout"
    shutil.copytree(world["teacher"]["dir"], where / "runs" / "teacher-abc")
    summary = read_summary(RunDir(world["v1-b3"]["dir"]))
    summary.teacher = "runs/teacher-abc/model"
    assert teacher_run_dir(summary, [tmp_path, where]) == where / "runs" / "teacher-abc"
    assert teacher_run_dir(summary, [tmp_path]) is None  # not there: no teacher run, not a wrong one
    summary.teacher = str(world["v1-b5"]["dir"] / "model")  # a student's model given as teacher_checkpoint
    assert teacher_run_dir(summary, [tmp_path]) is None


def test_components_long_keeps_every_computed_value_and_no_empty_one(world):
    from trident.analysis import histories as h

    steps = h.step_history([world["v1-b3"]["dir"]])
    long = h.components_long(steps, ("raw", "weighted"))
    logs = world["v1-b3"]["logs"]
    expected = sum(1 for log in logs for k in log if k.endswith(("/raw", "/weighted"))) + len(logs)  # + loss_total
    assert len(long) == expected
    got = long.set_index(["step", "component", "kind"])["value"]
    for step, log in enumerate(logs, 1):
        assert got[(step, "loss_total", "weighted")] == pytest.approx(log["loss_total"])
        for key, value in log.items():
            component, _, kind = key.rpartition("/")
            if kind in ("raw", "weighted"):
                assert got[(step, component, kind)] == pytest.approx(value)
    assert np.isfinite(long["value"]).all()


def test_a_studys_trials_and_a_wandb_run_feed_the_same_frames(world, tmp_path, capsys):
    from trident.analysis import histories as h

    assert _script("loss_curves").main(["--study", "beta", "--storage", world["storage"], "--out", str(tmp_path)]) == 0
    assert "trial 4 is fail" in capsys.readouterr().err  # a trial left out is said, not dropped silently
    frame = pd.read_csv(tmp_path / "loss_curves.csv")
    assert sorted(frame["run"].unique()) == sorted(BETAS) and set(frame["source"]) == {"study"}
    assert sorted(frame["preset"].unique()) == ["trident-v1 (β=3)", "trident-v1 (β=5)", "trident-v1 (β=7)"]
    assert len(frame) == STEPS * len(BETAS)
    # W&B keeps no predictions: the objective, and no interval
    points = h.runs_objective([h.wandb_run(world["v1-b5"]["dir"])])
    row = points.iloc[0]
    assert (row["source"], row[h.BETA]) == ("wandb", 5.0)
    assert row["objective"] == pytest.approx(world["v1-b5"]["val"]["f1"])
    assert math.isnan(row["objective_lo"]) and row["interval"] == "W&B holds no per-example predictions"
