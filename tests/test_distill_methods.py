"""hidden, seqkd and gkd: each moves the student, matches an independent float64 reference, and
refuses the configurations it cannot serve."""
import math
import random

import numpy as np
import pytest
import torch

from trident.config import ComponentConfig, LossConfig, load_config
from trident.data.batches import Collator, EncodedDataset
from trident.data.encoding import encode_records, target_text
from trident.data.records import Record
from trident.data.synth import generate_records
from trident.errors import ConfigError
from trident.fit import model_shapes
from trident.losses import hidden as hidden_mod
from trident.losses import onpolicy, seqkd, sequence, token
from trident.losses.multi import MultiComponentLoss
from trident.losses.registry import BeamTargets, HiddenStates, LossInputs, ModelShapes, StepContext
from trident.models import build_model, train_tokenizer

MINILM = "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def pair():
    recs = [Record(r["id"], r["focal_method"], r["test_method_masked"], r["assertions"]) for r in generate_records(8, 5)]
    texts = [t for r in recs for t in (r.focal_method, r.test_method_masked, target_text(r))]
    tok = train_tokenizer(texts, 400)
    student = build_model("tiny-student", tok, 0)
    teacher = build_model("tiny-teacher", tok, 1).eval()
    ds = EncodedDataset(encode_records(recs, tok, 96, 32), [r.id for r in recs], [target_text(r) for r in recs])
    batch = Collator(tok, student)(ds.features[:6])
    batch.pop("idx")
    return tok, student, teacher, ds, batch


def _cfg(components, **kw):
    return LossConfig(components={n: ComponentConfig(1.0, 1.0) for n in components}, **kw)


def _context(pair, cfg, reuse_encoder=False, **extra):
    tok, student, teacher, ds, batch = pair
    labels = batch["labels"]
    model_inputs = {k: v for k, v in batch.items() if k != "labels"}
    out = student(**model_inputs, output_hidden_states=True)
    with torch.no_grad():
        t_out = teacher(**model_inputs, output_hidden_states=True)
    masks = (model_inputs["attention_mask"].bool(), labels != -100)
    params = MultiComponentLoss(cfg).make_parameters(model_shapes(student, teacher))
    ctx = StepContext(model=student, tokenizer=tok, model_inputs=model_inputs, references=ds.references[:6],
                      parameters=params, training=True, max_target_len=32, teacher=teacher, sample_seed=123,
                      student_states=HiddenStates(out.encoder_hidden_states, out.decoder_hidden_states, *masks),
                      teacher_states=HiddenStates(t_out.encoder_hidden_states, t_out.decoder_hidden_states, *masks),
                      encoder_hidden=out.encoder_last_hidden_state if reuse_encoder else None,
                      teacher_encoder_hidden=t_out.encoder_last_hidden_state if reuse_encoder else None, **extra)
    return LossInputs(out.logits, labels, t_out.logits, context=ctx), params


def _student_grad(model, loss) -> float:
    model.zero_grad()
    loss.backward()
    return math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model.parameters() if p.grad is not None))


# ---- hidden ---------------------------------------------------------------------------------

def test_evenly_spaced_layers_and_the_codet5p_pair():
    assert hidden_mod.evenly_spaced(2, 3) == {1: 2, 2: 3}
    assert hidden_mod.evenly_spaced(12, 24) == {i: 2 * i for i in range(1, 13)}
    cfg = _cfg(["hidden"])
    pairs = hidden_mod.layer_map(cfg, ModelShapes(768, (12, 12), 1024, (24, 24)))
    assert pairs == {"encoder": {i: 2 * i for i in range(1, 13)}, "decoder": {i: 2 * i for i in range(1, 13)}}
    module = hidden_mod.make_projections(cfg, ModelShapes(768, (12, 12), 1024, (24, 24)))
    assert module.maps["decoder-12"].weight.shape == (1024, 768)
    one = _cfg(["hidden"], hidden_layers={"encoder": {"2": 3}, "decoder": {}})
    assert hidden_mod.layer_map(one, ModelShapes(64, (2, 2), 128, (3, 3))) == {"encoder": {2: 3}, "decoder": {}}


@pytest.mark.parametrize("layers, match", [({"encoder": {"3": 1}}, "student's encoder has layers 0..2"),
                                           ({"decoder": {"1": 9}}, "teacher's decoder has layers 0..3"),
                                           ({"encoder": {}, "decoder": {}}, "matches no layer")])
def test_hidden_layer_mapping_errors_name_the_key(layers, match):
    with pytest.raises(ConfigError, match=match):
        hidden_mod.layer_map(_cfg(["hidden"], hidden_layers=layers), ModelShapes(64, (2, 2), 128, (3, 3)))


