import pytest
import yaml

from trident.config import ConfigError, load_config, save_config, to_dict


def test_yaml_then_dotted_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "train": {"lr": 1e-3},
                                    "loss": {"components": {"ce": {"start": 0.5, "end": 0.5}}}}))
    cfg = load_config(path, ["--train.lr=2e-4", "--loss.components.kl.start=0.5", "--train.resume=true",
                             "--loss.components.ce.end=0.25", "--data.max_train_records=10"])
    assert cfg.train.lr == 2e-4 and cfg.train.resume is True and cfg.data.max_train_records == 10
    assert cfg.loss.components["ce"].start == 0.5 and cfg.loss.components["ce"].end == 0.25
    assert cfg.loss.components["kl"].start == 0.5 and cfg.loss.components["kl"].end is None


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(None, ["--name=r", "--loss.components.jsd.start=0.3", "--loss.components.jsd.end=0.4"])
    save_config(cfg, tmp_path / "config.yaml")
    assert to_dict(load_config(tmp_path / "config.yaml")) == to_dict(cfg)


@pytest.mark.parametrize("overrides, words", [
    (["--train.lrr=1"], "unknown key(s) lrr"),
    (["--train.lr=fast"], "train.lr: expected float"),
    (["--train.resume=maybe"], "expected true/false"),
    (["--loss.components.semantic.start=0.2"], "'semantic'"),
    (["--loss.components.pans.start=0.2"], "not implemented"),
    (["--loss.components.bogus.start=1"], "unknown loss component 'bogus'"),
    (["--loss.components.ce.schedule=wavy"], "unknown schedule"),
    (["train.lr=1"], "--key=value"),
])
def test_bad_config_is_a_clear_error(overrides, words):
    with pytest.raises(ConfigError, match=None) as err:
        load_config(None, overrides)
    assert words in str(err.value)


def test_trident_preset_refuses_the_unbuilt_semantic_term():
    with pytest.raises(ConfigError, match="semantic"):
        load_config("experiments/trident.yaml")


def test_presets_load():
    legacy = load_config("experiments/legacy.yaml")
    assert {n: (c.start, c.end) for n, c in legacy.loss.components.items()} == {"ce": (0.5, 0.5), "kl": (0.5, 0.5)}
    load_config("experiments/smoke.yaml")
