"""The fused focal, kl and jsd (trident.losses.fused) against the autograd references kept in
trident.losses.token (`*_reference`) and against finite differences (gradcheck), in float64:
masked rows holding inf/NaN, chunk boundaries, temperatures ≠ 1, critical-token weights, the
cached teacher's buckets (including rows whose tail mass underflows), half-precision inputs."""
import math

import pytest
import torch

from trident.config import LossConfig
from trident.losses import fused, token
from trident.losses.registry import LossInputs, StepContext, TeacherTopK

V, K = 13, 4
B, L = 3, 5


def _data(seed, dtype=torch.float64, sharp=3.0, vocab=V):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(B, L, vocab, generator=g, dtype=torch.float64) * sharp
    t = torch.randn(B, L, vocab, generator=g, dtype=torch.float64) * sharp
    labels = torch.randint(0, vocab, (B, L), generator=g)
    labels[0, 3:] = -100
    labels[2, 1:] = -100
    return s.to(dtype), t.to(dtype), labels


def _topk(teacher, k=K):
    """The cache's top-k in the teacher's dtype (float16 for a half-precision teacher, as the cache stores it)."""
    values, ids = torch.log_softmax(teacher.double(), -1).topk(k, -1)
    return TeacherTopK(values.to(torch.float16 if teacher.dtype in (torch.float16, torch.bfloat16) else teacher.dtype), ids)


def _inputs(name, s, labels, t, source, **extra):
    if name == "focal" or source == "online":
        return LossInputs(s, labels, t, **extra)
    return LossInputs(s, labels, teacher_topk=_topk(t), **extra)


def _value_and_grad(fn, s, labels, t, source, cfg, grad_out=1.0, **kw):
    x = s.clone().requires_grad_(True)
    value = fn(_inputs(kw.pop("name"), x, labels, t, source, **kw.pop("extra", {})), cfg, **kw)
    (grad,) = torch.autograd.grad(value * grad_out, x)
    return value.detach(), grad


CASES = [("focal", "online"), ("kl", "online"), ("kl", "cached"), ("jsd", "online"), ("jsd", "cached")]


@pytest.mark.parametrize("name, source", CASES)
@pytest.mark.parametrize("chunk", [1, 4, 64])  # one row; a non-divisor of the 9 real rows, mixing gathered and contiguous chunks; more than all rows
@pytest.mark.parametrize("temperature, beta", [(1.0, 0.5), (2.0, 0.1), (0.5, 0.9)])
def test_fused_equals_the_reference_in_value_and_gradient(name, source, chunk, temperature, beta):
    s, t, labels = _data(0)
    cfg = LossConfig(temperature=temperature, jsd_beta=beta, focal_gamma=1.5, focal_alpha=0.7)
    got_v, got_g = _value_and_grad(getattr(token, name), s, labels, t, source, cfg, name=name, chunk=chunk)
    ref_v, ref_g = _value_and_grad(getattr(token, f"{name}_reference"), s, labels, t, source, cfg, name=name)
    assert got_v.item() == pytest.approx(ref_v.item(), rel=1e-12, abs=1e-15)
    assert torch.allclose(got_g, ref_g, rtol=1e-10, atol=1e-15)
    assert got_g.abs().sum() > 0


