"""The parameter kinds of a W&B sweep file, with W&B's meaning, for the Optuna engine.

One sweep file must mean the same to both engines. Each kind registers how Optuna draws it:

- kinds Optuna has exactly (`uniform`, `int_uniform`, `log_uniform_values`, and `log_uniform`,
  whose bounds W&B reads as natural-log exponents) use Optuna's own distribution, so its
  samplers model them directly;
- every other kind is drawn as its quantile u ∈ [0, 1] (a uniform Optuna parameter under the
  parameter's name) and mapped through the kind's inverse CDF, written here from W&B's
  definitions: a random sampler then draws exactly W&B's distribution, and TPE searches the
  quantile, a monotone reparametrisation of the value.

Quantised kinds round like W&B (round(x / q)·q, an int when q is an int). The value a trial
uses is recorded in its `values` user attribute. A kind not listed here is refused by name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import optuna
from scipy import stats


@dataclass(frozen=True)
class Kind:
    name: str
    needs: tuple[str, ...]  # keys the parameter must have (after defaults)
    defaults: dict[str, Any]
    native: Callable[[optuna.Trial, str, dict], Any] | None = None  # Optuna draws the value itself
    ppf: Callable[[float, dict], Any] | None = None  # value at quantile u


KINDS: dict[str, Kind] = {}


def register_kind(name: str, needs: tuple[str, ...] = ("min", "max"), defaults: dict | None = None, *,
                  native=None, ppf=None) -> None:
    KINDS[name] = Kind(name, needs, defaults or {}, native, ppf)


def _quantise(x: float, q: float | int) -> float | int:
    v = round(x / q) * q
    return int(v) if isinstance(q, int) else float(v)


def _q(ppf: Callable[[float, dict], float]) -> Callable[[float, dict], Any]:
    return lambda u, p: _quantise(ppf(u, p), p["q"])


def _uniform(u: float, p: dict) -> float:
    return p["min"] + u * (p["max"] - p["min"])


def _exp_uniform(u: float, lo: float, hi: float) -> float:
    return math.exp(lo + u * (hi - lo))


def _categorical(u: float, p: dict) -> Any:
    """values[i] for the first i whose cumulative probability exceeds u."""
    cumulative = np.cumsum(p["probabilities"])
    return p["values"][min(int(np.searchsorted(cumulative, u, side="right")), len(p["values"]) - 1)]


register_kind("uniform", native=lambda t, n, p: t.suggest_float(n, float(p["min"]), float(p["max"])))
register_kind("int_uniform", native=lambda t, n, p: t.suggest_int(n, int(p["min"]), int(p["max"])))
register_kind("log_uniform_values",
              native=lambda t, n, p: t.suggest_float(n, float(p["min"]), float(p["max"]), log=True))
register_kind("log_uniform",  # bounds are exponents: the value lies in [e^min, e^max]
              native=lambda t, n, p: t.suggest_float(n, math.exp(p["min"]), math.exp(p["max"]), log=True))
register_kind("categorical_w_probabilities", needs=("values", "probabilities"), ppf=_categorical)
register_kind("q_uniform", defaults={"q": 1.0}, ppf=_q(_uniform))
register_kind("q_log_uniform", defaults={"q": 1.0}, ppf=_q(lambda u, p: _exp_uniform(u, p["min"], p["max"])))
register_kind("q_log_uniform_values", defaults={"q": 1.0},
              ppf=_q(lambda u, p: _exp_uniform(u, math.log(p["min"]), math.log(p["max"]))))
# inverse log-uniform: 1/x is log-uniform; with exponents, x = e^(−y), y uniform in [min, max]
register_kind("inv_log_uniform", ppf=lambda u, p: math.exp(-(p["min"] + (1 - u) * (p["max"] - p["min"]))))
register_kind("inv_log_uniform_values",
              ppf=lambda u, p: math.exp(-(-math.log(p["max"]) + (1 - u) * (math.log(p["max"]) - math.log(p["min"])))))
register_kind("normal", needs=(), defaults={"mu": 0.0, "sigma": 1.0},
              ppf=lambda u, p: float(stats.norm.ppf(u, loc=p["mu"], scale=p["sigma"])))
register_kind("q_normal", needs=(), defaults={"mu": 0.0, "sigma": 1.0, "q": 1.0},
              ppf=_q(lambda u, p: float(stats.norm.ppf(u, loc=p["mu"], scale=p["sigma"]))))
register_kind("log_normal", needs=(), defaults={"mu": 0.0, "sigma": 1.0},  # log(x) ~ N(mu, sigma)
              ppf=lambda u, p: math.exp(float(stats.norm.ppf(u, loc=p["mu"], scale=p["sigma"]))))
register_kind("q_log_normal", needs=(), defaults={"mu": 0.0, "sigma": 1.0, "q": 1.0},
              ppf=_q(lambda u, p: math.exp(float(stats.norm.ppf(u, loc=p["mu"], scale=p["sigma"])))))
register_kind("beta", needs=(), defaults={"a": 1.0, "b": 1.0},
              ppf=lambda u, p: float(stats.beta.ppf(u, p["a"], p["b"])))
register_kind("q_beta", needs=(), defaults={"a": 1.0, "b": 1.0, "q": 1.0},
              ppf=_q(lambda u, p: float(stats.beta.ppf(u, p["a"], p["b"]))))


# Kinds whose min and max are values the parameter takes (the others' are exponents, or absent).
VALUE_BOUNDS = ("uniform", "int_uniform", "log_uniform_values", "q_uniform", "q_log_uniform_values",
                "inv_log_uniform_values")
CHOICE_KINDS = ("categorical", "constant")  # `values` / `value`: drawn as given


def spec_keys() -> set[str]:
    """Every key a parameter spec may have, with W&B's meaning."""
    keys = {"value", "values", "distribution", "probabilities"}
    for kind in KINDS.values():
        keys |= set(kind.needs) | set(kind.defaults)
    return keys


