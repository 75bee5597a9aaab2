from trident.data.encoding import encode_records
from trident.data.records import Record
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
