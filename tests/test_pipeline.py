"""The stages end to end on tiny data: teacher → distil → evaluate, files, errors, resume."""
import csv
import json
import stat
import shutil

import pytest
from transformers import TrainerCallback

from conftest import StopAt, tiny_overrides
from trident.cli import main
from trident.config import load_config
from trident.distill import distill
from trident.errors import VocabularyMismatch
from trident.models import build_model, check_same_vocabulary, train_tokenizer
from trident.rundir import RunDir

LEGACY = "experiments/legacy.yaml"


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_end_to_end_cli(synth_dir, tmp_path, capsys):
    args = ["--config", LEGACY, *tiny_overrides(synth_dir, tmp_path / "runs", name="e2e", **{"tracking.wandb": "offline"})]
    # A fresh checkout's first `trident train` trains the teacher it needs; `trident teacher` then reuses it.
    assert main(["train", *args]) == 0
    teachers = list((tmp_path / "runs").glob("teacher-*/summary.json"))
    assert len(teachers) == 1 and json.loads(teachers[0].read_text())["completed"]
    capsys.readouterr()
    assert main(["teacher", *args]) == 0
    assert f"reusing the teacher already trained for this config and data: {teachers[0].parent}" in capsys.readouterr().out
    run = tmp_path / "runs" / "e2e"
    for name in ("config.yaml", "step_metrics.csv", "eval_metrics.csv", "summary.json", "model/model.safetensors",
                 "model/tokenizer.json"):
        assert (run / name).exists(), name
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert list((run / "wandb").glob("offline-run-*"))
    # weights are readable like every other result file (0666 less the umask), not safetensors' 0600
    from trident.io import current_umask

    mode = 0o666 & ~current_umask()
    weights = [run / "model" / "model.safetensors", *run.glob("checkpoints/checkpoint-*/model.safetensors"),
               teachers[0].parent / "model" / "model.safetensors"]
    assert len(weights) >= 3 and all(stat.S_IMODE(p.stat().st_mode) == mode for p in weights), \
        {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in weights}

    rows = _rows(run / "step_metrics.csv")
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    for col in ("epoch", "progress", "lr", "loss_total", "grad_norm", "samples_per_s", "ce/raw", "ce/weight",
                "ce/weighted", "kl/raw", "kl/weight", "kl/weighted"):
        assert all(r[col] not in ("", None) for r in rows), col
    for r in rows:  # weights as written, total = Σ weighted
        assert float(r["ce/weight"]) == pytest.approx(0.5) and float(r["kl/weight"]) == pytest.approx(0.5)
        assert float(r["loss_total"]) == pytest.approx(float(r["ce/weighted"]) + float(r["kl/weighted"]), rel=1e-5)
    assert [float(r["progress"]) for r in rows] == pytest.approx([i / 5 for i in range(6)])  # 0 … 1

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


def test_resumed_run_matches_an_uninterrupted_one(synth_dir, tmp_path):
    runs = tmp_path / "runs"
    base = tiny_overrides(synth_dir, runs, **{"train.max_steps": 8, "train.save_steps": 4})
    assert main(["teacher", "--config", LEGACY, *base]) == 0

    full = distill(load_config(LEGACY, [*base, "--name=full"]))
    cut = distill(load_config(LEGACY, [*base, "--name=cut"]), callbacks=[StopAt(4)])
    assert not cut.completed and cut.global_step == 4
    resumed = distill(load_config(LEGACY, [*base, "--name=cut", "--train.resume=true"]))
    assert resumed.completed
    assert resumed.val_metrics == full.val_metrics
    a, b = _rows(runs / "full" / "step_metrics.csv"), _rows(runs / "cut" / "step_metrics.csv")
    assert [r["step"] for r in b] == [str(i) for i in range(1, 9)]
    assert [r["loss_total"] for r in a] == [r["loss_total"] for r in b]


def test_vocabulary_mismatch_is_an_error():
    a = train_tokenizer(["assertTrue(x);"] * 10, 300)
    b = train_tokenizer(["assertEquals(1, y); int f() {}"] * 10, 320)
    assert len(a) != len(b)
    with pytest.raises(VocabularyMismatch, match="vocabularies differ"):
        check_same_vocabulary(build_model("tiny-teacher", a, 0), build_model("tiny-student", b, 0))


NAN_STEPS: set = set()


def _nan_probe(inputs, cfg):
    """A test-only component: 0 with a gradient, NaN on the optimizer steps in NAN_STEPS."""
    zero = inputs.student_logits.sum() * 0.0
    step = inputs.context.global_step if inputs.context is not None else -1
    return zero + float("nan") if inputs.context is not None and inputs.context.training and step in NAN_STEPS else zero


