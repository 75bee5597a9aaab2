"""The embedded configs fit their own data: on the corpus each one generates and the tokenizer it
trains, the sequence limits cut at most 1% of the sources, of the training targets and of the
references generation must write whole, so none of them trips its own truncation warning."""
from __future__ import annotations

from dataclasses import replace

import pytest

from trident.config import load_run_config
from trident.data.encoding import Truncation, encode_records
from trident.runs import TRUNCATION_WARN_SHARE, load_records, prepare_data
from trident.teacher import build_tokenizer

# (config, the overrides its make target or sweep file adds)
EMBEDDED = {
    "make smoke": ("experiments/smoke.yaml", []),
    "make sweep-beta": ("experiments/trident-v1.yaml", ["--train.eval_every_epoch=false", "--teacher.source=cache"]),
    "make sweep-before-after-smoke (legacy)": ("experiments/legacy.yaml", ["--teacher_seed=42", "--train.epochs=3"]),
}


@pytest.mark.parametrize("target", sorted(EMBEDDED))
def test_the_config_cuts_at_most_one_percent(target, tmp_path, capsys):
    path, extra = EMBEDDED[target]
    cfg = load_run_config(["--config", path, *extra])
    cfg = replace(cfg, data=replace(cfg.data, dir=str(tmp_path / "data")))
    assert cfg.data.synth_n > 0  # the embedded corpus, generated as on a fresh clone
    data = prepare_data(cfg)
    tokenizer = build_tokenizer(cfg, data)
    for split in ("train", "val", "test"):
        records = data.train if split == "train" else load_records(cfg, split, {})
        cut = Truncation()
        encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len, truncation=cut)
        counts = cut.counts(cfg.eval.max_new_tokens)
        n = counts["records"]
        for key in ("source_cut", "placeholders_lost", "target_cut", "targets_over_max_new_tokens"):
            assert counts[key] <= TRUNCATION_WARN_SHARE * n, (target, split, key, counts)
    assert "warning" not in capsys.readouterr().err
