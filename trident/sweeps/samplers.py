"""The built-in Optuna samplers and pruners (registered by name in trident.sweeps.registry)."""
from __future__ import annotations

import optuna

from trident.sweeps.spec import SweepSpec, encode_value, point_values


def grid(spec: SweepSpec, seed: int | None) -> optuna.samplers.BaseSampler:
    space = {n: [encode_value(v) for v in point_values(p)] for n, p in spec.parameters.items()}
    return optuna.samplers.GridSampler(space, seed=seed)


def random(spec: SweepSpec, seed: int | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def bayes(spec: SweepSpec, seed: int | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed)


def hyperband(spec: SweepSpec) -> optuna.pruners.BasePruner:
    et = spec.early_terminate or {}
    return optuna.pruners.HyperbandPruner(min_resource=int(et.get("min_iter", 1)),
                                          max_resource=et.get("max_iter", "auto"),
                                          reduction_factor=int(et.get("eta", 3)))


def median(spec: SweepSpec) -> optuna.pruners.BasePruner:
    return optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)


def no_pruning(spec: SweepSpec) -> optuna.pruners.BasePruner:
    return optuna.pruners.NopPruner()
