"""Inference figures (trident.inference_figures): present where a model ran, sane, off with
--eval.speed=false, absent for the retrieval baseline. Their values are not asserted: they are timings."""
import json
import math
import os
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open

from conftest import tiny_overrides
from trident.cli import main
from trident.inference_figures import (InferenceFigures, bytes_on_disk, generated_tokens, measure, peak_rss_mib,
                                       weight_files)
from trident.rundir import RunDir, read_summary

LEGACY = "experiments/legacy.yaml"
SPEED = {"eval.speed": "true", "eval.speed_records": 5, "eval.speed_warmup": 2}  # on, whatever the defaults
FIELDS = {"params", "bytes_on_disk", "peak_rss_mb", "latency_p50_ms", "latency_p95_ms", "records_per_s",
          "tokens_per_s", "device", "threads", "records", "warmup", "batch_size"}


@pytest.fixture(scope="module")
def runs(synth_dir, tmp_path_factory):
    """A teacher and a student trained with the figures on, the student evaluated on the test split."""
    root = tmp_path_factory.mktemp("runs")
    args = ["--config", LEGACY, *tiny_overrides(synth_dir, root, name="fig", **SPEED)]
    assert main(["train", *args]) == 0
    student = RunDir(root / "fig")
    assert main(["evaluate", "--run", str(student.root), "--split", "test", "--no-retrieval"]) == 0
    teacher = RunDir(next(root.glob("teacher-*/summary.json")).parent)
    return root, teacher, student


def _stored_elements(model_dir) -> int:
    """Parameters counted from the weight files themselves, not from the loaded model."""
    total = 0
    for path in model_dir.glob("*.safetensors"):
        with safe_open(str(path), framework="pt") as fh:
            total += sum(math.prod(fh.get_slice(k).get_shape()) for k in fh.keys())
    return total


def _check(figures: dict, model_dir, val_or_split_records: int):
    assert set(figures) == FIELDS
    f = InferenceFigures.from_json(figures)
    assert f.to_json() == figures
    assert f.latency_p95_ms >= f.latency_p50_ms > 0
    assert f.peak_rss_mb > 0 and f.records_per_s > 0 and f.tokens_per_s > 0
    # every record generates at least one token (its end of sequence) and at most eval.max_new_tokens (12)
    assert 1 - 1e-9 <= f.tokens_per_s / f.records_per_s <= 12 + 1e-9  # a ratio of two floats
    assert f.bytes_on_disk == sum(os.path.getsize(p) for p in model_dir.glob("*.safetensors")) > 0
    assert f.params == _stored_elements(model_dir)
    assert f.records == min(5, val_or_split_records) and f.warmup == 2 and f.batch_size == 16
    assert f.device == "cpu" and f.threads == torch.get_num_threads()


def test_teacher_and_student_summaries_carry_the_figures_of_their_saved_model(runs):
    _, teacher, student = runs
    for run in (teacher, student):
        summary = read_summary(run)
        assert summary.inference is not None, run.name
        _check(summary.inference, run.model, summary.val_records)
        assert json.loads(run.summary.read_text())["inference"] == summary.inference
    assert read_summary(student).inference["params"] == read_summary(student).student_parameters
    assert read_summary(teacher).inference["params"] == read_summary(student).teacher_parameters


def test_evaluate_writes_the_figures_into_metrics_json(runs):
    _, _, student = runs
    metrics = json.loads(student.metrics("test").read_text())
    _check(metrics["inference"], student.model, metrics["records"])
    summary = read_summary(student).inference
    assert {k: metrics["inference"][k] for k in ("params", "bytes_on_disk")} == \
        {k: summary[k] for k in ("params", "bytes_on_disk")}


