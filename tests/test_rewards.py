"""The `pans` and `ast` rewards of the self-critical term score text exactly as the metrics do:
the `ast` reward asks for assertions, and `pans` works on whole Java tokens. The baseline of the
term is the student's teacher-forced argmax, so logits that put all their mass on chosen token ids
make the baseline text exactly the text those ids decode to."""
import pytest
import torch

from trident.config import LossConfig
from trident.losses.registry import LossInputs, StepContext
from trident.losses.sequence import sample_rewards
from trident.models import build_model, train_tokenizer

REF = 'assertEquals("Element not found", msg);'
# baseline text -> (ast reward, pans reward), worked out by hand:
CASES = {
    # parses, asserts nothing; shares only ";" (position 4 vs 6 of 7): s1 = exp(-0.2)/7, N = 4
    "int x = 1;": (0.0, 0.8187307530779818 / 7 / 10),
    ";": (0.0, None),  # parses (an empty statement), asserts nothing
    "foo(x);": (0.0, None),  # a call, but not of an assertion
    "Element not found": (0.0, 0.0),  # English words inside REF's literal are not its tokens
    REF: (1.0, 1.0),
}


def test_ast_and_pans_rewards_of_the_baseline():
    texts = list(CASES)
    tok = train_tokenizer(texts * 20 + [REF] * 20, 300)
    model = build_model("tiny-student", tok, 0)
    ids = [tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in texts]
    width = max(map(len, ids))
    labels = torch.tensor([row + [-100] * (width - len(row)) for row in ids])
    logits = torch.full((len(texts), width, len(tok)), -10.0)
    logits.scatter_(2, labels.clamp(min=0).unsqueeze(-1), 10.0)
    source = tok(["x"] * len(texts), return_tensors="pt")
    ctx = StepContext(model=model, tokenizer=tok, model_inputs=dict(source), references=[REF] * len(texts),
                      training=True, max_target_len=width)
    cfg = LossConfig(seq_reward_fraction=1.0)
    rewards = sample_rewards(LossInputs(logits, labels, logits, None, 0.0, ctx), cfg, ("pans", "ast"))
    for i, (text, (ast, pans)) in enumerate(CASES.items()):
        assert rewards.baseline_scores["ast"][i].item() == ast, text
        if pans is not None:
            assert rewards.baseline_scores["pans"][i].item() == pytest.approx(pans, abs=1e-7), text