def test_an_unknown_stack_is_refused_when_the_config_loads():
    with pytest.raises(ConfigError, match="unknown stack"):
        load_config(None, ["--loss.components={hidden: {start: 1}}", "--loss.hidden_layers.middle.1=2"])


@pytest.mark.parametrize("metric", ["mse", "cosine"])
def test_state_distance_matches_float64_by_hand_and_ignores_padding(metric):
    g = np.random.default_rng(0)
    s, t = g.normal(size=(2, 3, 4)), g.normal(size=(2, 3, 4))
    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    real = [(0, 0), (0, 1), (1, 0)]
    if metric == "mse":
        expected = sum(((s[b, i] - t[b, i]) ** 2).mean() for b, i in real) / 3
    else:
        cos = [s[b, i] @ t[b, i] / np.linalg.norm(s[b, i]) / np.linalg.norm(t[b, i]) for b, i in real]
        expected = sum(1 - c for c in cos) / 3
    got = hidden_mod.state_distance(torch.tensor(s), torch.tensor(t), torch.tensor(mask), metric)
    assert got.dtype == torch.float32 and got.item() == pytest.approx(expected, rel=1e-5)
    # whatever padding holds, even inf, never reaches the value
    s2, t2 = s.copy(), t.copy()
    s2[~mask], t2[~mask] = np.inf, -1e30
    again = hidden_mod.state_distance(torch.tensor(s2), torch.tensor(t2), torch.tensor(mask), metric)
    assert again.item() == pytest.approx(got.item(), rel=1e-6)


def test_hidden_moves_every_stack_of_the_student_and_its_projections(pair):
    cfg = _cfg(["hidden"])
    inputs, params = _context(pair, cfg)
    total, parts, _ = MultiComponentLoss(cfg)(inputs)
    assert parts["hidden/raw"].item() > 0
    student = pair[1]
    student.zero_grad()
    total.backward()
    for stack in (student.encoder, student.decoder):
        assert stack.block[0].layer[0].SelfAttention.q.weight.grad.abs().sum() > 0
    for name, proj in params["hidden"].maps.items():
        assert proj.weight.grad is not None and proj.weight.grad.abs().sum() > 0, name


def test_hidden_is_the_mean_over_pairs_of_the_projected_distances(pair):
    cfg = _cfg(["hidden"], hidden_metric="cosine")
    inputs, params = _context(pair, cfg)
    value = hidden_mod.hidden(inputs, cfg).item()
    ctx, module = inputs.context, params["hidden"]
    terms = []
    for stack, mask in (("encoder", ctx.student_states.encoder_mask), ("decoder", ctx.student_states.decoder_mask)):
        for s_layer, t_layer in module.pairs[stack].items():
            w = module.maps[f"{stack}-{s_layer}"]
            proj = (getattr(ctx.student_states, stack)[s_layer].double() @ w.weight.double().T + w.bias.double())
            t = getattr(ctx.teacher_states, stack)[t_layer].double()
            cos = torch.nn.functional.cosine_similarity(proj[mask], t[mask], dim=-1)
            terms.append(float((1 - cos).mean().detach()))
    assert value == pytest.approx(sum(terms) / len(terms), rel=1e-5)


# ---- gkd ------------------------------------------------------------------------------------

def _np_jsd(t_logits, s_logits, labels, beta, temp):
    """Generalized JSD by its definition, float64, position by position."""
    total, count = 0.0, 0
    for b in range(labels.shape[0]):
        for i in range(labels.shape[1]):
            if labels[b, i] == -100:
                continue
            p = np.exp(t_logits[b, i] / temp - np.logaddexp.reduce(t_logits[b, i] / temp))
            q = np.exp(s_logits[b, i] / temp - np.logaddexp.reduce(s_logits[b, i] / temp))
            m = beta * p + (1 - beta) * q
            total += beta * (p * np.log(p / m)).sum() + (1 - beta) * (q * np.log(q / m)).sum()
            count += 1
    return total / count * temp * temp


