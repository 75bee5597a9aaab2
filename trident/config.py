"""Typed run configuration: dataclasses loaded from YAML, overridden by `--key=value`.

The config is resolved once (defaults ← YAML ← overrides), validated, and saved as
`config.yaml` in every run directory, so a run can always be reproduced from its folder.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from trident.errors import ConfigError



@dataclass(frozen=True)
class Allowed:
    """The values a field accepts, declared next to its doc and checked by `validate` in one loop.

    Numbers: the interval from `lo` to `hi` (bounds open where `*_open`), plus the special
    values in `also` (e.g. -1 = off). Text: one of `choices`. None and `auto` are left to the
    field's type."""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    also: tuple[float, ...] = ()
    choices: tuple[str, ...] = ()

    def admits(self, value: Any) -> bool:
        if self.choices:
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return True
        if value in self.also:
            return True
        above = self.lo is None or (value > self.lo if self.lo_open else value >= self.lo)
        below = self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)
        return above and below

    def __str__(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.lo is not None and self.hi is not None:
            text = f"in {'(' if self.lo_open else '['}{_num(self.lo)}, {_num(self.hi)}{')' if self.hi_open else ']'}"
        elif self.lo is not None:
            text = f"{'>' if self.lo_open else '>='} {_num(self.lo)}"
        else:
            text = f"{'<' if self.hi_open else '<='} {_num(self.hi)}"
        return text + "".join(f" or {_num(v)}" for v in self.also)


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def at_least(lo: float, *also: float) -> Allowed:
    return Allowed(lo=lo, also=also)


def above(lo: float) -> Allowed:
    return Allowed(lo=lo, lo_open=True)


def between(lo: float, hi: float, lo_open: bool = False, hi_open: bool = False) -> Allowed:
    return Allowed(lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def one_of(*choices: str) -> Allowed:
    return Allowed(choices=choices)


POSITIVE, NON_NEGATIVE, COUNT = above(0), at_least(0), at_least(1)


def _doc(text: str, default: Any = dataclasses.MISSING, allowed: Allowed | None = None, *,
         factory: Any = dataclasses.MISSING):
    kw = {"metadata": {"doc": text, "allowed": allowed}}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, **kw)
    return field(default=default, **kw)


@dataclass
class DataConfig:
    dir: str = _doc("folder holding train/val/test .jsonl or .jsonl.gz files", "data/synth")
    synth_n: int = _doc("records to generate when `dir` does not exist (0 = never generate; fail instead)", 0, NON_NEGATIVE)
    synth_seed: int = _doc("seed of the generated corpus", 0, NON_NEGATIVE)
    max_source_len: int = _doc("source tokens (focal method + separator + masked test); the focal method is cut first", 256,
                               at_least(4))  # bos, sep and eos leave room for one token
    max_target_len: int = _doc("target tokens (assertions joined by newlines)", 64, at_least(2))  # one token + eos
    focal_context: str = _doc("source besides the masked test: `method` (the focal method) or `class-signatures` "
                              "(the focal method, then its class's name, fields, constructor and public method "
                              "signatures: methods2test's FM_FC_MS; needs records from `trident data mine` or the "
                              "methods2test importer); the context is cut first", "method",
                              one_of("method", "class-signatures"))
    max_train_records: int = _doc("use at most this many training records (0 = all)", 0, NON_NEGATIVE)
    train_fraction: float = _doc("share of the training records the student is distilled on (seeded; sweeps use 0.05); the teacher uses all", 1.0,
                                 between(0, 1, lo_open=True))
    max_val_records: int = _doc("validation during training uses at most this many val records (0 = all); `trident evaluate` always uses the whole split", 0, NON_NEGATIVE)
    skip_bad_records: bool = _doc("skip malformed lines (counted per reason) instead of stopping", False)


@dataclass
class ModelConfig:
    teacher: str = _doc("teacher: preset name (tiny-teacher, codet5p-770m-shape) or a Hugging Face name/path", "tiny-teacher")
    student: str = _doc("student: preset name (tiny-student, codet5p-220m-shape) or a Hugging Face name/path", "tiny-student")
    teacher_checkpoint: str = _doc("an already fine-tuned teacher (folder or hub name); empty = the output of `trident teacher`", "")
    tokenizer: str = _doc("tokenizer name/path; empty = the teacher's (real models) or one trained on the training split (presets)", "")
    vocab_size: int = _doc("vocabulary of the tokenizer trained for presets", 2048,
                           at_least(260))  # the 256 bytes and 4 special tokens


@dataclass
class ComponentConfig:
    start: float = _doc("weight at the start of training", 1.0, NON_NEGATIVE)
    end: float | None = _doc("weight at the end of training (empty = same as start)", None, NON_NEGATIVE)
    schedule: str = _doc("how the weight moves from start to end over training progress: linear, cosine, step, constant", "linear")
    step_at: float = _doc("progress at which a `step` schedule jumps from start to end", 0.5, between(0, 1))


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
    temperature: float = _doc("softmax temperature of kl/jsd (both are multiplied by T² so gradient scale does not depend on T)", 2.0, POSITIVE)
    temperature_end: float | None = _doc("temperature at the end of training (empty = constant); anneals the teacher's pull", None, POSITIVE)
    temperature_schedule: str = _doc("schedule of the temperature from `temperature` to `temperature_end`", "linear")
    jsd_beta: float = _doc("JSD mixture weight, strictly between 0 and 1: M = β·teacher + (1−β)·student", 0.5)
    focal_gamma: float = _doc("focal loss focusing exponent", 2.0, NON_NEGATIVE)
    focal_alpha: float = _doc("focal loss class weight", 0.25, between(0, 1, lo_open=True))
    token_weight: float = _doc("weight w of assertion-deciding target tokens in ce/focal (1 = off)", 1.0, POSITIVE)
    token_weight_warmup_epochs: float = _doc("the critical-token weight rises from 1 to w over this many epochs", 1.0, NON_NEGATIVE)
    semantic_model: str = _doc("sentence-transformers model (name or folder) for `semantic`; the default ships offline", "all-MiniLM-L6-v2")
    semantic_loss_scale: float | Literal["auto"] = _doc(
        "β: multiplies the semantic term (value and gradient); a number or `auto`", 1.0, NON_NEGATIVE)
    semantic_auto_warmup: int = _doc("with semantic_loss_scale=auto: semantic evaluations observed before β is chosen (1 until then)", 10, COUNT)
    seq_reward_every: int = _doc("optimizer steps between self-critical terms (semantic/pans/ast)", 8, COUNT)
    seq_reward_fraction: float = _doc("share of each batch sampled for the self-critical term", 0.25,
                                       between(0, 1, lo_open=True))
    contrastive_model: str = _doc("frozen code/text encoder of the contrastive term (e.g. microsoft/codebert-base); default offline MiniLM", "all-MiniLM-L6-v2")
    contrastive_temperature: float = _doc("InfoNCE temperature τ", 0.1, POSITIVE)
    hidden_layers: dict[str, dict[str, int]] = _doc(
        "`hidden`: which teacher layer each student layer is matched with, per stack, e.g. "
        "loss.hidden_layers.encoder.2=4 (layer 0 is the embeddings' output, 1..L the layers' outputs); a stack "
        "left out is matched evenly spaced (student layer i ↔ teacher layer round(i·L_t / L_s)); a stack "
        "given as {} is not distilled", factory=dict)
    hidden_metric: str = _doc("`hidden`: distance between projected student and teacher states: mse (mean "
                              "squared error per feature) or cosine (1 − cosine per position)", "mse",
                              one_of("mse", "cosine"))
    seqkd_weighting: str = _doc("`seqkd`: none (every best beam weighs 1) or prob (each weighs its per-token "
                                "teacher probability exp(log p(beam) / length), so beams the teacher is unsure "
                                "of pull less)", "none", one_of("none", "prob"))
    semantic_reference: str = _doc("what `semantic` scores samples against: gold (the reference assertion), "
                                   "teacher (the teacher's best beam, from `trident teacher --beams`) or both "
                                   "(the mean of the two scores)", "gold", one_of("gold", "teacher", "both"))
    onpolicy_lambda: float = _doc("`gkd`: probability that a micro-batch's targets are sequences sampled from the "
                                  "student (on-policy) instead of the gold assertion", 0.5, between(0, 1))
    plugins: list[str] = _doc("your own modules (import names or .py paths) imported before the components are "
                              "resolved, so the components they register can be named in loss.components",
                              factory=list)


@dataclass
class TeacherConfig:
    source: str = _doc("where distillation gets the teacher's distribution: auto (the teacher-logit cache when one "
                       "built for this teacher, tokenizer, data and encoding exists, else the teacher online), cache "
                       "(build that cache first when it is missing; the teacher is never loaded for training), "
                       "online (the teacher runs in every step)", "auto", one_of("auto", "cache", "online"))
    top_k: int = _doc("teacher tokens per target position the cache keeps; the rest of the teacher's mass is one tail "
                      "bucket (see losses/token.py)", 64, COUNT)
    cache: str = _doc("a cache folder to use, checked against this run and refused when built for another teacher, "
                      "tokenizer, data or encoding (empty = the one named by its key under "
                      "<runs_dir>/.cache/teacher-logits)", "")
    beams: int = _doc("N-best beams per training record that `trident teacher --beams` writes (beam search with "
                      "N beams) and `seqkd` / loss.semantic_reference read; built on first use when missing", 4, COUNT)


@dataclass
class TrainConfig:
    epochs: float = _doc("training epochs", 3.0, POSITIVE)
    max_steps: int = _doc("stop after this many optimizer steps (-1 = use epochs)", -1, at_least(1, -1))
    batch_size: int = _doc("per-device micro-batch size", 16, COUNT)
    grad_accum: int = _doc("micro-batches per optimizer step", 1, COUNT)
    lr: float = _doc("peak learning rate (AdamW)", 5e-4, POSITIVE)
    weight_decay: float = _doc("AdamW weight decay", 0.01, NON_NEGATIVE)
    warmup_ratio: float = _doc("share of steps spent warming the learning rate up (then linear decay)", 0.05, between(0, 1))
    max_grad_norm: float = _doc("gradient clipping norm", 1.0, POSITIVE)
    precision: str = _doc("fp32, bf16 or fp16 (the last two on GPU)", "fp32", one_of("fp32", "bf16", "fp16"))
    save_steps: int = _doc("checkpoint every N optimizer steps (0 = at each epoch end)", 0, NON_NEGATIVE)
    save_total_limit: int = _doc("checkpoints kept", 2, COUNT)
    eval_every_epoch: bool = _doc("generate on the validation split after every epoch (eval_metrics.csv)", True)
    resume: bool = _doc("resume from the run's last checkpoint if there is one", False)
    grad_norm_every: int = _doc("every N optimizer steps, log each weighted component's gradient norm (0 = never); with semantic/pans/ast active, N is rounded up to a multiple of loss.seq_reward_every so their norms are logged too", 25, NON_NEGATIVE)
    max_nonfinite_steps: int = _doc("stop after this many optimizer steps in a row skipped for a non-finite loss or gradient", 10, COUNT)


@dataclass
class EvalConfig:
    num_beams: int = _doc("1 = greedy decoding; >1 = beam search", 1, COUNT)
    batch_size: int = _doc("generation batch size", 32, COUNT)
    max_new_tokens: int = _doc("longest generated target", 64, COUNT)
    execute: bool = _doc("compile and run a run's final validation predictions (records with an `executable` field, "
                         "as the synthetic corpus writes): compile_rate, pass_rate and mutation_score join "
                         "summary.json's val_metrics, the trials table and the before/after report", False)
    speed: bool = _doc("measure the inference figures (parameters, bytes on disk, peak memory, p50/p95 latency "
                       "at batch 1, records/s and tokens/s at `batch_size`) in a fresh process after generating: "
                       "metrics.json's and summary.json's `inference`", True)
    speed_records: int = _doc("the inference figures time the split's first this many records (fewer when the "
                              "split is smaller)", 32, COUNT)
    speed_warmup: int = _doc("untimed generations before the inference figures are timed", 4, NON_NEGATIVE)


@dataclass
class TrackingConfig:
    wandb: str = _doc("Weights & Biases mode: offline (no account needed), online, disabled", "offline",
                      one_of("offline", "online", "disabled"))
    wandb_project: str = _doc("W&B project", "trident")
    wandb_group: str = _doc("W&B group (sweeps group their trials)", "")
    sweep: str = _doc("the sweep this run is a trial of (set by `trident sweep`)", "")
    trial: int = _doc("its Optuna trial number (set by `trident sweep`; -1 = not a trial)", -1, at_least(-1))
    tensorboard: bool = _doc("write TensorBoard event files under <run>/tb", True)
    progress: bool = _doc("progress bars", True)


@dataclass
class RunConfig:
    name: str = _doc("run name: outputs go to <runs_dir>/<name>", "run")
    runs_dir: str = _doc("folder holding run directories", "runs")
    seed: int = _doc("seed for data order, init and sampling", 42, between(0, 2**32 - 1))
    teacher_seed: int | None = _doc("seed of the teacher stage alone (its init and data order); empty = `seed`. "
                                    "A sweep over the student's seed sets it, so every trial shares one teacher",
                                    None, between(0, 2**32 - 1))
    data: DataConfig = _doc("data", factory=DataConfig)
    model: ModelConfig = _doc("models", factory=ModelConfig)
    loss: LossConfig = _doc("distillation loss", factory=LossConfig)
    train: TrainConfig = _doc("student (distillation) training", factory=TrainConfig)
    teacher_train: TrainConfig = _doc("teacher fine-tuning (trident teacher)", factory=TrainConfig)
    teacher: TeacherConfig = _doc("the teacher's distribution during distillation: cached top-k or online",
                                  factory=TeacherConfig)
    eval: EvalConfig = _doc("evaluation", factory=EvalConfig)
    tracking: TrackingConfig = _doc("tracking", factory=TrackingConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _kind(hint: Any) -> str:
    """How an error message names what a type accepts."""
    if typing.get_origin(hint) is Literal:
        return " or ".join(str(a) for a in typing.get_args(hint))
    return {float: "a number", int: "an integer", bool: "true/false", str: "text"}.get(hint, getattr(hint, "__name__", str(hint)))


def _coerce_union(value: Any, args: tuple, where: str) -> Any:
    if value is None or (isinstance(value, str) and value.lower() in ("", "none", "null")):
        if type(None) in args:
            return None
    inner = [a for a in args if a is not type(None)]
    if len(inner) == 1:
        return _coerce(value, inner[0], where)
    for member in inner:
        try:
            return _coerce(value, member, where)
        except ConfigError:
            continue
    raise ConfigError(f"{where}: expected {' or '.join(_kind(a) for a in inner)}, got {value!r}")


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
    if origin is list:  # a YAML list, or on the command line `a,b`
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if value is None:
            value = []
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, args, where)
    if origin is Literal:
        if value in args and isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected {_kind(hint)}, got {value!r}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if hint in (int, float):
        if isinstance(value, bool):  # YAML's `true` is not the number 1 (max_steps=true is not "1 step")
            raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}")
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
    # YAML parsing gives numbers, booleans, null and {mappings} their types; the dataclass hints
    # decide the rest. Text YAML cannot parse (`a: [b`) stays text for the hint to judge.
    try:
        node[parts[-1]] = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        node[parts[-1]] = raw


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _with_default_mappings(cls: type, tree: dict) -> dict:
    """`tree` with every mapping-valued field it does not set written out at its default.

    Overrides merge into what they override; for a mapping field with a default
    (loss.components) that default must be in the tree first, or `--loss.components.focal.start=0.7`
    would replace the default list with focal alone. A mapping the config file sets itself is
    kept whole: a YAML `loss.components` is the user's full list."""
    out = dict(tree)
    hints = _hints(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            if isinstance(out.get(f.name, {}), dict):
                out[f.name] = _with_default_mappings(hint, out.get(f.name, {}))
        elif typing.get_origin(hint) is dict and f.name not in out:
            out[f.name] = to_dict(getattr(defaults, f.name))
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


def _read_yaml(path: Path) -> dict:
    if not path.exists():
        near = config_file_near(path)
        suggestion = f"; did you mean {near}?" if near else ""
        raise ConfigError(f"config file {path} does not exist{suggestion}")
    if not path.is_file():
        raise ConfigError(f"config file {path} is a folder, not a file")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML ({problem})") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return loaded


CONFIG_DIR = Path("experiments")  # where the shipped run configs live, relative to the repository root


def config_file_near(path: Path) -> Path | None:
    """The existing config file a missing `path` most likely means: the same name with .yaml,
    or in experiments/ (`--config legacy` → experiments/legacy.yaml), else the closest name there."""
    name = path.name if path.suffix in (".yaml", ".yml") else path.name + ".yaml"
    for candidate in (path.with_name(name), CONFIG_DIR / path.name, CONFIG_DIR / name):
        if candidate != path and candidate.is_file():
            return candidate
    known = {p.stem: p for folder in {path.parent, CONFIG_DIR} if folder.is_dir()
             for p in sorted(folder.glob("*.y*ml"))}
    close = difflib.get_close_matches(Path(name).stem, list(known), n=1)  # stems: ".yaml" alone looks alike
    return known[close[0]] if close else None


def load_config(path: str | Path | None = None, overrides: list[str] | dict | None = None,
                check: bool = True) -> RunConfig:
    """defaults ← YAML ← overrides. Overrides merge key by key into what the defaults and the
    YAML resolved (a mapping value merges into the mapping it overrides). `check=False` leaves
    out `validate` (types are still checked): it imports the losses, hence torch, which a
    command that only needs the model names, to check them first, need not wait for."""
    tree = _with_default_mappings(RunConfig, _read_yaml(Path(path)) if path else {})
    if overrides:
        extra = parse_overrides(overrides) if isinstance(overrides, list) else overrides
        tree = _merge(tree, extra)
    cfg = _build(RunConfig, tree, "")
    if check:
        validate(cfg)
    return cfg


def split_config_args(argv: list[str]) -> tuple[str | None, list[str]]:
    """`--config FILE`/`--config=FILE` and the `--key=value` overrides of a run's argv."""
    config, rest, it = None, [], iter(argv)
    for arg in it:
        if arg == "--config":
            config = next(it, None)
            if config is None:
                raise ConfigError("--config needs a file")
        elif arg.startswith("--config="):
            config = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return config, rest


def load_run_config(argv: list[str], settings: dict | None = None, check: bool = True) -> RunConfig:
    """The resolved config of a run's command line (`--config FILE --key=value …`, the form the
    CLI, W&B agents and the Optuna engine all use), with `settings` (a nested mapping, taken as
    typed values, never re-parsed) applied last."""
    path, overrides = split_config_args(list(argv))
    return load_config(path, _merge(parse_overrides(overrides), settings or {}), check)


def _check_allowed(obj: Any, prefix: str) -> None:
    """Every field's `allowed` range or choices, recursing into sections and mappings of sections."""
    for f in dataclasses.fields(obj):
        key, value = f"{prefix}{f.name}", getattr(obj, f.name)
        _check_inside(key, value)
        allowed = f.metadata.get("allowed")
        if allowed is not None and not allowed.admits(value):
            raise ConfigError(f"{key}: expected {allowed}, got {value!r}")


def _check_inside(key: str, value: Any) -> None:
    """The allowed ranges inside `value`: a section, or a mapping of sections (loss.components)."""
    if dataclasses.is_dataclass(value):
        _check_allowed(value, key + ".")
    elif isinstance(value, dict):
        for name, item in value.items():
            if dataclasses.is_dataclass(item):
                _check_allowed(item, f"{key}.{name}.")


def validate(cfg: RunConfig) -> None:
    from trident.losses.catalog import online_teacher_problem, resolve  # late: losses import torch
    from trident.schedules import SCHEDULES

    resolve(cfg.loss.components, cfg.loss.plugins)  # imports the plugins, so their names are known
    problem = online_teacher_problem(cfg)
    if problem:
        raise ConfigError(problem)
    unknown = sorted(set(cfg.loss.hidden_layers) - {"encoder", "decoder"})
    if unknown:
        raise ConfigError(f"loss.hidden_layers: unknown stack(s) {', '.join(unknown)}; known: encoder, decoder")
    for name, comp in cfg.loss.components.items():
        if comp.schedule not in SCHEDULES:
            raise ConfigError(f"loss.components.{name}.schedule: unknown schedule {comp.schedule!r}; known: {', '.join(SCHEDULES)}")
    if cfg.loss.temperature_schedule not in SCHEDULES:
        raise ConfigError(f"loss.temperature_schedule: unknown schedule {cfg.loss.temperature_schedule!r}")
    _check_allowed(cfg, "")
    if not 0 < cfg.loss.jsd_beta < 1:  # its own message: it says why the ends are refused
        from trident.losses.token import jsd_beta_error  # late: losses import torch

        raise ConfigError(jsd_beta_error(cfg.loss.jsd_beta))


def _known_keys(cls: type, prefix: str = "") -> list[str]:
    """Every dotted key of `cls`, sections included; a mapping of sections lists its default entries'."""
    keys, hints, defaults = [], _hints(cls), cls()
    for f in dataclasses.fields(cls):
        key, hint = f"{prefix}{f.name}", hints[f.name]
        keys.append(key)
        if dataclasses.is_dataclass(hint):
            keys += _known_keys(hint, key + ".")
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
            for name in getattr(defaults, f.name):
                keys += _known_keys(typing.get_args(hint)[1], f"{key}.{name}.")
    return keys


def key_type(key: str) -> tuple[Any, Allowed | None]:
    """The type and the allowed values of a dotted config key (through sections and mappings);
    a ConfigError naming the nearest known key for one that does not exist."""
    hint: Any = RunConfig
    allowed = None
    parts = key.split(".")
    for i, part in enumerate(parts):
        if dataclasses.is_dataclass(hint):
            fields = {f.name: f for f in dataclasses.fields(hint)}
            if part not in fields:
                close = difflib.get_close_matches(key, _known_keys(RunConfig), n=1)
                if not close:  # a key given without its section: `lr` for train.lr
                    close = [k for k in _known_keys(RunConfig) if k.rsplit(".", 1)[-1] == parts[-1]][:1]
                raise ConfigError(f"no config key {key}" + (f"; did you mean {close[0]}?" if close
                                                             else " (trident train --help lists them)"))
            hint, allowed = _hints(hint)[part], fields[part].metadata.get("allowed")
        elif typing.get_origin(hint) is dict:
            hint, allowed = typing.get_args(hint)[1], None
        else:
            raise ConfigError(f"no config key {key}: {'.'.join(parts[:i])} is a value, not a section")
    return hint, allowed


def number_kind(key: str) -> str | None:
    """"float" when the key takes real numbers, "int" when only integers, None when no numbers."""
    hint = key_type(key)[0]
    members = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    return "float" if float in members else "int" if int in members else None


def type_text(key: str) -> str:
    """What the key takes, in words (a number, an integer, text, true/false, …)."""
    hint = key_type(key)[0]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_kind(a) for a in typing.get_args(hint) if a is not type(None))
    return _kind(hint)


def takes_list(key: str) -> bool:
    return typing.get_origin(key_type(key)[0]) is list


def check_value(key: str, value: Any) -> Any:
    """`value` as `key` would take it (its type, its allowed values), or a ConfigError naming the key."""
    hint, allowed = key_type(key)
    coerced = _coerce(value, hint, key)
    _check_inside(key, coerced)
    if allowed is not None and not allowed.admits(coerced):
        raise ConfigError(f"{key}: expected {allowed}, got {coerced!r}")
    return coerced


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
            allowed = f.metadata.get("allowed")
            doc = f.metadata.get("doc", "") + (f" [{allowed}]" if allowed is not None else "")
            rows.append((key, json.dumps(to_dict(value)), doc))
    return rows
