"""trident export: int8 and ONNX folders from a tiny trained run, reloaded, generating like the
float model; the parity arithmetic on constructed inputs; the command's errors."""
import json

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from conftest import tiny_overrides
from trident.cli import main
from trident.config import load_config
from trident.data.encoding import encode_records
from trident.data.records import load_split
from trident.errors import ConfigError, DataError
from trident.export.loading import is_exported, load_exported
from trident.export.parity import agreement, greedy_predictions, parity
from trident.models import load_tokenizer

LEGACY = "experiments/legacy.yaml"


@pytest.fixture(scope="module")
def run(synth_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("export") / "runs"
    assert main(["train", "--config", LEGACY, *tiny_overrides(synth_dir, runs, name="tiny")]) == 0
    return runs / "tiny"


@pytest.fixture(scope="module")
def float_model(run):
    return AutoModelForSeq2SeqLM.from_pretrained(run / "model").eval(), load_tokenizer(run / "model")


@pytest.fixture(scope="module")
def int8_folder(run):
    assert main(["export", "--run", str(run), "--int8"]) == 0  # into the default folder
    return run / "export" / "int8"


@pytest.fixture(scope="module")
def onnx_folder(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "student-onnx"
    assert main(["export", "--run", str(run), "--onnx", "--out", str(out)]) == 0
    return out


def _inputs(run, tokenizer, n=None):
    cfg = load_config(run / "config.yaml")
    records = load_split(cfg.data.dir, "test")[:n]
    rows = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len)
    return records, [r["input_ids"] for r in rows], cfg.eval.max_new_tokens


def _beams(model, tokenizer, rows, max_new):
    batch = tokenizer.pad({"input_ids": rows}, return_tensors="pt")
    with torch.inference_mode():
        return model.generate(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], num_beams=3,
                              num_return_sequences=2, max_new_tokens=max_new, output_scores=True,
                              return_dict_in_generate=True)


def test_int8_export_is_quantized_reloads_and_agrees_with_the_float_model(run, float_model, int8_folder):
    model_f, tokenizer = float_model
    folder = int8_folder
    manifest = json.loads((folder / "export.json").read_text())
    assert manifest["format"] == "int8" and manifest["source_run"] == str(run)
    assert manifest["float_bytes"] == (run / "model" / "model.safetensors").stat().st_size
    assert manifest["weight_files"] == ["int8_state_dict.pt"]
    assert manifest["bytes"] == (folder / "int8_state_dict.pt").stat().st_size
    assert set(manifest["versions"]) >= {"torch", "transformers"}
    assert (folder / "tokenizer.json").is_file() and is_exported(folder)

    model, tok = load_exported(folder, "cpu")
    assert tok.get_vocab() == tokenizer.get_vocab()
    linears = {name for name, m in model_f.named_modules() if isinstance(m, torch.nn.Linear)}
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    quantized = {name for name, m in model.named_modules() if isinstance(m, DynamicLinear)}
    # every Linear layer but the LM head, which stays float and tied to the input embedding
    assert "lm_head" in linears and quantized == linears - {"lm_head"}
    assert [n for n, m in model.named_modules() if type(m) is torch.nn.Linear] == ["lm_head"]
    assert model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr()
    assert torch.equal(model.shared.weight, model_f.shared.weight)
    assert manifest["details"]["quantized_linear_layers"] == len(linears) - 1
    # the stored int8 weights are the float weights rounded to one scale per output channel
    q = model.get_submodule("encoder.block.0.layer.0.SelfAttention.q").weight()
    w = model_f.get_submodule("encoder.block.0.layer.0.SelfAttention.q").weight.detach()
    scales = q.q_per_channel_scales().to(torch.float32)
    assert scales.shape == (w.shape[0],) and q.q_per_channel_axis() == 0
    assert torch.all((q.dequantize() - w).abs() <= scales[:, None] / 2 + 1e-6)
    assert float((q.dequantize() - w.detach()).abs().max()) > 0  # and not the float weights themselves

    records, rows, max_new = _inputs(run, tokenizer)
    out = _beams(model, tok, rows[:3], max_new)
    assert out.sequences.shape[0] == 6 and out.sequences_scores.shape == (6,)
    assert len(out.scores) == out.sequences.shape[1] - 1

    float_preds = greedy_predictions(model_f, tokenizer, rows, max_new, batch_size=8)
    int8_preds = greedy_predictions(model, tok, rows, max_new, batch_size=8)
    by_hand = 0
    for a, b in zip(float_preds, int8_preds):
        if a == b:
            by_hand += 1
    p = parity(float_preds, int8_preds, [r.assertions for r in records])
    assert p.records == len(records) and p.identical == by_hand and p.agreement == by_hand / len(records)
    print(f"int8 agreement with the float model on {len(records)} tiny-run test records: {p.agreement:.3f}")


