"""Every W&B parameter kind means on the Optuna engine what it means to W&B: checked against the
`sweeps` package's own definitions (HyperParameter.ppf, the inverse CDF W&B samples through)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import optuna
import pytest
from scipy import stats

from trident.sweeps import distributions as D
from trident.sweeps import optuna_engine as eng
from trident.errors import SweepError
from trident.sweeps.spec import SweepSpec

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from sweeps.params import HyperParameter  # W&B's own definitions

CASES = {
    "uniform": {"min": -2.0, "max": 3.0},
    "int_uniform": {"min": 2, "max": 9},
    "q_uniform": {"min": 0.0, "max": 1.0, "q": 0.25},
    "log_uniform": {"min": -9.0, "max": -2.0},
    "log_uniform_values": {"min": 1e-4, "max": 1e-1},
    "q_log_uniform": {"min": 0.0, "max": 5.0, "q": 4},
    "q_log_uniform_values": {"min": 1.0, "max": 200.0, "q": 8},
    "inv_log_uniform": {"min": 1.0, "max": 4.0},
    "inv_log_uniform_values": {"min": 0.01, "max": 0.5},
    "normal": {"mu": 1.5, "sigma": 0.5},
    "q_normal": {"mu": 10.0, "sigma": 3.0, "q": 2},
    "log_normal": {"mu": -1.0, "sigma": 0.7},
    "q_log_normal": {"mu": 2.0, "sigma": 0.5, "q": 1},
    "beta": {"a": 2.0, "b": 5.0},
    "q_beta": {"a": 0.5, "b": 0.5, "q": 0.1},
    "categorical_w_probabilities": {"values": ["a", "b", "c"], "probabilities": [0.2, 0.5, 0.3]},
}
N = 3000


def _theirs(kind: str, p: dict, u: np.ndarray) -> np.ndarray:
    if kind == "categorical_w_probabilities":
        # one quantile at a time, as W&B's sample() calls it: its vectorised branch for this kind
        # (argmin over cdf >= u) returns the first value for most u, unlike its scalar branch
        hp = HyperParameter("x", dict(p))
        return np.asarray([hp.ppf(float(x)) for x in u], dtype=object)
    return np.asarray(HyperParameter("x", {"distribution": kind, **p}).ppf(u), dtype=object)


def _ours(kind: str, p: dict, seed: int = 0) -> list:
    """N values drawn by the engine itself, as a random-search trial draws them."""
    spec = SweepSpec(path=None, name="d", method="random", metric="eval/f1", goal="maximize",
                     parameters={"x": {"distribution": kind, **p} if kind != "categorical_w_probabilities" else p},
                     command=[], program="trident", early_terminate=None, run_cap=None, raw={})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return [eng.suggest(study.ask(), spec)["x"] for _ in range(N)]


def test_every_kind_of_the_sweeps_package_is_covered():
    named = {"int_uniform", "uniform", "q_uniform", "log_uniform", "log_uniform_values", "q_log_uniform",
             "q_log_uniform_values", "inv_log_uniform", "inv_log_uniform_values", "normal", "q_normal",
             "log_normal", "q_log_normal", "beta", "q_beta"}
    assert named | {"categorical_w_probabilities"} == set(D.KINDS) == set(CASES)


@pytest.mark.parametrize("kind", [k for k in CASES if D.KINDS[k].ppf is not None])
def test_quantile_kinds_have_w_and_b_s_inverse_cdf(kind):
    p = CASES[kind]
    u = np.linspace(0.001, 0.999, 199)
    theirs = _theirs(kind, p, u)
    ours = [D.value_at(kind, float(x), p) for x in u]
    if kind == "categorical_w_probabilities":
        assert ours == list(theirs)
    else:
        assert np.allclose(np.asarray(ours, float), np.asarray(theirs, float), rtol=1e-9, atol=1e-12)
        assert [type(v) for v in ours] == [int if isinstance(p.get("q"), int) else float] * len(ours)


@pytest.mark.parametrize("kind", list(CASES))
def test_samples_match_w_and_b_s_in_support_and_quantiles(kind):
    p = CASES[kind]
    ours = _ours(kind, p)
    theirs = _theirs(kind, p, np.random.default_rng(1).uniform(size=N))
    discrete = kind in ("int_uniform", "categorical_w_probabilities") or "q" in p
    if discrete:
        values = sorted(set(theirs.tolist()) | set(ours), key=str)
        if kind in ("q_normal", "q_log_normal"):  # unbounded: the far tail of one sample is not in the other's
            assert all(v == round(v / p["q"]) * p["q"] and type(v) is type(p["q"]) for v in ours)
        else:  # bounded: every value W&B could give, and nothing else
            assert set(ours) <= set(_theirs(kind, p, np.linspace(0.0, 1.0, 20001)).tolist())
        ours_f = np.array([ours.count(v) for v in values]) / N
        theirs_f = np.array([theirs.tolist().count(v) for v in values]) / N
        # two frequencies of N = 3000 draws each: sd of a difference ≤ sqrt(2·0.25/3000) ≈ 0.013
        assert np.max(np.abs(ours_f - theirs_f)) < 0.05, (values, ours_f, theirs_f)
    else:
        ours_a, theirs_a = np.asarray(ours, float), np.asarray(theirs, float)
        # two samples of one distribution: a KS p-value below 1e-4 would be a 1-in-10,000 accident
        assert stats.ks_2samp(ours_a, theirs_a).pvalue > 1e-4
        lo, hi = (float(v) for v in _theirs(kind, p, np.array([0.0, 1.0])))
        assert lo - 1e-12 <= ours_a.min() and ours_a.max() <= hi + 1e-12


def test_log_uniform_bounds_are_exponents_and_log_uniform_values_are_values():
    study = optuna.create_study()
    t = study.ask()
    v = D.draw(t, "lr", {"distribution": "log_uniform", "min": -9.0, "max": -2.0})
    dist = t.distributions["lr"]
    assert dist.log and dist.low == pytest.approx(math.exp(-9)) and dist.high == pytest.approx(math.exp(-2))
    assert math.exp(-9) <= v <= math.exp(-2)
    t2 = study.ask()
    D.draw(t2, "lr", {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1})
    assert (t2.distributions["lr"].low, t2.distributions["lr"].high) == (1e-4, 1e-1)


def test_an_unknown_or_incomplete_kind_is_refused_by_name(tmp_path):
    from trident.sweeps.spec import load_sweep

    def sweep(param):
        path = tmp_path / "s.yaml"
        path.write_text("name: s\nprogram: trident\nmethod: random\nmetric: {name: eval/f1, goal: maximize}\n"
                        f"parameters: {{loss.temperature: {param}}}\n"
                        "command: ['${env}', '${interpreter}', '-m', 'trident', 'train', '${args}']\n")
        return path

    with pytest.raises(SweepError, match="'loss.temperature'.*'cauchy'.*not supported"):
        load_sweep(sweep("{distribution: cauchy, min: 0, max: 1}"))
    with pytest.raises(SweepError, match="'loss.temperature'.*'q_uniform' needs max"):
        load_sweep(sweep("{distribution: q_uniform, min: 0}"))
    with pytest.raises(SweepError, match=r"s.yaml:\d+:\d+: invalid YAML"):
        load_sweep(sweep("{distribution: [uniform"))
    assert load_sweep(sweep("{distribution: normal}")).parameters["loss.temperature"] == {"distribution": "normal"}
