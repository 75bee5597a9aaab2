"""Typed run configuration: dataclasses loaded from YAML, overridden by `--key=value`.

The config is resolved once (defaults ← YAML ← overrides), validated, and saved as
`config.yaml` in every run directory, so a run can always be reproduced from its folder.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def _doc(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING):
    kw = {"metadata": {"doc": text}}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, **kw)
    return field(default=default, **kw)


@dataclass
class DataConfig:
    dir: str = _doc("folder holding train/val/test .jsonl or .jsonl.gz files", "data/synth")
    synth_n: int = _doc("records to generate when `dir` does not exist (0 = never generate; fail instead)", 0)
    synth_seed: int = _doc("seed of the generated corpus", 0)
    max_source_len: int = _doc("source tokens (focal method + separator + masked test); the focal method is cut first", 256)
    max_target_len: int = _doc("target tokens (assertions joined by newlines)", 64)
    max_train_records: int = _doc("use at most this many training records (0 = all)", 0)
    train_fraction: float = _doc("share of the training records the student is distilled on (seeded; sweeps use 0.05); the teacher uses all", 1.0)
    max_val_records: int = _doc("validation during training uses at most this many val records (0 = all); `trident evaluate` always uses the whole split", 0)
    skip_bad_records: bool = _doc("skip malformed lines (counted per reason) instead of stopping", False)


@dataclass
class ModelConfig:
    teacher: str = _doc("teacher: preset name (tiny-teacher, codet5p-770m-shape) or a Hugging Face name/path", "tiny-teacher")
    student: str = _doc("student: preset name (tiny-student, codet5p-220m-shape) or a Hugging Face name/path", "tiny-student")
    teacher_checkpoint: str = _doc("an already fine-tuned teacher (folder or hub name); empty = the output of `trident teacher`", "")
    tokenizer: str = _doc("tokenizer name/path; empty = the teacher's (real models) or one trained on the training split (presets)", "")
    vocab_size: int = _doc("vocabulary of the tokenizer trained for presets", 2048)


@dataclass
class ComponentConfig:
    start: float = _doc("weight at the start of training", 1.0)
    end: float | None = _doc("weight at the end of training (empty = same as start)", None)
    schedule: str = _doc("how the weight moves from start to end over training progress: linear, cosine, step, constant", "linear")
    step_at: float = _doc("progress at which a `step` schedule jumps from start to end", 0.5)


def default_loss_components() -> dict[str, ComponentConfig]:
    """DEFAULT_LOSS_COMPONENTS: the Trident loss (focal + JSD + semantic) with PANS and AST terms.

    pans/ast start small and grow: both reward whole decoded sequences, which are poor while
    the student is young, and their self-critical gradient is noisier than the token losses'.
    """
    return {
        "focal": ComponentConfig(0.5, 0.3), "jsd": ComponentConfig(0.3, 0.4), "semantic": ComponentConfig(0.2, 0.3),
        "pans": ComponentConfig(0.05, 0.1), "ast": ComponentConfig(0.05, 0.1),
    }


DEFAULT_LOSS_COMPONENTS = tuple(default_loss_components())


@dataclass
class LossConfig:
    components: dict[str, ComponentConfig] = _doc(
        "named loss components with weight schedules, e.g. loss.components.focal.start=0.5",
        factory=default_loss_components)
    temperature: float = _doc("softmax temperature of kl/jsd (both are multiplied by T² so gradient scale does not depend on T)", 2.0)
    temperature_end: float | None = _doc("temperature at the end of training (empty = constant); anneals the teacher's pull", None)
    temperature_schedule: str = _doc("schedule of the temperature from `temperature` to `temperature_end`", "linear")
    jsd_beta: float = _doc("JSD mixture weight: M = β·teacher + (1−β)·student", 0.5)
    focal_gamma: float = _doc("focal loss focusing exponent", 2.0)
    focal_alpha: float = _doc("focal loss class weight", 0.25)
    token_weight: float = _doc("weight w of assertion-deciding target tokens in ce/focal (1 = off)", 1.0)
    token_weight_warmup_epochs: float = _doc("the critical-token weight rises from 1 to w over this many epochs", 1.0)
    semantic_model: str = _doc("sentence-transformers model (name or folder) for `semantic`; the default ships offline", "all-MiniLM-L6-v2")
    semantic_loss_scale: str = _doc("β: multiplies the semantic term (value and gradient); a number or `auto`", "5")
    semantic_auto_warmup: int = _doc("with semantic_loss_scale=auto: semantic evaluations observed before β is chosen (1 until then)", 10)
    seq_reward_every: int = _doc("optimizer steps between self-critical terms (semantic/pans/ast)", 8)
    seq_reward_fraction: float = _doc("share of each batch sampled for the self-critical term", 0.25)
    contrastive_model: str = _doc("frozen code/text encoder of the contrastive term (e.g. microsoft/codebert-base); default offline MiniLM", "all-MiniLM-L6-v2")
    contrastive_temperature: float = _doc("InfoNCE temperature τ", 0.1)


@dataclass
class TrainConfig:
    epochs: float = _doc("training epochs", 3.0)
    max_steps: int = _doc("stop after this many optimizer steps (-1 = use epochs)", -1)
    batch_size: int = _doc("per-device micro-batch size", 16)
    grad_accum: int = _doc("micro-batches per optimizer step", 1)
    lr: float = _doc("peak learning rate (AdamW)", 5e-4)
    weight_decay: float = _doc("AdamW weight decay", 0.01)
    warmup_ratio: float = _doc("share of steps spent warming the learning rate up (then linear decay)", 0.05)
    max_grad_norm: float = _doc("gradient clipping norm", 1.0)
    precision: str = _doc("fp32, bf16 or fp16 (the last two on GPU)", "fp32")
    save_steps: int = _doc("checkpoint every N optimizer steps (0 = at each epoch end)", 0)
    save_total_limit: int = _doc("checkpoints kept", 2)
    eval_every_epoch: bool = _doc("generate on the validation split after every epoch (eval_metrics.csv)", True)
    resume: bool = _doc("resume from the run's last checkpoint if there is one", False)
    grad_norm_every: int = _doc("every N optimizer steps, log each weighted component's gradient norm (0 = never)", 25)
    max_nonfinite_steps: int = _doc("stop after this many optimizer steps in a row skipped for a non-finite loss or gradient", 10)


@dataclass
class EvalConfig:
    num_beams: int = _doc("1 = greedy decoding; >1 = beam search", 1)
    batch_size: int = _doc("generation batch size", 32)
    max_new_tokens: int = _doc("longest generated target", 64)


@dataclass
class TrackingConfig:
    wandb: str = _doc("Weights & Biases mode: offline (no account needed), online, disabled", "offline")
    wandb_project: str = _doc("W&B project", "trident")
    wandb_group: str = _doc("W&B group (sweeps group their trials)", "")
    sweep: str = _doc("the sweep this run is a trial of (set by `trident sweep`)", "")
    trial: int = _doc("its Optuna trial number (set by `trident sweep`; -1 = not a trial)", -1)
    tensorboard: bool = _doc("write TensorBoard event files under <run>/tb", True)
    progress: bool = _doc("progress bars", True)


@dataclass
class RunConfig:
    name: str = _doc("run name: outputs go to <runs_dir>/<name>", "run")
    runs_dir: str = _doc("folder holding run directories", "runs")
    seed: int = _doc("seed for data order, init and sampling", 42)
    data: DataConfig = _doc("data", factory=DataConfig)
    model: ModelConfig = _doc("models", factory=ModelConfig)
    loss: LossConfig = _doc("distillation loss", factory=LossConfig)
    train: TrainConfig = _doc("student (distillation) training", factory=TrainConfig)
    teacher_train: TrainConfig = _doc("teacher fine-tuning (trident teacher)", factory=TrainConfig)
    eval: EvalConfig = _doc("evaluation", factory=EvalConfig)
    tracking: TrackingConfig = _doc("tracking", factory=TrackingConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


class ConfigError(ValueError):
    pass


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return _build(hint, value, where)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): _coerce({} if v is None else v, args[1], f"{where}.{k}") for k, v in value.items()}
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if hint in (int, float):
        try:
            number = float(value) if hint is float else int(str(value), 0) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}") from None
        if hint is int and isinstance(value, float) and value != int(value):
            raise ConfigError(f"{where}: expected int, got {value!r}")
        return number
    if hint is str:
        return str(value)
    return value


def _build(cls: type, data: dict, where: str):
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where or 'config'}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}".lstrip(".")) for k, v in data.items()}
    return cls(**kwargs)


def to_dict(cfg: Any) -> Any:
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def _set_dotted(tree: dict, key: str, raw: str) -> None:
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--{key}: {part} is not a section")
    # YAML parsing gives numbers, booleans and null their types; the dataclass hints decide the rest.
    node[parts[-1]] = yaml.safe_load(raw) if raw != "" else ""


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_overrides(args: list[str]) -> dict:
    """`--a.b=1 --c=x` (the form W&B sweep agents pass) → nested dict."""
    tree: dict = {}
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            raise ConfigError(f"unrecognised argument {arg!r}: config overrides take the form --key=value (e.g. --train.lr=1e-4)")
        key, raw = arg[2:].split("=", 1)
        _set_dotted(tree, key, raw)
    return tree


def load_config(path: str | Path | None = None, overrides: list[str] | dict | None = None) -> RunConfig:
    tree: dict = {}
    if path:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist")
        with path.open() as fh:
            loaded = yaml.safe_load(fh) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping")
        tree = loaded
    if overrides:
        extra = parse_overrides(overrides) if isinstance(overrides, list) else overrides
        tree = _merge(tree, extra)
    cfg = _build(RunConfig, tree, "")
    validate(cfg)
    return cfg


def validate(cfg: RunConfig) -> None:
    from trident.losses.registry import check_components  # late: losses import torch
    from trident.schedules import SCHEDULES

    check_components(cfg.loss.components)
    for name, comp in cfg.loss.components.items():
        if comp.schedule not in SCHEDULES:
            raise ConfigError(f"loss.components.{name}.schedule: unknown schedule {comp.schedule!r}; known: {', '.join(SCHEDULES)}")
    if cfg.loss.temperature_schedule not in SCHEDULES:
        raise ConfigError(f"loss.temperature_schedule: unknown schedule {cfg.loss.temperature_schedule!r}")
    beta = cfg.loss.semantic_loss_scale
    if beta != "auto":
        try:
            float(beta)
        except ValueError:
            raise ConfigError(f"loss.semantic_loss_scale must be a number or auto, not {beta!r}") from None
    if not 0 < cfg.loss.seq_reward_fraction <= 1 or cfg.loss.seq_reward_every < 1:
        raise ConfigError("loss.seq_reward_fraction must be in (0, 1] and loss.seq_reward_every at least 1")
    if cfg.train.precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"train.precision must be fp32, bf16 or fp16, not {cfg.train.precision!r}")
    if cfg.tracking.wandb not in ("offline", "online", "disabled"):
        raise ConfigError(f"tracking.wandb must be offline, online or disabled, not {cfg.tracking.wandb!r}")
    if not 0 < cfg.data.train_fraction <= 1:
        raise ConfigError(f"data.train_fraction must be in (0, 1], not {cfg.data.train_fraction}")
    if not 0 <= cfg.loss.jsd_beta <= 1:
        raise ConfigError(f"loss.jsd_beta must be in [0, 1], not {cfg.loss.jsd_beta}")


def save_config(cfg: RunConfig, path: str | Path) -> None:
    from trident.io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))


def content_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(to_dict(obj), sort_keys=True, default=str).encode()).hexdigest()[:12]


def describe(cls: type = RunConfig, prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, default, doc) for every option: the source of `--help`."""
    rows = []
    hints = _hints(cls)
    default_obj = cls()
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            rows.extend(describe(hints[f.name], key + "."))
        else:
            value = getattr(default_obj, f.name)
            rows.append((key, json.dumps(to_dict(value)), f.metadata.get("doc", "")))
    return rows
