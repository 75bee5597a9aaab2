"""The trials table: F1 with paired bootstrap intervals, and whether the best point is separated."""
from __future__ import annotations

import json

import numpy as np
import optuna
import pytest

from trident import metrics
from trident.sweeps.intervals import bootstrap_f1, micro_f1, read_counts
from trident.sweeps.table import summary_text
from trident.sweeps.spec import load_sweep

N = 200
REF = "assertEquals({i}, f({i}));"


def _predictions(run_dir, right: set[int]):
    """N examples with one reference line each; the prediction is that line where i is in `right`,
    a wrong line (one false positive, one false negative) elsewhere."""
    path = run_dir / "eval" / "val" / "predictions.jsonl"
    path.parent.mkdir(parents=True)
    rows = [{"id": f"val:{i}", "prediction": REF.format(i=i) if i in right else f"assertNull(g({i}));",
             "references": [REF.format(i=i)]} for i in range(N)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_micro_f1_by_hand():
    # tp=3, fp=1, fn=2: P=3/4, R=3/5, F1=2·(9/20)/(27/20)=2/3; nothing at all: 0
    assert micro_f1(np.array([3.0, 0.0]), np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx([2 / 3, 0.0])


def test_the_interval_is_around_the_runs_own_f1(tmp_path):
    path = _predictions(tmp_path / "a", set(range(0, N, 3)))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    expected = metrics.precision_recall_f1([r["prediction"] for r in rows], [r["references"] for r in rows])[2]
    # 67 right of 200, each wrong one adds one fp and one fn: F1 = 2·67 / (2·67 + 133 + 133) = 0.335
    assert expected == pytest.approx(134 / 400)
    intervals, draws, order = bootstrap_f1({0: read_counts(path)})
    iv = intervals[0]
    assert iv.value == pytest.approx(expected)
    assert iv.lo < iv.value < iv.hi
    # binomial scale: sd of a proportion near 1/3 on 200 examples is about 0.033, so a 95% interval ~ ±0.065
    assert 0.09 < iv.hi - iv.lo < 0.18
    assert order == [0] and draws.shape == (1, 2000)


def _study(tmp_path, right_sets: list[set[int]]):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nprogram: trident\nmethod: grid\nmetric: {name: eval/f1, goal: maximize}\n"
                     "parameters: {train.lr: {values: [1, 2, 3]}}\n"
                     "command: ['${env}', '${interpreter}', '-m', 'trident', 'train', '${args}']\n")
    study = optuna.create_study(direction="maximize", study_name="s")
    dist = optuna.distributions.CategoricalDistribution([1, 2, 3])
    for k, right in enumerate(right_sets):
        run_dir = tmp_path / f"t{k}"
        _predictions(run_dir, right)
        f1 = 2 * len(right) / (2 * len(right) + 2 * (N - len(right)))
        study.add_trial(optuna.trial.create_trial(params={"train.lr": k + 1}, distributions={"train.lr": dist},
                                                  value=f1, user_attrs={"run_dir": str(run_dir), "f1": f1}))
    return load_sweep(sweep), study


def test_a_lead_of_one_example_is_reported_as_not_separated(tmp_path):
    spec, study = _study(tmp_path, [set(range(100)), set(range(101)), set(range(99))])
    text = summary_text(spec, study)
    assert "best: trial 1" in text
    assert "not separated" in text and "trial 0 [" in text and "trial 2 [" in text
    assert "f1 95% CI" in text and text.count("[0.") >= 3  # an interval on every row


def test_a_clear_lead_is_reported_as_separated(tmp_path):
    spec, study = _study(tmp_path, [set(range(50)), set(range(150)), set(range(60))])
    text = summary_text(spec, study)
    assert "best: trial 1" in text
    assert "trial 1 is separated from every other trial" in text and "not separated" not in text


def test_ties_go_to_the_lowest_trial_number(tmp_path):
    spec, study = _study(tmp_path, [set(range(80)), set(range(100)), set(range(100))])
    text = summary_text(spec, study)
    assert "best: trial 1" in text and "not separated" in text and "trial 2 [+0.0000, +0.0000]" in text


def _baseline_run(tmp_path, right: set[int]):
    """A retrieval baseline run as trident.baseline writes it: summary.json (role baseline) and
    its validation predictions."""
    from trident.rundir import RunDir, Summary, write_summary

    run_dir = tmp_path / "s-retrieval"
    _predictions(run_dir, right)
    f1 = len(right) / N
    write_summary(RunDir(run_dir), Summary(
        name="s-retrieval", val_metrics={"f1": f1, "pans": 0.5, "ast_validity": 1.0, "assertion_validity": 1.0},
        train_runtime_s=None, train_samples_per_second=None, global_step=0, max_steps=0, completed=True,
        train_records=10, val_records=N, bad_records={}, truncation={}, nonfinite_skipped=0, wandb_run_id=None,
        sweep="s", trial=None, semantic_auto_beta=None, versions={}, role="baseline", model="retrieval-bm25",
        run_dir=str(run_dir), wall_time_before_resume_s=0.0, wall_time_s=1.5))
    return run_dir


def test_the_table_ends_with_the_retrieval_row_and_says_whether_the_best_beats_it(tmp_path):
    spec, study = _study(tmp_path, [set(range(50)), set(range(150)), set(range(60))])
    text = summary_text(spec, study, _baseline_run(tmp_path, set(range(40))))
    lines = text.splitlines()
    assert lines[0].startswith("sweep s: 3 trials") and "row retrieval: copy the nearest training record" in lines[0]
    row = next(line for line in lines if line.startswith("retrieval"))
    # F1 of 40 right of 200 (each wrong one a fp and a fn) = 80 / 400, with its own interval
    assert row.split()[1] == "baseline" and "0.2000" in row and row.count("[") == 1
    assert "trial 1 is separated from every other trial" in text  # the baseline is not a trial
    assert lines[-1].startswith("against retrieval: trial 1's F1 lead [+") and lines[-1].endswith("it beats copying")


def test_a_best_trial_below_copying_is_said_to_be(tmp_path):
    spec, study = _study(tmp_path, [set(range(50)), set(range(60))])
    text = summary_text(spec, study, _baseline_run(tmp_path, set(range(150))))
    assert text.splitlines()[-1].endswith("it does worse than copying")


def _finished(run_dir, inference_figures):
    """summary.json of a finished student run, with `inference` figures (or none: an older run)."""
    from report_helpers import summary_fields
    from trident.rundir import RunDir, Summary, write_summary

    write_summary(RunDir(run_dir), Summary(
        name=run_dir.name, val_metrics={"f1": 0.5}, train_runtime_s=1.0, train_samples_per_second=1.0,
        global_step=3, max_steps=3, completed=True, train_records=10, val_records=N, bad_records={},
        truncation={}, nonfinite_skipped=0, wandb_run_id=None, sweep="s", trial=None, semantic_auto_beta=None,
        versions={}, role="student", model="tiny-student", run_dir=str(run_dir), wall_time_before_resume_s=0.0,
        wall_time_s=1.0, **summary_fields(inference_figures)))


def test_the_trials_table_shows_each_models_size_memory_and_p50(tmp_path):
    from report_helpers import inference

    spec, study = _study(tmp_path, [set(range(50)), set(range(150)), set(range(60))])
    _finished(tmp_path / "t0", inference(3 * 2 ** 20 + 2 ** 19, 412.4, 12.345))  # 3.5 MB
    _finished(tmp_path / "t1", inference(40 * 2 ** 20, 1234.5, 0.5))
    _finished(tmp_path / "t2", None)  # no figures (--eval.speed=false, or an older trident): n/a, not 0
    text = summary_text(spec, study, _baseline_run(tmp_path, set(range(40))))
    lines = text.splitlines()
    header = next(line for line in lines[1:] if "size_mb" in line).split()
    assert header[-4:] == ["size_mb", "memory_mb", "p50_ms", "run_dir"]
    rows = {line.split()[0]: line.split() for line in lines if line.split()[:1] in (["0"], ["1"], ["2"], ["retrieval"])}
    assert rows["0"][-4:-1] == ["3.50", "412", "12.3"]
    assert rows["1"][-4:-1] == ["40.0", "1234", "0.500"]
    assert rows["2"][-4:-1] == rows["retrieval"][-4:-1] == ["n/a", "n/a", "n/a"]  # the baseline has no model
    assert "size_mb: weights on disk (MB = 2^20 bytes)" in lines[0]


def test_damaged_figures_are_named_under_the_table_and_absent_ones_add_no_columns(tmp_path):
    spec, study = _study(tmp_path, [set(range(50)), set(range(150))])
    _finished(tmp_path / "t0", None)
    _finished(tmp_path / "t1", None)
    assert "size_mb" not in summary_text(spec, study)  # no trial measured: no columns of n/a
    _finished(tmp_path / "t1", {"bytes_on_disk": 2 ** 20, "peak_rss_mb": "lots", "latency_p50_ms": 3.0})
    text = summary_text(spec, study)
    row = next(line for line in text.splitlines() if line.split()[:1] == ["1"]).split()
    assert row[-4:-1] == ["1.00", "n/a", "3.00"]
    assert (f"warning: trial 1: {tmp_path / 't1' / 'summary.json'}: `inference.peak_rss_mb` is 'lots', not a finite "
            "number ≥ 0; shown as n/a") in text
