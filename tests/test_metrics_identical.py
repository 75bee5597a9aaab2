"""The metrics give the same numbers, to the last digit, as before the shared lexing (issue 25,
item 2), whatever the path: one process or forked workers, a cold or a warm lexing cache.

tests/fixtures/metrics-golden.json holds 170 adversarial predictions and references (string
literals with spaces, unicode, comments, unparsable lines, empty predictions, Assert./Assertions.
qualifiers, duplicate lines, CRLF and unicode line breaks, ordinary synthetic records) and every
output the metrics module and the Java helpers gave for them, written by the code before the
change (the commit is named in the file). Here each output is computed again and compared as
JSON text: byte-identical, not approximately equal."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trident import forked, java
from trident import metrics as M

GOLDEN = json.loads((Path(__file__).parent / "fixtures" / "metrics-golden.json").read_text())
PREDS, REFS = GOLDEN["inputs"]["preds"], GOLDEN["inputs"]["refs"]


def outputs(preds, refs, workers=None) -> dict:
    """Every metric output the golden file holds, computed now."""
    exs = M.prepare(preds, refs, workers=workers)
    rexs = M.prepare(preds, [("\n".join(r)).split("\n") for r in refs], workers=workers)
    lines = sorted({l for p in preds for l in p.splitlines()} | {l for r in refs for l in r}
                   | {l for p in preds for l in M.split_lines(p)})
    return {
        "compute_all": M.compute_all(preds, refs, workers=workers),
        "exact_match": M.exact_match(preds, refs, workers=workers),
        "prf": list(M.precision_recall_f1(preds, refs, workers=workers)),
        "pans": M.pans(preds, refs, workers=workers),
        "ast_validity": M.ast_validity(preds, workers=workers),
        "assertion_validity": M.assertion_validity(preds, workers=workers),
        "bleu": M.bleu(preds, refs, workers=workers),
        "examples": [dict(pred_raw=e.pred_raw, pred_tokens=e.pred_tokens, ref_tokens=e.ref_tokens, pred=e.pred,
                          ref=e.ref, line_counts=M.line_counts(e), pans=M.example_pans(e), ast=M.example_ast_valid(e),
                          assertion=M.example_assertion_valid(e), bleu_stats=M.bleu_statistics(e)) for e in exs],
        "bleu_segments": M.bleu_segments(exs),
        "asserts_only": [M.asserts_only(p) for p in preds],
        "canonical_lines": [M.canonical_lines(M.split_lines(p)) for p in preds],
        # the pans and ast rewards' view (trident.losses.sequence): references as one "\n"-joined text
        "reward_pans": [M.example_pans(e) for e in rexs],
        "reward_ast": [M.assertion_validity([p]) for p in preds],
        "lines": {l: dict(kinds=[[t.text, t.kind, t.start, t.end] for t in java.tokenize_with_kinds(l)],
                          tokens=java.tokenize(l), canonical=java.canonical_tokens(l), canon=java.canonical_assertion(l),
                          valid=java.is_valid_statement(l), assertion=java.is_assertion_statement(l)) for l in lines},
    }


def as_text(value) -> str:
    # tuples become lists and floats print with repr, as when the golden file was written
    return json.dumps(json.loads(json.dumps(value, ensure_ascii=False)), ensure_ascii=False, sort_keys=True)


def assert_golden(got: dict) -> None:
    for key, expected in GOLDEN["outputs"].items():
        assert as_text(got[key]) == as_text(expected), key


@pytest.fixture
def cold():
    M.clear_lex_cache()
    yield
    M.clear_lex_cache()


def test_one_process_matches_the_golden_file(cold):
    assert_golden(outputs(PREDS, REFS, workers=1))


def test_warm_cache_matches_the_golden_file(cold):
    outputs(PREDS, REFS, workers=1)
    assert M.lex_cache_size() > 100  # every distinct line is cached now ...
    assert_golden(outputs(PREDS, REFS, workers=1))  # ... and read back with the same answers


def test_forked_workers_match_the_golden_file(cold, monkeypatch):
    assert forked.available()  # Linux: the test must exercise the workers, not fall back
    monkeypatch.setattr(M, "PARALLEL_MIN_LINES", 1)
    monkeypatch.setattr(M, "PARALLEL_MIN_EXAMPLES", 1)
    monkeypatch.setattr(M, "PARALLEL_MIN_CHUNK", 1)
    jobs = []
    real = forked.map_forked

    def counting(fn, chunks, what="worker"):
        jobs.append((what, len(chunks)))
        return real(fn, chunks, what)

    monkeypatch.setattr(forked, "map_forked", counting)
    got = outputs(PREDS, REFS, workers=3)
    assert ("metrics lexing", 3) in jobs and ("metrics scoring", 3) in jobs
    assert_golden(got)


def test_a_full_cache_is_emptied_without_changing_a_number(cold, monkeypatch):
    monkeypatch.setattr(M, "LEX_CACHE_MAX", 50)  # far fewer than the set's distinct lines
    assert_golden(outputs(PREDS, REFS, workers=1))
    assert M.lex_cache_size() <= 50 + len(GOLDEN["outputs"]["lines"])


def test_lex_line_is_the_three_line_checks_in_one_parse():
    for line, expected in GOLDEN["outputs"]["lines"].items():
        got = java.lex_line(line)
        assert list(got.tokens) == expected["canonical"] and got.canonical == expected["canon"], repr(line)
        if line == line.strip():  # validity is asked of the stripped line, as the metrics ask it
            assert (got.valid, got.assertion) == (expected["valid"], expected["assertion"]), repr(line)


def _square(xs):
    return [x * x for x in xs]


def _fail_on_three(xs):
    if 3 in xs:
        raise ValueError("three")
    return xs


def test_map_forked_keeps_chunk_order_and_reports_a_child_failure():
    assert forked.map_forked(_square, [[1, 2], [3], [4, 5]]) == [[1, 4], [9], [16, 25]]
    with pytest.raises(RuntimeError, match=r"lexing process \d+ failed:(.|\n)*ValueError: three"):
        forked.map_forked(_fail_on_three, [[1], [2, 3]], "lexing")
