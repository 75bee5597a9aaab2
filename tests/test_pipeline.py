"""The stages end to end on tiny data: teacher → distil → evaluate, files, errors, resume."""
import csv
import json
import shutil

import pytest
from transformers import TrainerCallback

from conftest import tiny_overrides
from trident.cli import main
from trident.config import load_config
from trident.distill import distill
from trident.models import VocabularyMismatch, build_model, check_same_vocabulary, train_tokenizer

LEGACY = "experiments/legacy.yaml"


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_end_to_end_cli(synth_dir, tmp_path, capsys):
    args = ["--config", LEGACY, *tiny_overrides(synth_dir, tmp_path / "runs", name="e2e", **{"tracking.wandb": "offline"})]
    assert main(["teacher", *args]) == 0
    assert main(["train", *args]) == 0
    run = tmp_path / "runs" / "e2e"
    for name in ("config.yaml", "step_metrics.csv", "eval_metrics.csv", "summary.json", "model/model.safetensors",
                 "model/tokenizer.json"):
        assert (run / name).exists(), name
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert list((run / "wandb").glob("offline-run-*"))

    rows = _rows(run / "step_metrics.csv")
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    for col in ("epoch", "progress", "lr", "loss_total", "grad_norm", "samples_per_s", "ce/raw", "ce/weight",
                "ce/weighted", "kl/raw", "kl/weight", "kl/weighted"):
        assert all(r[col] not in ("", None) for r in rows), col
    for r in rows:  # weights as written, total = Σ weighted
        assert float(r["ce/weight"]) == pytest.approx(0.5) and float(r["kl/weight"]) == pytest.approx(0.5)
        assert float(r["loss_total"]) == pytest.approx(float(r["ce/weighted"]) + float(r["kl/weighted"]), rel=1e-5)
    assert [float(r["progress"]) for r in rows] == pytest.approx([i / 6 for i in range(6)])

    summary = json.loads((run / "summary.json").read_text())
    assert summary["completed"] and summary["global_step"] == 6
    assert set(summary["val_metrics"]) >= {"f1", "exact_match", "pans", "ast_validity", "bleu"}
    assert summary["bad_records"] == {} and "torch" in summary["versions"]
    saved = load_config(run / "config.yaml")
    assert saved.train.max_steps == 6 and saved.data.dir == str(synth_dir)

    capsys.readouterr()
    assert main(["evaluate", "--run", str(run), "--split", "test", "--with-teacher"]) == 0
    table = capsys.readouterr().out
    assert "teacher" in table and "student" in table and "f1" in table
    preds = [json.loads(line) for line in (run / "eval" / "test" / "predictions.jsonl").read_text().splitlines()]
    test_ids = [json.loads(line)["id"] for line in (synth_dir / "test.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == test_ids
    assert all(isinstance(p["prediction"], str) and p["references"] for p in preds)
    metrics = json.loads((run / "eval" / "test" / "metrics.json").read_text())
    assert metrics["records"] == len(test_ids) and 0 <= metrics["f1"] <= 1


def test_broken_lines_stop_the_run_or_are_counted(synth_dir, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(synth_dir, data)
    lines = (data / "train.jsonl").read_text().splitlines()
    lines[2] = lines[2][:-5]  # truncated JSON on line 3
    lines[6] = json.dumps({**json.loads(lines[6]), "assertions": []})
    (data / "train.jsonl").write_text("\n".join(lines) + "\n")
    args = ["--config", LEGACY, *tiny_overrides(data, tmp_path / "runs", name="bad")]

    assert main(["teacher", *args]) == 2
    err = capsys.readouterr().err
    assert f"{data / 'train.jsonl'}:3: invalid JSON" in err
    assert not list((tmp_path / "runs").glob("*/summary.json"))

    ok = [*args, "--data.skip_bad_records=true"]
    assert main(["teacher", *ok]) == 0
    assert main(["train", *ok]) == 0
    out = capsys.readouterr().out
    assert "invalid_json=1" in out and "empty_assertions=1" in out
    summary = json.loads((tmp_path / "runs" / "bad" / "summary.json").read_text())
    assert summary["bad_records"] == {"train": {"empty_assertions": 1, "invalid_json": 1}}
    assert summary["train_records"] == len(lines) - 2


class _StopAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def test_resumed_run_matches_an_uninterrupted_one(synth_dir, tmp_path):
    runs = tmp_path / "runs"
    base = tiny_overrides(synth_dir, runs, **{"train.max_steps": 8, "train.save_steps": 4})
    assert main(["teacher", "--config", LEGACY, *base]) == 0

    full = distill(load_config(LEGACY, [*base, "--name=full"]))
    cut = distill(load_config(LEGACY, [*base, "--name=cut"]), callbacks=[_StopAt(4)])
    assert not cut["completed"] and cut["global_step"] == 4
    resumed = distill(load_config(LEGACY, [*base, "--name=cut", "--train.resume=true"]))
    assert resumed["completed"]
    assert resumed["val_metrics"] == full["val_metrics"]
    a, b = _rows(runs / "full" / "step_metrics.csv"), _rows(runs / "cut" / "step_metrics.csv")
    assert [r["step"] for r in b] == [str(i) for i in range(1, 9)]
    assert [r["loss_total"] for r in a] == [r["loss_total"] for r in b]


def test_distillation_without_a_teacher_says_what_to_do(synth_dir, tmp_path, capsys):
    assert main(["train", "--config", LEGACY, *tiny_overrides(synth_dir, tmp_path / "runs")]) == 2
    assert "run `trident teacher" in capsys.readouterr().err


def test_vocabulary_mismatch_is_an_error():
    a = train_tokenizer(["assertTrue(x);"] * 10, 300)
    b = train_tokenizer(["assertEquals(1, y); int f() {}"] * 10, 320)
    assert len(a) != len(b)
    with pytest.raises(VocabularyMismatch, match="vocabularies differ"):
        check_same_vocabulary(build_model("tiny-teacher", a, 0), build_model("tiny-student", b, 0))
