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
    (["--loss.semantic_loss_scale=big"], "number or auto"),
    (["--loss.components.bogus.start=1"], "unknown loss component 'bogus'"),
    (["--loss.components.ce.schedule=wavy"], "unknown schedule"),
    (["train.lr=1"], "--key=value"),
])
def test_bad_config_is_a_clear_error(overrides, words):
    with pytest.raises(ConfigError, match=None) as err:
        load_config(None, overrides)
    assert words in str(err.value)


def test_presets_load():
    legacy = load_config("experiments/legacy.yaml")
    assert {n: (c.start, c.end) for n, c in legacy.loss.components.items()} == {"ce": (0.5, 0.5), "kl": (0.5, 0.5)}
    load_config("experiments/smoke.yaml")
    trident = load_config("experiments/trident.yaml")
    assert {n: (c.start, c.end) for n, c in trident.loss.components.items()} == {
        "focal": (0.5, 0.3), "jsd": (0.3, 0.4), "semantic": (0.2, 0.3), "pans": (0.05, 0.1), "ast": (0.05, 0.1)}
    v1 = load_config("experiments/trident-v1.yaml")
    assert v1.loss.components["contrastive"].start == 0.1 and v1.loss.components["contrastive"].end == 0.2
    assert v1.loss.token_weight == 2.0 and v1.loss.semantic_loss_scale == "5"


def test_default_components_are_the_trident_loss():
    from trident.config import DEFAULT_LOSS_COMPONENTS

    assert DEFAULT_LOSS_COMPONENTS == ("focal", "jsd", "semantic", "pans", "ast")
    assert list(load_config(None).loss.components) == list(DEFAULT_LOSS_COMPONENTS)
