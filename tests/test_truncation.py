"""Every run says how much of each split the length limits cut, warns above 1%, stores the
counts (summary.json, metrics.json), and evaluation scores against the whole references."""
import json

from conftest import tiny_overrides
from trident.cli import main
from trident.config import load_config
from trident.data.records import load_split
from trident.evaluate import evaluate_model
from trident.models import load_tokenizer
from trident.runs import report_truncation

LEGACY = "experiments/legacy.yaml"


def test_report_prints_every_count_and_warns_above_one_percent(capsys):
    cfg = load_config(LEGACY, ["--data.max_source_len=256", "--data.max_target_len=64", "--eval.max_new_tokens=48"])
    counts = {"records": 200, "source_cut": 2, "test_cut": 1, "placeholders_lost": 0, "target_cut": 40,
              "targets_over_max_new_tokens": 3}
    assert report_truncation(cfg, "train", counts) == counts
    out, err = capsys.readouterr()
    assert out == ("[trident] train: 200 records; cut to fit: 2 (1.0%) sources > data.max_source_len=256 "
                   "(1 masked tests cut around their placeholders, 0 lost one); 40 (20.0%) targets > "
                   "data.max_target_len=64; 3 (1.5%) references > eval.max_new_tokens=48\n")
    # 2/200 = 1.0% is not above 1%: no warning for sources
    assert err.splitlines() == [
        "[trident] warning: 20.0% of train targets exceed data.max_target_len=64 tokens: training sees them cut "
        "(evaluation scores the whole reference); raise data.max_target_len",
        "[trident] warning: 1.5% of train references exceed eval.max_new_tokens=48 tokens: generation stops "
        "before they can be written whole; raise eval.max_new_tokens"]


def _expected(records, tok, max_source_len: int, max_target_len: int, max_new_tokens: int | None = None) -> dict:
    """The counts worked out from the tokenizer's own lengths (preset tokenizer: no bos; sep + eos)."""
    def n(text):
        return len(tok(text, add_special_tokens=False)["input_ids"])

    budget = max_source_len - 2
    targets = [n("\n".join(a.strip() for a in r.assertions)) for r in records]
    out = {"records": len(records),
           "source_cut": sum(n(r.focal_method) + n(r.test_method_masked) > budget for r in records),
           "test_cut": sum(n(r.test_method_masked) > budget for r in records), "placeholders_lost": 0,
           "target_cut": sum(t + 1 > max_target_len for t in targets)}
    if max_new_tokens is not None:
        out["targets_over_max_new_tokens"] = sum(t > max_new_tokens for t in targets)
    return out


def test_runs_store_truncation_and_evaluation_scores_whole_references(synth_dir, tmp_path, capsys):
    runs = tmp_path / "runs"
    args = ["--config", LEGACY, *tiny_overrides(synth_dir, runs, **{"data.max_source_len": 64, "data.max_target_len": 8,
                                                                   "eval.max_new_tokens": 6})]
    assert main(["teacher", *args]) == 0
    out, err = capsys.readouterr()
    [teacher] = list(runs.glob("teacher-*"))
    tok = load_tokenizer(teacher / "model")
    assert tok.bos_token_id is None
    summary = json.loads((teacher / "summary.json").read_text())
    train, val = load_split(synth_dir, "train"), load_split(synth_dir, "val")
    assert summary["truncation"] == {"train": _expected(train, tok, 64, 8), "val": _expected(val, tok, 64, 8, 6)}
    assert summary["truncation"]["train"]["target_cut"] > 0  # the case is real: targets were cut
    assert "[trident] train: " in out and "[trident] val: " in out
    assert "[trident] warning: " in err and "of train targets exceed data.max_target_len=8 tokens" in err

    cfg = load_config(LEGACY, args[2:])
    result = evaluate_model(teacher / "model", cfg, "test", tmp_path / "eval")
    test = load_split(synth_dir, "test")
    assert result["truncation"] == _expected(test, tok, 64, 8, 6)
    assert result["truncation"]["targets_over_max_new_tokens"] > 0
    saved = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["truncation"] == result["truncation"]
    # references are the records' whole assertion lists, not the 8-token labels
    preds = [json.loads(line) for line in (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()]
    assert [p["references"] for p in preds] == [r.assertions for r in test]
    assert "of test references exceed eval.max_new_tokens=6 tokens" in capsys.readouterr().err
