"""Loss components against hand-computed references (float64, natural log, T = 1)."""
import math

import pytest
import torch

from trident.config import ComponentConfig, LossConfig
from trident.losses.multi import MultiComponentLoss
from trident.losses.registry import COMPONENTS, LossInputs
from trident.models import build_model, train_tokenizer


def _one_token(name, student, teacher, **cfg):
    s = torch.tensor(student, dtype=torch.float64).log().view(1, 1, -1)
    t = torch.tensor(teacher, dtype=torch.float64).log().view(1, 1, -1)
    labels = torch.zeros(1, 1, dtype=torch.long)
    return COMPONENTS[name].fn(LossInputs(s, labels, t), LossConfig(temperature=1.0, **cfg)).item()


@pytest.mark.parametrize("student, teacher, beta, expected", [
    ([0.1, 0.9], [0.9, 0.1], 0.5, 0.368064),
    ([0.2, 0.3, 0.5], [0.6, 0.3, 0.1], 0.5, 0.125101),
    ([0.2, 0.3, 0.5], [0.6, 0.3, 0.1], 0.1, 0.044421),
    ([0.2, 0.3, 0.5], [0.6, 0.3, 0.1], 0.9, 0.050030),
])
def test_jsd_reference_values(student, teacher, beta, expected):
    assert _one_token("jsd", student, teacher, jsd_beta=beta) == pytest.approx(expected, abs=1e-6)


def test_kl_reference_values_both_directions():
    s, t = [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]
    assert _one_token("kl", s, t) == pytest.approx(0.498224, abs=1e-6)  # KL(T‖S)
    assert _one_token("kl", t, s) == pytest.approx(0.584996, abs=1e-6)  # KL(S‖T), roles swapped


def test_jsd_is_zero_for_equal_inputs():
    logits = torch.randn(3, 5, 11, dtype=torch.float64)
    labels = torch.randint(0, 11, (3, 5))
    value = COMPONENTS["jsd"].fn(LossInputs(logits, labels, logits.clone()), LossConfig())
    assert value.item() == pytest.approx(0.0, abs=1e-7)


def test_kl_and_jsd_carry_temperature_squared():
    # logits/T with T=2 then ×T²: equals 4 × the value computed on logits/2 at T=1.
    s, t = torch.randn(2, 3, 7, dtype=torch.float64), torch.randn(2, 3, 7, dtype=torch.float64)
    labels = torch.zeros(2, 3, dtype=torch.long)
    for name in ("kl", "jsd"):
        hot = COMPONENTS[name].fn(LossInputs(s, labels, t), LossConfig(temperature=2.0)).item()
        cold = COMPONENTS[name].fn(LossInputs(s / 2, labels, t / 2), LossConfig(temperature=1.0)).item()
        assert hot == pytest.approx(4 * cold, rel=1e-9)


def test_ce_matches_hand_value_and_ignores_padding():
    # one real token: p(label) = 0.9 → −ln 0.9; a second row is padding only.
    logits = torch.tensor([[[math.log(0.1), math.log(0.9)]], [[5.0, -5.0]]], dtype=torch.float64)
    labels = torch.tensor([[1], [-100]])
    value = COMPONENTS["ce"].fn(LossInputs(logits, labels), LossConfig()).item()
    assert value == pytest.approx(-math.log(0.9), abs=1e-12)


def test_focal_with_gamma0_alpha1_equals_ce():
    logits = torch.randn(4, 6, 13, dtype=torch.float64)
    labels = torch.randint(0, 13, (4, 6))
    labels[0, 3:] = -100
    cfg = LossConfig(focal_gamma=0.0, focal_alpha=1.0)
    focal = COMPONENTS["focal"].fn(LossInputs(logits, labels), cfg)
    ce = COMPONENTS["ce"].fn(LossInputs(logits, labels), cfg)
    assert focal.item() == pytest.approx(ce.item(), rel=1e-12)


def test_focal_hand_value():
    # p = 0.9: 0.25 · (1 − 0.9)² · (−ln 0.9) = 0.25 · 0.01 · 0.1053605 = 2.634013e-4
    logits = torch.tensor([[[math.log(0.1), math.log(0.9)]]], dtype=torch.float64)
    value = COMPONENTS["focal"].fn(LossInputs(logits, torch.tensor([[1]])), LossConfig()).item()
    assert value == pytest.approx(0.25 * 0.01 * -math.log(0.9), rel=1e-9)


@pytest.mark.parametrize("name", ["ce", "focal", "kl", "jsd"])
def test_masked_positions_change_nothing(name):
    torch.manual_seed(0)
    s, t = torch.randn(3, 6, 9, dtype=torch.float64), torch.randn(3, 6, 9, dtype=torch.float64)
    labels = torch.randint(0, 9, (3, 6))
    labels[0, 4:] = -100
    labels[2, 1:] = -100
    base = COMPONENTS[name].fn(LossInputs(s, labels, t), LossConfig()).item()
    s2, t2 = s.clone(), t.clone()
    masked = labels == -100
    s2[masked] = torch.randn(int(masked.sum()), 9, dtype=torch.float64) * 50
    t2[masked] = float("nan")  # not even a NaN there may leak into the value
    s2[masked.nonzero()[0].tolist()[0], masked.nonzero()[0].tolist()[1]] = float("inf")
    assert COMPONENTS[name].fn(LossInputs(s2, labels, t2), LossConfig()).item() == pytest.approx(base, rel=1e-12)