def test_gkd_on_a_fixed_sample_equals_token_jsd_and_the_float64_definition(pair):
    tok, student, teacher, ds, batch = pair
    cfg = _cfg(["gkd"], onpolicy_lambda=1.0, jsd_beta=0.3, temperature=1.5)
    inputs, _ = _context(pair, cfg)
    torch.manual_seed(0)
    inputs.samples = sequence.draw_samples(inputs, 6)
    value = onpolicy.gkd(inputs, cfg)
    # the same tensors by hand: both models teacher-forced on the sample
    labels = onpolicy.sample_labels(inputs.samples, tok.eos_token_id)
    enc = {k: batch[k] for k in ("input_ids", "attention_mask")}
    dec = student.prepare_decoder_input_ids_from_labels(labels=inputs.samples)
    s_logits = student.double()(**enc, decoder_input_ids=dec).logits
    with torch.no_grad():
        t_logits = teacher.double()(**enc, decoder_input_ids=dec).logits
    student.float(), teacher.float()
    reference = token.jsd(LossInputs(s_logits, labels, t_logits), cfg)
    assert reference.dtype == torch.float64
    by_definition = _np_jsd(t_logits.detach().numpy(), s_logits.detach().numpy(), labels.numpy(), 0.3, 1.5)
    assert reference.item() == pytest.approx(by_definition, rel=1e-9)
    assert value.item() == pytest.approx(by_definition, rel=1e-4)
    # the sample is cut after its eos: positions after it are not targets
    first_eos = [(row == tok.eos_token_id).nonzero() for row in inputs.samples]
    for row, eos in zip(labels, first_eos):
        if len(eos):
            assert (row[eos[0, 0] + 1:] == -100).all() and row[eos[0, 0]] == tok.eos_token_id


def test_gkd_off_policy_is_jsd_on_the_gold_assertion(pair):
    cfg = _cfg(["gkd"], onpolicy_lambda=0.0)
    inputs, _ = _context(pair, cfg)
    assert onpolicy.gkd(inputs, cfg).item() == token.jsd(inputs, cfg).item()


def test_gkd_on_policy_moves_the_student_through_its_samples(pair):
    cfg = _cfg(["gkd"], onpolicy_lambda=1.0)
    inputs, _ = _context(pair, cfg)
    total, parts, _ = MultiComponentLoss(cfg)(inputs)
    assert inputs.samples is not None and inputs.samples.shape[0] == 6
    assert parts["gkd/raw"].item() > 0
    # only through the logits on the samples: the gold-target logits of the step are not in the graph
    grads = torch.autograd.grad(total, [inputs.student_logits, *pair[1].parameters()], allow_unused=True)
    assert grads[0] is None
    norm = math.sqrt(sum(float(g.pow(2).sum()) for g in grads[1:] if g is not None))
    assert math.isfinite(norm) and norm > 0


def test_the_on_policy_draw_has_probability_lambda_and_depends_only_on_the_seed():
    cfg = _cfg(["gkd"], onpolicy_lambda=0.3)
    labels = torch.zeros(2, 3, dtype=torch.long)

    def draw(seed):
        ctx = StepContext(model=object(), teacher=object(), training=True, sample_seed=seed)
        return onpolicy.onpolicy_now(LossInputs(torch.zeros(2, 3, 5), labels, context=ctx), cfg)

    hits = sum(draw(seed) for seed in range(4000))
    # binomial(4000, 0.3): sd 29; 5 sd either side
    assert abs(hits - 1200) < 145
    assert [draw(s) for s in range(50)] == [draw(s) for s in range(50)]
    assert [draw(s) for s in range(50)] == [random.Random(f"gkd:{s}").random() < 0.3 for s in range(50)]


def test_gkd_and_the_self_critical_term_share_one_sampling_pass(pair):
    cfg = _cfg(["gkd", "pans"], onpolicy_lambda=1.0, seq_reward_every=1, seq_reward_fraction=0.5)
    inputs, _ = _context(pair, cfg)
    student = pair[1]
    calls = []
    real = student.generate

    def counting(*a, **kw):
        calls.append(kw.get("input_ids", a[0] if a else None).shape[0])
        return real(*a, **kw)

    student.generate = counting
    try:
        total, parts, _ = MultiComponentLoss(cfg)(inputs)
    finally:
        del student.generate
    assert calls == [6]  # gkd's whole micro-batch; the self-critical term took its first 3 rows
    assert torch.equal(inputs.rewards.sample, inputs.samples[:3])
    assert "gkd/raw" in parts and "pans/raw" in parts


@pytest.mark.parametrize("component", ["gkd", "hidden"])
def test_a_cache_only_teacher_is_refused_for_components_that_need_it_online(component):
    with pytest.raises(ConfigError, match=f"{component} need the teacher online.*--teacher.source=online"):
        load_config(None, [f"--loss.components={{{component}: {{start: 1}}}}", "--teacher.source=cache"])
    with pytest.raises(ConfigError, match="teacher.cache=/some/dir"):
        load_config(None, [f"--loss.components={{{component}: {{start: 1}}}}", "--teacher.cache=/some/dir"])
    assert load_config(None, [f"--loss.components={{{component}: {{start: 1}}}}"]).teacher.source == "auto"


# ---- seqkd and the semantic reference -------------------------------------------------------

def _beams(pair, rows=6):
    tok, student, teacher, ds, batch = pair
    g = torch.Generator().manual_seed(3)
    labels = torch.full((rows, 7), -100)
    lengths = [7, 4, 5, 2, 6, 3][:rows]
    for b, n in enumerate(lengths):
        labels[b, :n - 1] = torch.randint(4, len(tok), (n - 1,), generator=g)
        labels[b, n - 1] = tok.eos_token_id
    logp = -torch.tensor([2.0, 1.0, 7.5, 0.5, 3.0, 9.0][:rows])
    return BeamTargets(labels, logp, ["x"] * rows)


