import pytest

from trident.data.encoding import Truncation, encode_records, target_text
from trident.data.records import Record
from trident.data.synth import generate_records
from trident.models import EOS, SEP, train_tokenizer


def _tok():
    words = ["focal", "test", "assertTrue", "(", ")", ";", "x", "\n"]
    return train_tokenizer([" ".join(words)] * 30, 300)


def test_layout_focal_sep_test_eos_and_target_lines():
    tok = _tok()
    rec = Record("a", "focal focal", "test test", ["assertTrue(x);", "assertTrue(x);"])
    [enc] = encode_records([rec], tok, 64, 32)
    src = tok.convert_ids_to_tokens(enc["input_ids"])
    assert src[-1] == EOS and src.count(SEP) == 1
    sep = src.index(SEP)
    assert tok.decode(enc["input_ids"][:sep]) == "focal focal"
    assert tok.decode(enc["input_ids"][sep + 1:-1]) == "test test"
    assert tok.decode(enc["labels"], skip_special_tokens=True) == "assertTrue(x);\nassertTrue(x);"
    assert enc["labels"][-1] == tok.eos_token_id


def test_focal_method_is_cut_first():
    tok = _tok()
    focal = " ".join(["focal"] * 40)
    test = "test test test"
    test_ids = tok(test, add_special_tokens=False)["input_ids"]
    [enc] = encode_records([Record("a", focal, test, ["x"])], tok, 20, 8)
    assert len(enc["input_ids"]) == 20
    sep = enc["input_ids"].index(tok.sep_token_id)
    assert enc["input_ids"][sep + 1:-1] == test_ids  # the masked test survives whole
    assert sep == 20 - 2 - len(test_ids)  # the focal method got what was left


def test_long_target_is_truncated_but_keeps_eos():
    tok = _tok()
    [enc] = encode_records([Record("a", "focal", "test", ["assertTrue(x);"] * 20)], tok, 32, 10)
    assert len(enc["labels"]) == 10 and enc["labels"][-1] == tok.eos_token_id


# ---- a masked test longer than the source budget (real-length Java) -------------------

def _long_test(placeholders_at: tuple[int, ...], lines: int = 200) -> str:
    body = []
    for i in range(lines):
        if i in placeholders_at:
            body.append("    <AssertPlaceHolder>;")
        else:
            body.append(f"    int v{i} = calc.add({i}, v{max(i - 1, 0)} * 2);")
    return "@Test\nvoid testLong() {\n" + "\n".join(body) + "\n}"


@pytest.fixture(scope="module")
def java_tok():
    """The byte-level BPE tokenizer presets use, trained on the synthetic Java corpus."""
    recs = generate_records(60, 5)
    texts = [t for r in recs for t in (r["focal_method"], r["test_method_masked"], "\n".join(r["assertions"]))]
    return train_tokenizer(texts + [_long_test((5,), 40)], 400)


def test_long_masked_test_keeps_every_placeholder_and_the_context_before_them(java_tok):
    test = _long_test((100, 195))
    rec = Record("a", "public int add(int a, int b) { return a + b; }", test, ["assertEquals(3, v1);"] * 2)
    assert len(java_tok(test, add_special_tokens=False)["input_ids"]) > 2000  # ~10x the budget
    cut = Truncation()
    [enc] = encode_records([rec], java_tok, 256, 32, truncation=cut)
    assert len(enc["input_ids"]) == 256
    sep = enc["input_ids"].index(java_tok.sep_token_id)
    focal_len = len(java_tok(rec.focal_method, add_special_tokens=False)["input_ids"])
    assert sep < focal_len  # the focal method gave way first: it only fills what whole lines left
    kept = java_tok.decode(enc["input_ids"][sep + 1:-1])
    assert kept.count("<AssertPlaceHolder>;") == 2
    kept_lines = kept.strip("\n").splitlines()
    assert set(kept_lines) <= set(test.splitlines())  # whole lines, nothing invented
    # the context right above the last placeholder is there, in order, up to it
    last = kept_lines.index("    <AssertPlaceHolder>;", kept_lines.index("    <AssertPlaceHolder>;") + 1)
    assert kept_lines[last - 1] == "    int v194 = calc.add(194, v193 * 2);"
    assert kept_lines[last - 2] == "    int v193 = calc.add(193, v192 * 2);"
    assert (cut.records, cut.source_cut, cut.test_cut, cut.placeholders_lost, cut.target_cut) == (1, 1, 1, 0, 0)


def test_placeholder_lines_that_alone_overflow_are_counted_as_lost(java_tok):
    # 30 placeholder lines at ~6+ tokens each cannot fit in 20 tokens
    test = _long_test(tuple(range(0, 60, 2)), 60)
    short = _long_test((3,), 6)
    recs = [Record("a", "f", test, ["assertTrue(a);"]), Record("b", "f", short, ["assertTrue(a);"])]
    cut = Truncation()
    first, second = encode_records(recs, java_tok, 23, 32, truncation=cut)
    assert len(first["input_ids"]) == 23
    assert java_tok.decode(first["input_ids"]).count("<AssertPlaceHolder>") < 30
    assert (cut.records, cut.test_cut, cut.placeholders_lost) == (2, 2, 1)


def test_target_cuts_are_counted_with_full_lengths():
    tok = _tok()
    recs = [Record("a", "focal", "test", ["assertTrue(x);"] * 20), Record("b", "focal", "test", ["assertTrue(x);"])]
    full = [len(tok(target_text(r), add_special_tokens=False)["input_ids"]) for r in recs]
    assert full[0] > 9 >= full[1]
    cut = Truncation()
    encode_records(recs, tok, 32, 10, truncation=cut)
    assert (cut.records, cut.target_cut, cut.source_cut, cut.test_cut) == (2, 1, 0, 0)
    assert cut.target_lengths == full
    assert cut.targets_longer_than(full[1]) == 1 and cut.targets_longer_than(full[1] - 1) == 2


def test_focal_context_follows_the_focal_method_and_is_cut_first():
    from trident.errors import DataError

    tok = _tok()
    focal, test, context = "focal focal focal", "test test", " ".join(["x"] * 30)
    rec = Record("a", focal, test, ["assertTrue(x);"], extra={"focal_context": context})
    f_ids = tok(focal, add_special_tokens=False)["input_ids"]
    t_ids = tok(test, add_special_tokens=False)["input_ids"]
    c_ids = tok("\n" + context, add_special_tokens=False)["input_ids"]
    roomy = Truncation()
    [enc] = encode_records([rec], tok, 128, 16, truncation=roomy, focal_context="class-signatures")
    assert enc["input_ids"] == f_ids + c_ids + [tok.sep_token_id] + t_ids + [tok.eos_token_id]
    assert roomy.counts()["context_cut"] == 0
    budget = len(f_ids) + len(t_ids) + 5  # room for five context tokens
    cut = Truncation()
    [enc] = encode_records([rec], tok, budget + 2, 16, truncation=cut, focal_context="class-signatures")
    assert enc["input_ids"] == f_ids + c_ids[:5] + [tok.sep_token_id] + t_ids + [tok.eos_token_id]
    assert (cut.source_cut, cut.context_cut) == (1, 1)
    [plain] = encode_records([rec], tok, 128, 16)  # the default leaves the context out, and says nothing of it
    assert plain["input_ids"] == f_ids + [tok.sep_token_id] + t_ids + [tok.eos_token_id]
    assert "context_cut" not in Truncation().counts()
    with pytest.raises(DataError, match="record b has no focal_context"):
        encode_records([Record("b", focal, test, ["x"])], tok, 64, 16, focal_context="class-signatures")