def test_mean_is_over_real_tokens_whatever_the_padding():
    torch.manual_seed(1)
    s, t = torch.randn(1, 4, 9, dtype=torch.float64), torch.randn(1, 4, 9, dtype=torch.float64)
    labels = torch.randint(0, 9, (1, 4))
    padded_s = torch.cat([s, torch.randn(1, 10, 9, dtype=torch.float64)], dim=1)
    padded_t = torch.cat([t, torch.randn(1, 10, 9, dtype=torch.float64)], dim=1)
    padded_labels = torch.cat([labels, torch.full((1, 10), -100)], dim=1)
    for name in ("ce", "focal", "kl", "jsd"):
        a = COMPONENTS[name].fn(LossInputs(s, labels, t), LossConfig()).item()
        b = COMPONENTS[name].fn(LossInputs(padded_s, padded_labels, padded_t), LossConfig()).item()
        assert a == pytest.approx(b, rel=1e-12)


def test_all_masked_batch_is_zero_and_finite():
    s, t = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    labels = torch.full((2, 3), -100)
    for name in ("ce", "focal", "kl", "jsd"):
        assert COMPONENTS[name].fn(LossInputs(s, labels, t), LossConfig()).item() == 0.0


@pytest.fixture(scope="module")
def tiny_pair():
    tok = train_tokenizer(["assertEquals(1, add(0, 1));", "int add(int a, int b) { return a + b; }"] * 20, 300)
    return build_model("tiny-student", tok, seed=0), build_model("tiny-teacher", tok, seed=1)


@pytest.mark.parametrize("name", ["ce", "focal", "kl", "jsd"])
def test_each_component_alone_moves_the_student(name, tiny_pair):
    student, teacher = tiny_pair
    student.zero_grad()
    torch.manual_seed(2)
    x = torch.randint(4, 300, (2, 12))
    labels = torch.randint(4, 300, (2, 6))
    labels[1, 4:] = -100
    dec = student.prepare_decoder_input_ids_from_labels(labels=labels)
    out = student(input_ids=x, decoder_input_ids=dec)
    with torch.no_grad():
        t_logits = teacher(input_ids=x, decoder_input_ids=dec).logits
    loss_fn = MultiComponentLoss(LossConfig(components={name: ComponentConfig(1.0, 1.0)}))
    total, _, _ = loss_fn(LossInputs(out.logits, labels, t_logits), progress=0.0)
    total.backward()
    norms = [p.grad.norm().item() for p in student.parameters() if p.grad is not None]
    assert norms and all(math.isfinite(n) for n in norms)
    assert sum(norms) > 0


def test_weights_follow_the_linear_schedule_and_are_applied_as_written():
    cfg = LossConfig(components={"ce": ComponentConfig(0.5, 0.3), "focal": ComponentConfig(0.3, 0.4)})
    loss_fn = MultiComponentLoss(cfg)
    assert loss_fn.weights(0.0) == pytest.approx({"ce": 0.5, "focal": 0.3})
    assert loss_fn.weights(0.5) == pytest.approx({"ce": 0.4, "focal": 0.35})
    assert loss_fn.weights(1.0) == pytest.approx({"ce": 0.3, "focal": 0.4})
    logits, labels = torch.randn(2, 3, 7, dtype=torch.float64), torch.randint(0, 7, (2, 3))
    total, parts, _ = loss_fn(LossInputs(logits, labels), progress=0.5)
    ce = COMPONENTS["ce"].fn(LossInputs(logits, labels), cfg)
    focal = COMPONENTS["focal"].fn(LossInputs(logits, labels), cfg)
    assert total.item() == pytest.approx(0.4 * ce.item() + 0.35 * focal.item(), rel=1e-9)
    assert float(parts["ce/weight"]) == pytest.approx(0.4)
    assert parts["focal/weighted"].item() == pytest.approx(0.35 * focal.item(), rel=1e-6)


S3, T3 = [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]  # KL(T‖S) = 0.498224, KL(S‖T) = 0.584996 (above)


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_jsd_refuses_beta_at_the_ends_instead_of_silently_returning_zero(beta):
    # At β = 0 or 1 the mixture is one side and β·KL(T‖M) + (1−β)·KL(S‖M) is identically 0: no
    # distillation at all. The value must not be a silent zero.
    with pytest.raises(ValueError, match=r"loss\.jsd_beta must be strictly between 0 and 1"):
        _one_token("jsd", S3, T3, jsd_beta=beta)


def test_jsd_vanishes_towards_the_ends_like_beta_times_the_kls():
    # Why 0 and 1 are refused rather than mapped onto the KLs: in this (unscaled) convention the
    # limits are 0, with JSD_β / β → KL(T‖S) and JSD_β / (1−β) → KL(S‖T); returning the KLs at
    # exactly 0 or 1 would be a jump, not a limit.
    eps = 1e-6
    assert _one_token("jsd", S3, T3, jsd_beta=eps) / eps == pytest.approx(0.498224, abs=1e-5)
    assert _one_token("jsd", S3, T3, jsd_beta=1 - eps) / eps == pytest.approx(0.584996, abs=1e-5)


@pytest.mark.parametrize("beta", ["0", "1", "1.5"])
def test_config_refuses_jsd_beta_outside_the_open_interval(beta, capsys):
    from trident.cli import main

    assert main(["train", "--config", "experiments/trident.yaml", f"--loss.jsd_beta={beta}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("trident: error: loss.jsd_beta must be strictly between 0 and 1")
    assert f"not {float(beta)}" in err[0]
