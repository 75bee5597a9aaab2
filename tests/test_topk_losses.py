"""kl and jsd from a cached top-k teacher against the full-distribution versions, in float64.

The references are written out independently: buckets summed by enumeration, the chain rule of
the KL divergence, and the closed-form gradient of KL(teacher ‖ student) in the student's logits.
"""
import math

import numpy as np
import pytest
import torch

from trident.config import LossConfig
from trident.losses import catalog  # noqa: F401  (registers the built-in components)
from trident.losses.registry import COMPONENTS, LossInputs, TeacherTopK
from trident.losses.token import student_buckets, teacher_buckets
from trident.teacher_cache import round_down_fp16

V, K = 11, 4


def _pair(seed, batch=2, length=3, sharp=3.0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(batch, length, V, generator=g, dtype=torch.float64) * sharp
    s = torch.randn(batch, length, V, generator=g, dtype=torch.float64)
    return t, s


def _topk(teacher_logits, k=K):
    logp = torch.log_softmax(teacher_logits, -1)
    values, ids = logp.topk(k, -1)
    return TeacherTopK(values, ids)


def _value(name, student, labels, cfg, teacher=None, topk=None):
    return COMPONENTS[name].fn(LossInputs(student, labels, teacher, teacher_topk=topk), cfg)


def _bucketed_by_hand(p, ids):
    """A distribution [V] collapsed onto the buckets `ids` + everything else, by enumeration."""
    top = [float(p[i]) for i in ids]
    rest = sum(float(p[j]) for j in range(len(p)) if j not in set(int(i) for i in ids))
    return top + [rest]


def _kl(a, b):
    return sum(x * (math.log(x) - math.log(y)) for x, y in zip(a, b) if x > 0)


def test_kl_at_t1_is_the_kl_of_the_collapsed_distributions():
    t, s = _pair(0)
    labels = torch.zeros(2, 3, dtype=torch.long)
    topk = _topk(t)
    got = _value("kl", s, labels, LossConfig(temperature=1.0), topk=topk).item()
    pt, ps = torch.softmax(t, -1), torch.softmax(s, -1)
    want = np.mean([_kl(_bucketed_by_hand(pt[b, i], topk.ids[b, i]), _bucketed_by_hand(ps[b, i], topk.ids[b, i]))
                    for b in range(2) for i in range(3)])
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_cached_divergences_never_exceed_the_full_ones_at_t1(seed):
    # collapsing outcomes can only lower a divergence (data processing inequality)
    t, s = _pair(seed)
    labels = torch.zeros(2, 3, dtype=torch.long)
    cfg = LossConfig(temperature=1.0, jsd_beta=0.3)
    for name in ("kl", "jsd"):
        full = _value(name, s, labels, cfg, teacher=t).item()
        cached = _value(name, s, labels, cfg, topk=_topk(t)).item()
        assert 0.0 <= cached <= full + 1e-12


def _tail_conditional(p, ids):
    mask = torch.ones(V, dtype=torch.bool)
    mask[ids] = False
    tail = p[mask]
    return tail.sum(), tail / tail.sum()


def test_the_gap_is_the_tail_term_of_the_chain_rule():
    """KL_full = KL_buckets + t_tail · KL(t|tail ‖ s|tail); JSD likewise, with the mixture's tail."""
    t, s = _pair(3, batch=1, length=1)
    labels = torch.zeros(1, 1, dtype=torch.long)
    topk = _topk(t)
    pt, ps = torch.softmax(t[0, 0], -1), torch.softmax(s[0, 0], -1)
    ids = topk.ids[0, 0]
    rt, ct = _tail_conditional(pt, ids)
    rs, cs = _tail_conditional(ps, ids)
    kl_tail = float(rt) * _kl(ct.tolist(), cs.tolist())
    cfg = LossConfig(temperature=1.0, jsd_beta=0.4)
    full = _value("kl", s, labels, cfg, teacher=t).item()
    cached = _value("kl", s, labels, cfg, topk=topk).item()
    assert full == pytest.approx(cached + kl_tail, rel=1e-12)

    beta = 0.4
    pm = beta * pt + (1 - beta) * ps
    rm, cm = _tail_conditional(pm, ids)
    jsd_tail = beta * float(rt) * _kl(ct.tolist(), cm.tolist()) + (1 - beta) * float(rs) * _kl(cs.tolist(), cm.tolist())
    full = _value("jsd", s, labels, cfg, teacher=t).item()
    cached = _value("jsd", s, labels, cfg, topk=topk).item()
    assert full == pytest.approx(cached + jsd_tail, rel=1e-12)


def test_equal_when_the_student_spreads_its_tail_like_the_teacher():
    t, s = _pair(4, batch=1, length=1)
    topk = _topk(t)
    ids = topk.ids[0, 0]
    pt = torch.softmax(t[0, 0], -1)
    ps = torch.softmax(s[0, 0], -1)
    mask = torch.ones(V, dtype=torch.bool)
    mask[ids] = False
    # the student keeps its own top-k and tail mass, with the teacher's shape inside the tail
    shaped = ps.clone()
    shaped[mask] = pt[mask] / pt[mask].sum() * ps[mask].sum()
    student = torch.log(shaped).view(1, 1, V)
    labels = torch.zeros(1, 1, dtype=torch.long)
    cfg = LossConfig(temperature=1.0)
    assert _value("kl", student, labels, cfg, topk=topk).item() == pytest.approx(
        _value("kl", student, labels, cfg, teacher=t).item(), rel=1e-12)


def test_gradient_matches_the_full_one_on_the_top_k_and_is_off_by_at_most_twice_the_tail_mass():
    t, s = _pair(5, batch=1, length=1)
    labels = torch.zeros(1, 1, dtype=torch.long)
    topk = _topk(t)
    cfg = LossConfig(temperature=1.0)
    grads = {}
    for source in ("full", "cache"):
        z = s.clone().requires_grad_(True)
        loss = _value("kl", z, labels, cfg, teacher=t) if source == "full" else _value("kl", z, labels, cfg, topk=topk)
        loss.backward()
        grads[source] = z.grad[0, 0]
    pt, ps = torch.softmax(t[0, 0], -1), torch.softmax(s[0, 0], -1)
    assert torch.allclose(grads["full"], ps - pt, atol=1e-12)  # d KL(t ‖ softmax z) / dz = s − t
    ids = topk.ids[0, 0]
    assert torch.allclose(grads["cache"][ids], grads["full"][ids], atol=1e-12)
    mask = torch.ones(V, dtype=torch.bool)
    mask[ids] = False
    tail_mass = float(pt[mask].sum())
    diff = float((grads["cache"] - grads["full"]).abs().sum())
    assert 0 < diff <= 2 * tail_mass + 1e-12
    assert grads["cache"].abs().sum() > 0  # the cached term moves the student


@pytest.mark.parametrize("temperature", [1.0, 2.0, 0.5])
def test_a_cache_of_the_whole_vocabulary_is_exact_at_any_temperature(temperature):
    t, s = _pair(6)
    labels = torch.tensor([[1, 2, -100], [3, -100, -100]])
    cfg = LossConfig(temperature=temperature, jsd_beta=0.5)
    for name in ("kl", "jsd"):
        full = _value(name, s, labels, cfg, teacher=t).item()
        cached = _value(name, s, labels, cfg, topk=_topk(t, k=V)).item()
        assert cached == pytest.approx(full, rel=1e-10)


def test_tail_is_uniform_over_the_others_at_other_temperatures():
    """At T ≠ 1 each of the V − k tail tokens is taken to hold r / (V − k) at T = 1."""
    t, _ = _pair(7, batch=1, length=1)
    topk = _topk(t)
    logp = topk.logp[0, 0]
    r = 1.0 - float(logp.exp().sum())
    T = 2.0
    weights = [math.exp(float(v) / T) for v in logp] + [(V - K) * (r / (V - K)) ** (1 / T)]
    want = [math.log(w / sum(weights)) for w in weights]
    got = teacher_buckets(topk, T, V)[0, 0].tolist()
    assert got == pytest.approx(want, rel=1e-12)


def test_float16_cache_with_no_tail_left_stays_finite():
    # a teacher sure of one token: after rounding its top-k may hold all of the mass
    t = torch.full((1, 2, V), -30.0, dtype=torch.float32)
    t[..., 0] = 30.0
    logp = torch.log_softmax(t, -1)
    values, ids = logp.topk(K, -1)
    topk = TeacherTopK(torch.from_numpy(round_down_fp16(values.numpy())), ids)
    s = torch.randn(1, 2, V, requires_grad=True)
    labels = torch.zeros(1, 2, dtype=torch.long)
    for name in ("kl", "jsd"):
        value = _value(name, s, labels, LossConfig(temperature=2.0), topk=topk)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(s.grad).all()
        s.grad = None


def test_round_down_fp16_is_the_largest_half_not_above():
    rng = np.random.default_rng(0)
    values = np.concatenate([-rng.exponential(3.0, 10_000).astype(np.float32), np.float32([0.0, -1.0, -0.5, -1e-8])])
    half = round_down_fp16(values)
    assert half.dtype == np.float16
    assert (half.astype(np.float32) <= values).all()
    up = np.nextafter(half, np.float16(np.inf))
    assert (up.astype(np.float32) > values).all()
    assert half[-4:-1].tolist() == [0.0, -1.0, -0.5]  # representable values stay as they are


def test_student_tail_bucket_is_exact_when_the_top_k_hold_nearly_everything():
    logits = torch.full((1, 1, V), -40.0, dtype=torch.float32)
    logits[..., :K] = 0.0
    logp = torch.log_softmax(logits, -1)
    buckets = student_buckets(logp, torch.arange(K).view(1, 1, K))
    want = math.log((V - K) * math.exp(-40.0) / (K + (V - K) * math.exp(-40.0)))
    assert buckets[0, 0, -1].item() == pytest.approx(want, rel=1e-5)  # 1 − Σ p_top would give log(0)