@pytest.mark.parametrize("name, source", CASES)
@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_gradcheck_float64(name, source, temperature):
    s, t, labels = _data(1, sharp=1.0, vocab=7)
    cfg = LossConfig(temperature=temperature, jsd_beta=0.3, focal_gamma=2.0)
    fn = getattr(token, name)

    def f(x):
        return fn(_inputs(name, x, labels, t, source), cfg, chunk=2)

    assert torch.autograd.gradcheck(f, (s.clone().requires_grad_(True),), eps=1e-6, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("name, source", CASES)
def test_padding_holding_inf_and_nan_reaches_neither_value_nor_gradient(name, source):
    s, t, labels = _data(2)
    cfg = LossConfig(temperature=2.0)
    masked = labels == -100

    def run(student, teacher, garbage):
        topk = _topk(t)
        if garbage:
            topk.logp[masked] = float("nan")  # the cache's padded rows hold garbage too
        inputs = LossInputs(student, labels, teacher) if source == "online" else LossInputs(student, labels, teacher_topk=topk)
        x = student.clone().requires_grad_(True)
        inputs.student_logits = x
        value = getattr(token, name)(inputs, cfg, chunk=4)
        (grad,) = torch.autograd.grad(value, x)
        return value.detach(), grad

    base_v, base_g = run(s, t, False)
    s2, t2 = s.clone(), t.clone()
    s2[masked] = float("nan")
    s2[0, 4, 0] = float("inf")
    s2[2, 2, 1] = float("-inf")
    t2[masked] = float("nan")
    got_v, got_g = run(s2, t2, True)
    assert got_v.item() == pytest.approx(base_v.item(), rel=1e-12)
    assert torch.equal(got_g[masked], torch.zeros_like(got_g[masked]))
    assert torch.allclose(got_g, base_g, rtol=1e-12, atol=1e-15)


def test_kl_gradient_is_t_times_s_minus_p_over_the_rows():
    # written out from the closed form: ∂(T²·mean KL(P_T ‖ S_T))/∂s = T·(softmax(s/T) − softmax(t/T)) / N
    s, t, labels = _data(3)
    temperature = 2.0
    _, grad = _value_and_grad(token.kl, s, labels, t, "online", LossConfig(temperature=temperature), name="kl")
    mask = labels != -100
    n = int(mask.sum())
    want = temperature * (torch.softmax(s / temperature, -1) - torch.softmax(t / temperature, -1)) / n
    want[~mask] = 0
    assert torch.allclose(grad, want, rtol=1e-12, atol=1e-16)


def test_jsd_gradient_matches_the_closed_form_on_one_row():
    # ∂J/∂s_j = (1−β)·S_j·(log S_j − log M_j − KL(S‖M)) at T = 1, one row, worked out in plain Python
    beta = 0.3
    s = [0.4, -1.0, 2.0, 0.1]
    t = [1.5, 0.2, -0.7, 0.0]
    S = [math.exp(x) / sum(math.exp(y) for y in s) for x in s]
    P = [math.exp(x) / sum(math.exp(y) for y in t) for x in t]
    M = [beta * p + (1 - beta) * q for p, q in zip(P, S)]
    kl_sm = sum(q * math.log(q / m) for q, m in zip(S, M))
    want = [(1 - beta) * q * (math.log(q / m) - kl_sm) for q, m in zip(S, M)]
    value = beta * sum(p * math.log(p / m) for p, m in zip(P, M)) + (1 - beta) * kl_sm
    x = torch.tensor(s, dtype=torch.float64).view(1, 1, 4).requires_grad_(True)
    got = token.jsd(LossInputs(x, torch.zeros(1, 1, dtype=torch.long), torch.tensor(t, dtype=torch.float64).view(1, 1, 4)),
                    LossConfig(temperature=1.0, jsd_beta=beta))
    got.backward()
    assert got.item() == pytest.approx(value, rel=1e-13)
    assert x.grad.view(-1).tolist() == pytest.approx(want, rel=1e-11, abs=1e-16)


def test_focal_with_critical_token_weights_equals_the_reference():
    s, t, labels = _data(4)
    critical = torch.zeros(B, L, dtype=torch.long)
    critical[0, :2] = 1
    critical[1, 3] = 1
    cfg = LossConfig(token_weight=3.0, token_weight_warmup_epochs=2.0, focal_gamma=2.0)
    extra = {"critical": critical, "context": StepContext(epoch=1.0)}  # halfway: weight 2
    got_v, got_g = _value_and_grad(token.focal, s, labels, t, "online", cfg, name="focal", extra=extra, chunk=3)
    ref_v, ref_g = _value_and_grad(token.focal_reference, s, labels, t, "online", cfg, name="focal", extra=extra)
    assert got_v.item() == pytest.approx(ref_v.item(), rel=1e-12)
    assert torch.allclose(got_g, ref_g, rtol=1e-10, atol=1e-16)
    plain_v, _ = _value_and_grad(token.focal, s, labels, t, "online", LossConfig(focal_gamma=2.0), name="focal")
    assert got_v.item() != pytest.approx(plain_v.item(), rel=1e-3)  # the weights did change the value


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_focal_gradient_stays_finite_when_a_token_is_certain(gamma):
    # p = 1 exactly: α(1−p)^γ·(−log p) is flat there; the fused gradient is its limit (c = α for γ = 0, else 0)
    s = torch.full((1, 2, 5), -1e3, dtype=torch.float64)
    s[0, 0, 1] = 0.0
    s[0, 1] = torch.tensor([0.3, -0.2, 0.1, 1.0, 0.0])
    labels = torch.tensor([[1, 3]])
    cfg = LossConfig(focal_gamma=gamma, focal_alpha=1.0)
    got_v, got_g = _value_and_grad(token.focal, s, labels, None, "online", cfg, name="focal")
    assert torch.isfinite(got_g).all()
    assert got_g[0, 0].abs().max().item() == pytest.approx(0.0, abs=1e-300)  # S − δ is 0 on the certain row
    ref_v, ref_g = _value_and_grad(token.focal_reference, s, labels, None, "online", cfg, name="focal")
    assert got_v.item() == pytest.approx(ref_v.item(), rel=1e-12)
    assert torch.allclose(got_g[0, 1], ref_g[0, 1], rtol=1e-10)


@pytest.mark.parametrize("name", ["kl", "jsd"])
def test_cached_rows_whose_student_tail_underflows_follow_the_reference(name):
    # float32, the student sure of its top k: every tail token 200 nats below them, e^−200 is 0 in
    # float32 sums, yet the reference's log-space tail bucket is ≈ −200 + log(V − k); the fused
    # kernel sends such rows to the reference's per-row values
    torch.manual_seed(5)
    t = torch.randn(B, L, V)
    topk = _topk(t)
    s = torch.randn(B, L, V)
    s.scatter_(-1, topk.ids, 0.0)
    far = torch.ones(B, L, V, dtype=torch.bool).scatter_(-1, topk.ids, False)
    s[0] = torch.where(far[0], torch.full_like(s[0], -200.0), s[0])  # row 0's positions underflow, the others not
    labels = torch.zeros(B, L, dtype=torch.long)
    labels[1, 4] = -100
    cfg = LossConfig(temperature=1.0)
    x, y = s.clone().requires_grad_(True), s.clone().requires_grad_(True)
    got = getattr(token, name)(LossInputs(x, labels, teacher_topk=TeacherTopK(topk.logp.float(), topk.ids)), cfg, chunk=4)
    ref = getattr(token, f"{name}_reference")(LossInputs(y, labels, teacher_topk=TeacherTopK(topk.logp.float(), topk.ids)), cfg)
    got.backward()
    ref.backward()
    assert got.item() == pytest.approx(ref.item(), rel=1e-5)
    if name == "kl":  # the teacher's tail against a student tail near e^−200: a large term, neither ~1e4 nor ~0
        assert 1.0 < got.item() < 100.0
    assert torch.allclose(x.grad, y.grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name, source", CASES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_inputs_are_upcast_like_the_reference(name, source, dtype):
    s, t, labels = _data(6, dtype=dtype, sharp=2.0)
    cfg = LossConfig(temperature=2.0)
    got_v, got_g = _value_and_grad(getattr(token, name), s, labels, t, source, cfg, name=name, chunk=3)
    ref_v, ref_g = _value_and_grad(getattr(token, f"{name}_reference"), s, labels, t, source, cfg, name=name)
    assert got_v.dtype == ref_v.dtype == torch.float32
    assert got_g.dtype == ref_g.dtype == dtype
    assert got_v.item() == pytest.approx(ref_v.item(), rel=1e-5)
    assert torch.allclose(got_g.float(), ref_g.float(), rtol=1e-2, atol=1e-5)


@pytest.mark.parametrize("name, source", CASES)
def test_a_scaled_loss_backpropagated_twice_keeps_its_gradient(name, source):
    # the trainer's per-component gradient norms call autograd.grad on weighted terms with retain_graph
    s, t, labels = _data(7)
    cfg = LossConfig()
    x = s.clone().requires_grad_(True)
    value = getattr(token, name)(_inputs(name, x, labels, t, source), cfg)
    (first,) = torch.autograd.grad(0.3 * value, x, retain_graph=True)
    (second,) = torch.autograd.grad(value, x, retain_graph=True)
    (third,) = torch.autograd.grad(0.3 * value, x)
    assert torch.allclose(first, 0.3 * second, rtol=1e-14, atol=0)
    assert torch.equal(first, third)


def test_a_teacher_that_requires_grad_gets_the_reference_gradient():
    s, t, labels = _data(8)
    grads = []
    for fn in (token.kl, token.kl_reference):
        teacher = t.clone().requires_grad_(True)
        fn(LossInputs(s, labels, teacher), LossConfig(temperature=2.0)).backward()
        grads.append(teacher.grad)
    assert grads[0].abs().sum() > 0 and torch.allclose(grads[0], grads[1], rtol=1e-12)


def test_all_padding_is_zero_with_a_zero_gradient():
    s, t, _ = _data(9)
    labels = torch.full((B, L), -100)
    for name, source in CASES:
        value, grad = _value_and_grad(getattr(token, name), s, labels, t, source, LossConfig(), name=name)
        assert value.item() == 0.0 and torch.equal(grad, torch.zeros_like(grad))


def test_no_gradient_is_built_when_none_is_wanted():
    s, t, labels = _data(10)
    with torch.no_grad():
        value = token.jsd(LossInputs(s.clone().requires_grad_(True), labels, t), LossConfig())
    assert not value.requires_grad
    assert value.item() == pytest.approx(token.jsd_reference(LossInputs(s, labels, t), LossConfig()).item(), rel=1e-12)


def test_a_chunk_below_one_row_is_refused():
    s, t, labels = _data(11)
    with pytest.raises(ValueError, match="row chunk must be at least 1, not 0"):
        token.kl(LossInputs(s, labels, t), LossConfig(), chunk=0)
    assert fused.ROW_CHUNK >= 1