def _fit_with_probe(synth_dir, tmp_path, nan_steps, **extra):
    from trident.config import ComponentConfig, LossConfig
    from trident.fit import fit
    from trident.losses.registry import COMPONENTS, register_component
    from trident.models import build_model
    from trident.runs import prepare_data
    from trident.teacher import build_tokenizer

    if "_nan_probe" not in COMPONENTS:
        register_component("_nan_probe")(_nan_probe)
    NAN_STEPS.clear()
    NAN_STEPS.update(nan_steps)
    cfg = load_config(LEGACY, tiny_overrides(synth_dir, tmp_path / "runs", name="probe", **extra))
    data = prepare_data(cfg)
    tok = build_tokenizer(cfg, data)
    model = build_model("tiny-student", tok, 0)
    checksums = []

    class Sum(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            checksums.append(sum(p.detach().double().sum().item() for p in model.parameters()))

    loss = LossConfig(components={"ce": ComponentConfig(1.0, 1.0), "_nan_probe": ComponentConfig(1.0, 1.0)})
    run_dir = tmp_path / "runs" / "probe"
    run_dir.mkdir(parents=True)
    summary = fit(cfg, cfg.train, RunDir(run_dir), model, tok, data, loss, role="student", model_spec="tiny-student",
                  callbacks=[Sum()])
    return summary, checksums, _rows(run_dir / "step_metrics.csv")


def test_a_non_finite_step_is_skipped_counted_and_logged(synth_dir, tmp_path):
    summary, sums, rows = _fit_with_probe(synth_dir, tmp_path, {2})
    assert summary.nonfinite_skipped == 1 and summary.completed
    assert [int(r["nonfinite_skipped"]) for r in rows] == [0, 0, 1, 1, 1, 1]
    assert sums[2] == sums[1]  # the third optimizer step changed nothing
    assert sums[3] != sums[2]  # and training went on


def test_too_many_non_finite_steps_in_a_row_stop_the_run(synth_dir, tmp_path):
    from trident.errors import NonFiniteTraining

    with pytest.raises(NonFiniteTraining, match="3 optimizer steps in a row"):
        _fit_with_probe(synth_dir, tmp_path, {1, 2, 3, 4}, **{"train.max_nonfinite_steps": 3})


def test_trident_v1_trains_logs_every_column_and_is_analysed(synth_dir, tmp_path, capsys):
    args = ["--config", "experiments/trident-v1.yaml",
            *tiny_overrides(synth_dir, tmp_path / "runs", name="v1", **{"train.grad_norm_every": 2,
                                                                          "loss.seq_reward_every": 2})]
    assert main(["teacher", *args]) == 0
    assert main(["train", *args]) == 0
    run = tmp_path / "runs" / "v1"
    rows = _rows(run / "step_metrics.csv")
    for name in ("focal", "jsd", "semantic", "pans", "ast", "contrastive"):
        for kind in ("raw", "weight", "weighted", "grad_norm"):
            assert f"{name}/{kind}" in rows[0], f"{name}/{kind}"
        assert any(r[f"{name}/grad_norm"] for r in rows), name
        assert all(r[f"{name}/raw"] for r in rows[::2]), name  # seq terms on even optimizer steps
    assert all(float(r["semantic/scale"]) == 5.0 for r in rows if r["semantic/scale"])
    assert list((run / "tb").glob("events.out.tfevents.*"))
    capsys.readouterr()
    assert main(["analyse-loss-scale", str(run)]) == 0
    report = capsys.readouterr().out
    assert "semantic" in report and "recommended: --loss.semantic_loss_scale=" in report


def test_the_losss_own_parameters_are_checkpointed_and_resumed(synth_dir, tmp_path):
    """The contrastive projection is the loss's, not the student's: trained in its own optimizer
    groups, saved in each checkpoint, restored on resume, absent from the saved student."""
    runs = tmp_path / "runs"
    base = tiny_overrides(synth_dir, runs, **{"train.max_steps": 6, "train.save_steps": 3,
                                              "loss.components": "{ce: {start: 1.0}, contrastive: {start: 0.5}}"})
    legacy_without_kl = [*base, "--loss.components.kl.start=0", "--loss.components.kl.end=0"]
    full = distill(load_config(LEGACY, [*legacy_without_kl, "--name=full"]))
    cut = distill(load_config(LEGACY, [*legacy_without_kl, "--name=cut"]), callbacks=[StopAt(3)])
    assert not cut.completed
    assert (runs / "cut" / "checkpoints" / "checkpoint-3" / "loss_parameters.safetensors").exists()
    resumed = distill(load_config(LEGACY, [*legacy_without_kl, "--name=cut", "--train.resume=true"]))
    assert resumed.completed and resumed.val_metrics == full.val_metrics
    a, b = _rows(runs / "full" / "step_metrics.csv"), _rows(runs / "cut" / "step_metrics.csv")
    assert [r["contrastive/raw"] for r in a] == [r["contrastive/raw"] for r in b]
    from safetensors import safe_open

    with safe_open(str(runs / "full" / "model" / "model.safetensors"), "pt") as fh:
        assert not [k for k in fh.keys() if "projection" in k or "contrastive" in k]
