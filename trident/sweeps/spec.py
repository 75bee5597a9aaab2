"""Sweep files in W&B's sweep-config format, and the commands they run.

A sweep file is what `wandb sweep FILE` takes: `program`/`command`, `method`
(grid/random/bayes), `metric` (`name`, `goal`), `parameters` (`value`, `values`, or
`distribution` with `min`/`max`), `early_terminate`, `run_cap`. `command` passes the
parameters as `--key=value` (W&B's `${args}`), which `trident train` accepts as config
overrides. Both engines build a trial's command the same way W&B's agent does, with W&B's own
helpers, so the command an Optuna trial runs is the command a W&B agent would run.
"""
from __future__ import annotations

import itertools
import warnings
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trident.errors import SweepError
from trident.sweeps.schema import parameter_problems
from trident.sweeps.registry import PRUNERS, SAMPLERS


@dataclass
class SweepSpec:
    path: Path
    name: str
    method: str
    metric: str
    goal: str
    parameters: dict[str, dict]
    command: list[str]
    program: str
    early_terminate: dict | None = None
    run_cap: int | None = None
    raw: dict = field(default_factory=dict)

    @property
    def direction(self) -> str:
        return "maximize" if self.goal == "maximize" else "minimize"

    def grid(self) -> list[dict[str, Any]]:
        """Every grid point, in file order (fixed `value`s included)."""
        names = list(self.parameters)
        choices = [self.parameters[n]["values"] if "values" in self.parameters[n] else [self.parameters[n]["value"]]
                   for n in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*choices)]


def schema_violations(raw: dict) -> list[str]:
    """W&B's own sweep-config checks (the `sweeps` package that `wandb sweep` uses), where installed."""
    try:
        with warnings.catch_warnings():  # its pydantic-v1 style config warns on every import: not the user's concern
            warnings.filterwarnings("ignore", category=UserWarning, module="pydantic")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="sweeps")
            import sweeps
    except ImportError:
        return []
    return list(sweeps.schema_violations_from_proposed_config(raw))


def load_sweep(path: str | Path) -> SweepSpec:
    path = Path(path)
    if not path.exists():
        raise SweepError(f"sweep file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise SweepError(f"{where}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise SweepError(f"{path}: not a readable sweep file ({exc})") from None
    if not isinstance(raw, dict):
        raise SweepError(f"{path}: a sweep file is a mapping")
    problems: list[str] = []
    method = raw.get("method")
    if method not in SAMPLERS:
        problems.append(f"method must be one of {', '.join(SAMPLERS)}, not {method!r}")
    early = raw.get("early_terminate")
    if early is not None and (not isinstance(early, dict) or early.get("type") not in PRUNERS):
        problems.append(f"early_terminate needs a type, one of {', '.join(PRUNERS)}; got {early!r}")
    metric = raw.get("metric") or {}
    if not metric.get("name") or metric.get("goal", "minimize") not in ("minimize", "maximize"):
        problems.append("metric needs a name and a goal (minimize or maximize)")
    params = raw.get("parameters") or {}
    if not params:
        problems.append("parameters is empty")
    for name, p in params.items():
        if not isinstance(p, dict):
            problems.append(f"parameter {name}: give value, values, or a distribution with its bounds")
        else:  # the key, its spec and its values against the run config's schema
            found = parameter_problems(str(name), p)
            if not found and method == "grid" and "values" not in p and "value" not in p:
                found = [f"parameter {name}: a grid needs values"]
            problems += found
    command = raw.get("command")
    if not command or "${args}" not in command:
        problems.append("command must pass the parameters with ${args}")
    elif "trident" not in command or "train" not in command:
        problems.append("command must run `trident train` (e.g. [${env}, ${interpreter}, -m, trident, train, ${args}])")
    # W&B's own checks (its wording is vaguer) catch what trident's do not
    problems = problems or schema_violations(raw)
    if len(problems) == 1:
        raise SweepError(f"{path}: {problems[0]}")
    if problems:
        raise SweepError(f"{path}: not a valid sweep file:\n  - " + "\n  - ".join(problems))
    return SweepSpec(path=path, name=raw.get("name") or path.stem, method=method, metric=metric["name"],
                     goal=metric.get("goal", "minimize"), parameters=params, command=[str(c) for c in command],
                     program=str(raw.get("program", "trident")), early_terminate=raw.get("early_terminate"),
                     run_cap=raw.get("run_cap"), raw=raw)


def point_values(p: dict) -> list:
    """A `value`/`values` parameter's points, in the file's order."""
    return list(p["values"]) if "values" in p else [p["value"]]


def agent_command(spec: SweepSpec, params: dict[str, Any]) -> list[str]:
    """The command W&B's agent runs for these parameter values (its macro expansion, its helpers)."""
    from wandb.sdk.launch.sweeps.utils import create_sweep_command, create_sweep_command_args

    variables: dict[str, list[str]] = create_sweep_command_args({"args": {k: {"value": v} for k, v in params.items()}})
    variables.update(interpreter=["python"], program=[spec.program], env=["/usr/bin/env"])
    out: list[str] = []
    for chunk in create_sweep_command(list(spec.command)):
        chunk = str(chunk)
        if chunk.startswith("${") and chunk.endswith("}"):
            out += variables.get(chunk[2:-1]) or []
        else:
            out.append(chunk)
    return out


def train_argv(spec: SweepSpec, params: dict[str, Any]) -> list[str]:
    """The `trident train …` arguments of that command: what an Optuna trial runs in-process."""
    cmd = agent_command(spec, params)
    at = cmd.index("trident")
    if cmd[at + 1] != "train":
        raise SweepError(f"{spec.path}: the command must run `trident train`, found {' '.join(cmd)}")
    return cmd[at + 2:]


# Parameters that can change which models a trial loads: its config file, the model names, and
# the loss components (which decide the sentence encoders a run needs).
MODEL_PARAMETERS = ("config", "model.", "loss.components", "loss.semantic_model", "loss.contrastive_model",
                    "loss.plugins")


def model_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every combination of the choices of MODEL_PARAMETERS (the others keep the command's values):
    between them, the trials load no model these points do not."""
    chosen = {name: point_values(p) for name, p in spec.parameters.items()
              if name.startswith(MODEL_PARAMETERS) and ("values" in p or "value" in p)}
    return [dict(zip(chosen, combo)) for combo in itertools.product(*chosen.values())]


def check_trial_models(spec: SweepSpec) -> None:
    """Resolve every model the trials will load (trident.model_names) and every config file they
    start from, so that a name no trial could load stops the sweep before its study exists."""
    from trident.config import load_run_config
    from trident.errors import ConfigError
    from trident.model_names import encoder_refs, resolve_models, student_refs

    refs = []
    for params in model_points(spec):
        try:
            cfg = load_run_config(train_argv(spec, params))
            refs += student_refs(cfg) + encoder_refs(cfg)
        except ConfigError as exc:
            raise SweepError(f"{spec.path}: {exc}") from None
    try:
        resolve_models(refs)
    except ConfigError as exc:
        raise SweepError(f"{spec.path}: {exc}") from None


def encode_value(value: Any) -> Any:
    """Optuna's grid and categorical values are scalars; a mapping (a start→end schedule) travels as JSON."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def decode_value(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    return value
