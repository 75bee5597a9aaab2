import pytest
import yaml

from trident.analysis.sources import parse_beta
from trident.cli import main
from trident.config import load_config, save_config, to_dict
from trident.errors import ConfigError

TRIDENT = {"focal": (0.5, 0.3), "jsd": (0.3, 0.4), "semantic": (0.2, 0.3), "pans": (0.05, 0.1), "ast": (0.05, 0.1)}


def _weights(cfg) -> dict:
    return {n: (c.start, c.end) for n, c in cfg.loss.components.items()}


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
    assert v1.loss.token_weight == 2.0 and v1.loss.semantic_loss_scale == 5.0


def test_default_components_are_the_trident_loss():
    from trident.config import DEFAULT_LOSS_COMPONENTS

    assert DEFAULT_LOSS_COMPONENTS == ("focal", "jsd", "semantic", "pans", "ast")
    assert list(load_config(None).loss.components) == list(DEFAULT_LOSS_COMPONENTS)


def test_a_component_override_merges_into_the_default_components():
    cfg = load_config(None, ["--loss.components.focal.start=0.7"])
    assert _weights(cfg) == {**TRIDENT, "focal": (0.7, 0.3)}
    assert cfg.loss.components["focal"].schedule == "linear"


def test_a_component_override_merges_into_the_yaml_components(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"loss": {"components": {"ce": {"start": 0.6, "end": 0.2, "schedule": "cosine"},
                                                            "kl": {"start": 0.4}}}}))
    cfg = load_config(path, ["--loss.components.ce.end=0.1"])
    # the YAML's own list replaces the default list; the override changes one key of one component
    assert _weights(cfg) == {"ce": (0.6, 0.1), "kl": (0.4, None)}
    assert cfg.loss.components["ce"].schedule == "cosine"


def test_a_whole_component_override_adds_or_updates_it():
    cfg = load_config(None, ["--loss.components.contrastive={'start': 0.05, 'end': 0.1}"])
    assert _weights(cfg) == {**TRIDENT, "contrastive": (0.05, 0.1)}
    v1 = load_config("experiments/trident-v1.yaml", ["--loss.components.contrastive={'start': 0.2, 'end': 0.3}"])
    assert _weights(v1) == {**TRIDENT, "contrastive": (0.2, 0.3)}


def test_the_default_loss_is_the_trident_preset():
    assert to_dict(load_config(None).loss) == to_dict(load_config("experiments/trident.yaml").loss)


@pytest.mark.parametrize("raw, value", [("5", 5.0), ("0.5", 0.5), ("'7'", 7.0), ("auto", "auto")])
def test_semantic_scale_is_a_float_or_auto_and_round_trips(tmp_path, raw, value):
    cfg = load_config(None, [f"--loss.semantic_loss_scale={raw}"])
    assert cfg.loss.semantic_loss_scale == value and type(cfg.loss.semantic_loss_scale) is type(value)
    save_config(cfg, tmp_path / "config.yaml")
    again = load_config(tmp_path / "config.yaml").loss.semantic_loss_scale
    assert again == value and type(again) is type(value)


def test_analysis_reads_old_text_betas_and_new_float_betas():
    assert parse_beta("5") == 5.0 and parse_beta(5.0) == 5.0
    assert parse_beta("auto", 2.34567) == 2.346 and parse_beta("auto") == "auto" and parse_beta(None) is None


@pytest.mark.parametrize("override, key", [
    ("--train.batch_size=0", "train.batch_size"),
    ("--train.lr=-1", "train.lr"),
    ("--data.max_source_len=2", "data.max_source_len"),
    ("--train.max_steps=true", "train.max_steps"),
    ("--train.max_steps=0", "train.max_steps"),
    ("--train.epochs=0", "train.epochs"),
    ("--teacher_train.epochs=0", "teacher_train.epochs"),
    ("--teacher_train.grad_accum=0", "teacher_train.grad_accum"),
    ("--data.max_target_len=1", "data.max_target_len"),
    ("--data.train_fraction=0", "data.train_fraction"),
    ("--loss.temperature=0", "loss.temperature"),
    ("--loss.semantic_loss_scale=-1", "loss.semantic_loss_scale"),
    ("--loss.semantic_loss_scale=true", "loss.semantic_loss_scale"),
    ("--loss.components.focal.start=-0.1", "loss.components.focal.start"),
    ("--loss.components.jsd.step_at=1.5", "loss.components.jsd.step_at"),
    ("--eval.num_beams=0", "eval.num_beams"),
    ("--train.precision=fp8", "train.precision"),
    ("--seed=-1", "seed"),
])
def test_an_invalid_value_is_a_one_line_cli_error_naming_the_key(tmp_path, capsys, override, key):
    runs = tmp_path / "runs"
    code = main(["train", f"--data.dir={tmp_path / 'none'}", f"--runs_dir={runs}", override])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"trident: error: {key}: ") and err.count("\n") == 1, err
    assert not runs.exists()


@pytest.mark.parametrize("override", ["--train.max_steps=-1", "--train.max_steps=1", "--train.epochs=0.5",
                                      "--data.train_fraction=1", "--loss.semantic_loss_scale=0",
                                      "--loss.components.focal.end=0", "--data.max_source_len=4"])
def test_boundary_values_are_accepted(override):
    load_config(None, [override])