def draws_integers(kind: str, p: dict) -> bool:
    """Whether every value the kind draws is a whole number (so an integer key can take it)."""
    if kind == "int_uniform":
        return True
    q = {**KINDS[kind].defaults, **p}.get("q") if kind in KINDS else None
    return isinstance(q, (int, float)) and not isinstance(q, bool) and float(q).is_integer()


def kind_of(name: str, p: dict) -> str:
    """The kind a parameter spec names, inferred as W&B does when `distribution` is left out."""
    if "distribution" in p:
        kind = p["distribution"]
        return "categorical_w_probabilities" if kind == "categorical" and "probabilities" in p else kind
    if "values" in p:
        return "categorical_w_probabilities" if "probabilities" in p else "categorical"
    if "value" in p:
        return "constant"
    if "min" in p and "max" in p:
        return "int_uniform" if isinstance(p["min"], int) and isinstance(p["max"], int) else "uniform"
    raise ValueError(f"parameter {name!r}: give value, values, or a distribution with its bounds")


def check(name: str, p: dict) -> None:
    """Refuse an unknown kind or a missing key, naming the parameter."""
    kind = kind_of(name, p)
    if kind in CHOICE_KINDS:
        return
    if kind not in KINDS:
        raise ValueError(f"parameter {name!r}: distribution {kind!r} is not supported; "
                         f"supported: categorical, constant, {', '.join(sorted(KINDS))}")
    missing = [k for k in KINDS[kind].needs if k not in p]
    if missing:
        raise ValueError(f"parameter {name!r}: distribution {kind!r} needs {', '.join(missing)}")


def draw(trial: optuna.Trial, name: str, p: dict) -> Any:
    """The value of a non-categorical parameter for this trial."""
    kind = KINDS[kind_of(name, p)]
    filled = {**kind.defaults, **p}
    if kind.native is not None:
        return kind.native(trial, name, filled)
    u = trial.suggest_float(name, 0.0, 1.0)
    return value_at(kind.name, min(max(u, 1e-12), 1 - 1e-12), filled)  # unbounded kinds are infinite at 0 and 1


def value_at(kind: str, u: float, p: dict) -> Any:
    """The value at quantile u of a quantile-drawn kind (defaults filled in)."""
    k = KINDS[kind]
    return k.ppf(u, {**k.defaults, **p})
