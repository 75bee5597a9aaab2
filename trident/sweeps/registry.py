"""Sweep engines, and the Optuna samplers and pruners that a sweep file's `method` and
`early_terminate` select: one table each, in this one place.

An entry names its builder as "module:function", imported only when used, so listing the
choices (`--help`, validating a sweep file) costs nothing. Adding one is one function and
one line below (or a `register_*` call from your own code).

  engine   fn(spec, options: EngineOptions) -> int (exit status)
  sampler  fn(spec, seed: int | None) -> optuna.samplers.BaseSampler, for `method: <name>`
  pruner   fn(spec) -> optuna.pruners.BasePruner, for `early_terminate: {type: <name>}` or `--pruner <name>`
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Optional, Union


@dataclass(frozen=True)
class EngineOptions:
    """The `trident sweep` options an engine may use (each engine reads its own)."""

    storage: Optional[str] = None  # Optuna storage URL
    worker: bool = False  # attach to the study as one more worker (no final table)
    pruner: Optional[str] = None  # a PRUNERS name overriding the file's early_terminate
    heartbeat_interval: int = 10
    grace_period: int = 30
    seed: Optional[int] = None
    project: str = "trident"  # W&B
    entity: Optional[str] = None
    count: Optional[int] = None


@dataclass(frozen=True)
class Entry:
    name: str
    target: Union[str, Callable]  # "module:function", or the function itself
    doc: str

    def load(self) -> Callable:
        if callable(self.target):
            return self.target
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


def _table(*entries: Entry) -> dict[str, Entry]:
    return {e.name: e for e in entries}


ENGINES = _table(
    Entry("optuna", "trident.sweeps.optuna_engine:run", "Optuna study (embedded SQLite by default, PostgreSQL for many workers)"),
    Entry("wandb", "trident.sweeps.wandb_engine:run", "`wandb sweep` + `wandb agent` (needs an account and the network)"),
)
SAMPLERS = _table(
    Entry("grid", "trident.sweeps.samplers:grid", "every point of the grid once (GridSampler)"),
    Entry("random", "trident.sweeps.samplers:random", "independent draws (RandomSampler)"),
    Entry("bayes", "trident.sweeps.samplers:bayes", "tree-structured Parzen estimator (TPESampler)"),
)
PRUNERS = _table(
    Entry("hyperband", "trident.sweeps.samplers:hyperband", "HyperbandPruner from early_terminate's min_iter, max_iter, eta"),
    Entry("median", "trident.sweeps.samplers:median", "MedianPruner: stop a trial below the median of earlier ones"),
    Entry("none", "trident.sweeps.samplers:no_pruning", "never stop a trial early"),
)


def _register(table: dict[str, Entry], kind: str, name: str, target, doc: str) -> Entry:
    if name in table:
        raise ValueError(f"{kind} {name!r} registered twice")
    table[name] = Entry(name, target, doc)
    return table[name]


def register_engine(name: str, target, doc: str) -> Entry:
    return _register(ENGINES, "sweep engine", name, target, doc)


def register_sampler(name: str, target, doc: str) -> Entry:
    return _register(SAMPLERS, "sampler", name, target, doc)


def register_pruner(name: str, target, doc: str) -> Entry:
    return _register(PRUNERS, "pruner", name, target, doc)
