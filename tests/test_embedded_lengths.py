"""The embedded configs fit their own data: on the corpus each one generates and the tokenizer it
trains, the sequence limits cut at most 1% of the sources, of the training targets and of the
references generation must write whole, so none of them trips its own truncation warning.

"Embedded" is every preset file alone (`make smoke`, a first `trident train --config …`) and every
shipped sweep at every grid point, as the Optuna engine runs the trial (its command's overrides
included): a sweep that shrinks the limits for speed must shrink them to what its corpus needs."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from trident.config import load_run_config, to_dict
from trident.data.encoding import Truncation, encode_records
from trident.runs import TRUNCATION_WARN_SHARE, load_records, prepare_data
from trident.sweeps.spec import load_sweep, train_argv
from trident.teacher import build_tokenizer


def _embedded() -> dict[str, list[str]]:
    """(what runs it → its `trident train` arguments)"""
    out = {f"{p}": ["--config", str(p)] for p in sorted(Path("experiments").glob("*.yaml"))}
    for path in sorted(Path("sweeps").glob("*.yaml")):
        spec = load_sweep(path)
        assert spec.method == "grid", f"{path}: a sweep that is not a grid needs its own case here"
        for i, point in enumerate(spec.grid()):
            out[f"{path} point {i}"] = train_argv(spec, point)
    return out


def _what_encoding_sees(argv: list[str]) -> str:
    """The settings that decide what encoding cuts: the data (not its folder: each case gets its
    own), the tokenizer, the generation limit, and the seed where it picks the training subset."""
    cfg = load_run_config(argv)
    data = {k: v for k, v in to_dict(cfg.data).items() if k != "dir"}
    return repr((data, cfg.model.teacher, cfg.model.tokenizer, cfg.model.vocab_size, cfg.eval.max_new_tokens,
                 cfg.seed if cfg.data.train_fraction < 1 else None))


def _cases() -> dict[str, list[str]]:
    """One case per distinct encoding, named by the first config that has it."""
    cases: dict[str, tuple[str, list[str]]] = {}
    for name, argv in _embedded().items():
        cases.setdefault(_what_encoding_sees(argv), (name, argv))
    return dict(cases.values())


EMBEDDED = _cases()


@pytest.mark.parametrize("target", sorted(EMBEDDED))
def test_the_config_cuts_at_most_one_percent(target, tmp_path, capsys):
    cfg = load_run_config(EMBEDDED[target])
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