def test_onnx_export_generates_what_the_float_model_generates(run, float_model, onnx_folder):
    model_f, tokenizer = float_model
    out = onnx_folder
    manifest = json.loads((out / "export.json").read_text())
    assert manifest["format"] == "onnx" and manifest["weight_files"] == ["decoder.onnx", "encoder.onnx"]
    assert manifest["bytes"] == sum((out / f).stat().st_size for f in ("decoder.onnx", "encoder.onnx"))
    assert "onnxruntime" in manifest["versions"]
    model, tok = load_exported(out, "cpu")
    records, rows, max_new = _inputs(run, tokenizer, 6)
    # greedy: the same text, record for record
    assert greedy_predictions(model, tok, rows, max_new, 4) == greedy_predictions(model_f, tokenizer, rows, max_new, 4)
    # beam search through transformers' own loop: the same beams, scores equal to float32 rounding
    a, b = _beams(model, tok, rows[:3], max_new), _beams(model_f, tokenizer, rows[:3], max_new)
    assert torch.equal(a.sequences, b.sequences)
    assert torch.allclose(a.sequences_scores, b.sequences_scores, atol=1e-4)
    assert len(a.scores) == len(b.scores)


def test_parity_on_constructed_predictions():
    assert agreement(["a", "b", "c", "d"], ["a", "x", "c", "d"]) == (3, 0.75)
    refs = [["assertEquals(1, x);"], ["assertTrue(y);"]]
    # float: both lines right (F1 1); export: one right, one wrong line → tp 1, fp 1, fn 1: P = R = F1 = 1/2
    p = parity(["assertEquals(1, x);", "assertTrue(y);"], ["assertEquals(1, x);", "assertFalse(y);"], refs)
    assert (p.records, p.identical, p.agreement) == (2, 1, 0.5)
    assert p.f1_float == 1.0 and p.f1_export == pytest.approx(0.5) and p.delta_f1 == pytest.approx(-0.5)
    assert not p.meets_target
    assert parity(["a"] * 99 + ["b"], ["a"] * 100, [["a"]] * 100).meets_target  # 99% is the target
    assert not parity(["a"] * 98 + ["b"] * 2, ["a"] * 100, [["a"]] * 100).meets_target
    with pytest.raises(ValueError, match="2 predictions to compare with 1"):
        agreement(["a"], ["a", "b"])


def test_export_errors_are_clear(run, tmp_path, capsys):
    assert main(["export", "--run", str(tmp_path / "nowhere"), "--int8"]) == 2
    assert f"no run at {tmp_path / 'nowhere'}" in capsys.readouterr().err
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.yaml").write_text((run / "config.yaml").read_text())
    assert main(["export", "--run", str(unfinished), "--int8"]) == 2
    assert f"{unfinished / 'summary.json'} is missing: the run did not finish" in capsys.readouterr().err
    assert main(["export", "--run", str(run)]) == 2
    assert "no export format: give --int8, --onnx or both" in capsys.readouterr().err
    assert main(["export", "--run", str(run), "--int8", "--onnx", "--out", str(tmp_path / "x")]) == 2
    assert "--out names one folder" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()

    assert not is_exported(run / "model")
    with pytest.raises(DataError, match="not an export folder .no export.json."):
        load_exported(run / "model", "cpu")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "export.json").write_text(json.dumps({"format": "fp4"}))
    with pytest.raises(DataError, match=r"bad/export.json: not an export description \(missing "):
        load_exported(bad, "cpu")
    capsys.readouterr()
    assert main(["export", "--run", str(run), "--int8", "--out", str(tmp_path / "i8")]) == 0
    assert capsys.readouterr().out.startswith(f"int8: {tmp_path / 'i8'} (")
    with pytest.raises(ConfigError, match="the int8 export runs on the CPU only, not on 'cuda'"):
        load_exported(tmp_path / "i8", "cuda")


def test_trident_generate_runs_an_exported_folder(run, int8_folder, onnx_folder, tmp_path, capsys):
    """`trident generate --model EXPORTED` on a real Java test file, beam search with two
    suggestions per method: the ONNX export suggests what the float model suggests, with the same
    log-probabilities to float32 rounding; int8 suggests for the same methods."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree("tests/fixtures/generate-project", project)
    test_file = project / "src/test/java/com/example/shop/PriceCalculatorTest.java"
    sources = project / "src/main/java"
    rows = {}
    for name, model in (("float", run), ("onnx", onnx_folder), ("int8", int8_folder)):
        out = tmp_path / f"{name}.jsonl"
        code = main(["generate", str(test_file), "--source", str(sources), "--model", str(model), "--device", "cpu",
                     "--num-return", "2", "--jsonl", str(out)])
        err = capsys.readouterr().err
        assert code in (0, 1), err  # 1: some methods reported (a tiny model's output), never a crash
        rows[name] = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows["float"]) == 5  # the file's five methods with placeholders
    for a, b in zip(rows["float"], rows["onnx"], strict=True):
        assert {k: v for k, v in a.items() if k != "suggestions"} == {k: v for k, v in b.items() if k != "suggestions"}
        assert [s["text"] for s in a["suggestions"]] == [s["text"] for s in b["suggestions"]]
        assert [s["logprob"] for s in b["suggestions"]] == pytest.approx([s["logprob"] for s in a["suggestions"]],
                                                                        abs=1e-3)
    assert [r["method"] for r in rows["int8"]] == [r["method"] for r in rows["float"]]
    assert all(len(r["suggestions"]) == 2 for r in rows["int8"])
