"""A sweep file's parameters against the run config's schema (trident.config), checked when the
file loads, before any study exists: each name is a config key (or `config`, the run config
file), each spec key is one W&B knows, and each kind draws values the key takes (its type and
allowed values). A trial then cannot fail on a parameter the file got wrong."""
from __future__ import annotations

import difflib
from typing import Any

from trident.config import check_value, key_type, number_kind, takes_list, type_text
from trident.errors import ConfigError
from trident.sweeps import distributions

CONFIG_PARAMETER = "config"  # `--config=FILE`: the run config each trial starts from


def _show(value: Any) -> str:
    return f"[{', '.join(map(str, value))}]" if isinstance(value, list) else str(value)


def _value_problem(name: str, what: str, value: Any) -> str | None:
    try:
        check_value(name, value)
    except ConfigError as exc:
        return f"parameter {name}: {what}: {str(exc).removeprefix(name + ': ')}"
    return None


def parameter_problems(name: str, p: dict) -> list[str]:
    """What is wrong with one parameter of a sweep file (empty when nothing is), one line each."""
    unknown = sorted(set(p) - distributions.spec_keys())
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(distributions.spec_keys()), n=1)
        return [f"parameter {name}: unknown key {unknown[0]}" + (f"; did you mean {close[0]}?" if close else
                f"; known: {', '.join(sorted(distributions.spec_keys()))}")]
    try:
        distributions.check(name, p)
    except ValueError as exc:
        return [str(exc)]
    kind = distributions.kind_of(name, p)
    if name == CONFIG_PARAMETER:
        return [] if kind in distributions.CHOICE_KINDS else [
            f"parameter {name}: give the config files as values (a {kind} distribution draws numbers)"]
    try:
        key_type(name)
    except ConfigError as exc:
        return [f"parameter {name}: " + str(exc).replace(f"no config key {name}", "no such config key", 1)]
    if kind == "constant":
        value = p["value"]
        if isinstance(value, list) and not takes_list(name):
            return [f"parameter {name}: value: {_show(value)} is one value, a list, and {name} takes "
                    f"{type_text(name)}; did you mean values: {_show(value)}?"]
        return [problem for problem in [_value_problem(name, "value", value)] if problem]
    if "values" in p:  # categorical, with or without probabilities
        if not isinstance(p["values"], list) or not p["values"]:
            return [f"parameter {name}: values must be a non-empty list, got {p['values']!r}"]
        return [problem for problem in (_value_problem(name, "values", v) for v in p["values"]) if problem][:1]
    numbers = number_kind(name)
    if numbers is None:
        return [f"parameter {name}: distribution {kind} draws numbers, but {name} takes {type_text(name)}; "
                "give its choices as values"]
    if numbers == "int" and not distributions.draws_integers(kind, p):
        return [f"parameter {name}: distribution {kind} draws real numbers, but {name} takes an integer; use "
                "int_uniform, or a q_ distribution with a whole q"]
    if kind in distributions.VALUE_BOUNDS:
        return [problem for problem in (_value_problem(name, bound, p[bound]) for bound in ("min", "max"))
                if problem][:1]
    return []