@pytest.mark.parametrize("weighting", ["none", "prob"])
def test_seqkd_is_cross_entropy_on_the_teachers_beam(pair, weighting):
    tok, student, teacher, ds, batch = pair
    cfg = _cfg(["seqkd"], seqkd_weighting=weighting)
    beams = _beams(pair)
    inputs, _ = _context(pair, cfg, teacher_beams=beams)
    value = seqkd.seqkd(inputs, cfg)
    enc = {k: batch[k] for k in ("input_ids", "attention_mask")}
    dec = student.prepare_decoder_input_ids_from_labels(labels=beams.labels)
    logp = torch.log_softmax(student.double()(**enc, decoder_input_ids=dec).logits, -1).detach().numpy()
    student.float()
    num = den = 0.0
    for b in range(6):
        n = int((beams.labels[b] != -100).sum())
        w = 1.0 if weighting == "none" else math.exp(float(beams.logp[b]) / n)
        for i in range(n):
            num -= w * logp[b, i, beams.labels[b, i]]
            den += w
    assert value.item() == pytest.approx(num / den, rel=1e-5)
    assert _student_grad(student, value) > 0


@pytest.mark.parametrize("component", ["seqkd", "gkd"])
def test_the_second_pass_reuses_the_steps_encoding_same_value_and_gradient(pair, component):
    """seqkd and gkd decode other targets on the step's sources: given the step's encoder
    output they run no encoder, and value and student gradient equal a pass that re-encodes."""
    tok, student, teacher, ds, batch = pair
    cfg = _cfg([component], onpolicy_lambda=1.0)
    fn = seqkd.seqkd if component == "seqkd" else onpolicy.gkd
    calls = []
    hooks = [m.encoder.register_forward_hook(lambda *a: calls.append(1)) for m in (student, teacher)]
    results = []
    try:
        for reuse in (False, True):
            inputs, _ = _context(pair, cfg, reuse_encoder=reuse, teacher_beams=_beams(pair))
            inputs.samples = sequence.draw_samples(inputs, 6) if component == "gkd" else None
            calls.clear()
            value = fn(inputs, cfg)
            encoders_run = len(calls)
            student.zero_grad()
            value.backward()
            grads = [p.grad.clone() for p in student.parameters() if p.grad is not None]
            results.append((value.item(), encoders_run, grads))
    finally:
        for h in hooks:
            h.remove()
    (v_re, runs_re, g_re), (v_reuse, runs_reuse, g_reuse) = results
    assert runs_re == (1 if component == "seqkd" else 2) and runs_reuse == 0
    assert v_reuse == pytest.approx(v_re, rel=1e-6)
    assert len(g_reuse) == len(g_re) and len(g_re) > 0
    for a, b in zip(g_reuse, g_re):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    # the gradient reaches the encoder through the reused output
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.encoder.parameters())


def test_seqkd_is_not_computed_without_beams_or_outside_training(pair):
    cfg = _cfg(["seqkd"])
    inputs, _ = _context(pair, cfg)
    assert seqkd.seqkd(inputs, cfg) is None
    inputs, _ = _context(pair, cfg, teacher_beams=_beams(pair))
    inputs.context.training = False
    assert seqkd.seqkd(inputs, cfg) is None


@pytest.mark.parametrize("reference", ["gold", "teacher", "both"])
def test_semantic_scores_against_the_reference_it_is_told(reference):
    from trident.encoders import embed

    cfg = _cfg(["semantic"], semantic_reference=reference)
    texts = ["assertEquals(3, add(1, 2));", "assertTrue(list.isEmpty());"]
    gold = embed(["assertEquals(3, add(1, 2));", "assertNull(x);"], MINILM)
    teach = embed(["assertTrue(list.isEmpty());", "assertTrue(list.isEmpty());"], MINILM)
    emb = embed(texts, MINILM)
    by_gold, by_teacher = ((1 + (emb * gold).sum(-1)) / 2), ((1 + (emb * teach).sum(-1)) / 2)
    got = sequence.semantic_score(texts, ["", ""], {MINILM: gold}, cfg, "cpu", teacher={MINILM: teach})
    want = {"gold": by_gold, "teacher": by_teacher, "both": (by_gold + by_teacher) / 2}[reference]
    assert torch.allclose(got, want.clamp(0, 1), atol=1e-5)
    assert sequence.semantic_needs(cfg).teacher_beams == (reference != "gold")
    assert MultiComponentLoss(cfg).needs.teacher_beams == (reference != "gold")