def test_speed_false_leaves_them_out(runs, synth_dir):
    root, teacher, student = runs
    # evaluate: metrics.json has no figures
    assert main(["evaluate", "--run", str(student.root), "--split", "val", "--no-retrieval", "--eval.speed=false"]) == 0
    assert "inference" not in json.loads(student.metrics("val").read_text())
    # fit: a student trained with them off reuses the teacher (the figures are not part of its key) and has none
    args = ["--config", LEGACY, *tiny_overrides(synth_dir, root, name="nofig", **{**SPEED, "eval.speed": "false"})]
    assert main(["train", *args]) == 0
    assert [p.parent for p in root.glob("teacher-*/summary.json")] == [teacher.root]
    summary = read_summary(RunDir(root / "nofig"))
    assert summary.inference is None and json.loads(RunDir(root / "nofig").summary.read_text())["inference"] is None


def test_the_retrieval_baseline_has_no_figures(synth_dir, tmp_path):
    args = [f"--data.dir={synth_dir}", f"--runs_dir={tmp_path}", "--name=b", "--tracking.progress=false"]
    assert main(["baseline", "retrieval", *args, "--split", "test"]) == 0
    run = RunDir(tmp_path / "b-retrieval")
    assert read_summary(run).inference is None
    assert main(["evaluate", "--run", str(run.root), "--split", "test"]) == 0
    assert "inference" not in json.loads(run.metrics("test").read_text())


def test_generated_tokens_count_up_to_each_rows_end_of_sequence():
    # decoder start 0, eos 1, pad 0: row 1 ends after 3 tokens (5, 6, eos); row 2 never ends (5 tokens)
    out = torch.tensor([[0, 5, 6, 1, 0, 0], [0, 5, 6, 7, 8, 9]])
    assert generated_tokens(out, {1}) == 3 + 5
    assert generated_tokens(torch.tensor([[0, 1, 0], [0, 4, 1]]), {1}) == 1 + 2


def test_bytes_on_disk_are_the_safetensors_or_else_the_bin_files(tmp_path):
    both, bins = tmp_path / "both", tmp_path / "bins"
    for folder, files in ((both, {"model-1.safetensors": 10, "model-2.safetensors": 5, "pytorch_model.bin": 7,
                                  "config.json": 3}), (bins, {"pytorch_model.bin": 7, "config.json": 3})):
        folder.mkdir()
        for name, size in files.items():
            (folder / name).write_bytes(b"x" * size)
    assert [p.name for p in weight_files(both)] == ["model-1.safetensors", "model-2.safetensors"]
    assert bytes_on_disk(both) == 15 and bytes_on_disk(bins) == 7


def test_the_peak_memory_is_the_measuring_processs_own_not_its_parents():
    # getrusage's ru_maxrss would report at least this process's peak in a child started from it
    held = bytearray(400 * 2**20)
    held[::4096] = b"x" * len(held[::4096])  # touch every page: resident
    assert peak_rss_mib() >= 400
    code = "from trident.inference_figures import peak_rss_mib; print(peak_rss_mib())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 0 < float(child.stdout) < 100  # a bare interpreter
    del held


def test_speed_off_or_no_record_measures_nothing(tmp_path):
    from trident.config import EvalConfig

    # no process is started: the folder holds no model, which a measurement would fail on
    assert measure(tmp_path, [{"input_ids": [5, 1]}], EvalConfig(speed=False), "cpu") is None
    assert measure(tmp_path, [], EvalConfig(), "cpu") is None


def test_a_failed_measurement_is_an_error_naming_the_model_and_the_way_out(tmp_path):
    from trident.config import EvalConfig

    with pytest.raises(RuntimeError, match=r"inference figures of .*--eval.speed=false"):
        measure(tmp_path, [{"input_ids": [5, 1]}], EvalConfig(), "cpu")


def test_the_figures_config_is_validated():
    from trident.config import load_run_config
    from trident.errors import ConfigError

    cfg = load_run_config(["--eval.speed=false", "--eval.speed_records=3", "--eval.speed_warmup=0"])
    assert (cfg.eval.speed, cfg.eval.speed_records, cfg.eval.speed_warmup) == (False, 3, 0)
    for bad in ("--eval.speed_records=0", "--eval.speed_warmup=-1"):
        with pytest.raises(ConfigError):
            load_run_config([bad])
