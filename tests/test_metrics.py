"""Metric tests. Expected values are worked out by hand (arithmetic in the comments),
never by calling the code under test."""
from __future__ import annotations

import math

import pytest

from trident import metrics as M

# PANS' distance decay, exp(-0.1·d), at the distances the hand-worked cases below use
E1, E2, E5 = math.exp(-0.1), math.exp(-0.2), math.exp(-0.5)


# A five-example corpus exercising every line-level case at once.
CORPUS_PREDS = [
    # whitespace variant + Assert. qualifier match; assertNotNull(y) is a wrong line
    "Assert.assertEquals( 3,x );\nassertTrue(flag);\nassertNotNull(y);",
    # both lines right but in swapped order; Assertions. qualifier
    "assertFalse(b);\nAssertions.assertEquals(1, a);",
    # one right line plus a malformed one
    "assertNotNull(z);\nassertEquals(3, x",
    # empty prediction (blank lines only)
    "  \n\n",
    # exact after canonicalisation
    "Assertions.assertEquals(5,list.size());",
]
CORPUS_REFS = [
    ["assertEquals(3, x);", "assertTrue(flag);", "assertNull(y);"],
    ["assertEquals(1, a);", "assertFalse(b);"],
    ["assertNotNull(z);"],
    ["assertTrue(ok);", "assertEquals(2, n);"],
    ["assertEquals(5, list.size());"],
]


# ---- line helpers ---------------------------------------------------------------------

def test_split_lines_drops_blank_and_strips():
    assert M.split_lines("  a;\n\n \t\nb; \n") == ["a;", "b;"]
    assert M.split_lines("") == []


def test_canonical_lines_whitespace_and_qualifiers():
    out = M.canonical_lines(["assertEquals( 3,x );", "Assert.assertEquals(3, x);",
                             "Assertions.assertEquals(3,  x) ;", "   "])
    assert out == ["assertEquals ( 3 , x ) ;"] * 3


# ---- exact match ----------------------------------------------------------------------

def test_exact_match_corpus():
    # only example 5 matches in order: ex1 has a wrong line, ex2 wrong order,
    # ex3 extra malformed line, ex4 empty -> 1/5
    assert M.exact_match(CORPUS_PREDS, CORPUS_REFS) == pytest.approx(0.2)


def test_exact_match_whitespace_and_qualified():
    preds = ["assertEquals( 3,x );", "Assert.assertTrue(a);", "Assertions.assertNull(b);"]
    refs = [["assertEquals(3, x);"], ["assertTrue(a);"], ["assertNull(b);"]]
    assert M.exact_match(preds, refs) == 1.0


def test_exact_match_order_matters_but_prf_does_not():
    preds = ["assertTrue(a);\nassertFalse(b);"]
    refs = [["assertFalse(b);", "assertTrue(a);"]]
    assert M.exact_match(preds, refs) == 0.0
    assert M.precision_recall_f1(preds, refs) == (1.0, 1.0, 1.0)


def test_exact_match_empty_prediction():
    assert M.exact_match([""], [["assertTrue(a);"]]) == 0.0


# ---- precision / recall / F1 ----------------------------------------------------------

def test_prf_corpus_micro():
    # ex1: P={aE(3,x), aT(flag), aNN(y)} R={aE(3,x), aT(flag), aNull(y)} tp2 fp1 fn1
    # ex2: same set, swapped order                                       tp2 fp0 fn0
    # ex3: P={aNN(z), "assertEquals ( 3 , x"} R={aNN(z)}                  tp1 fp1 fn0
    # ex4: P={}  R={aT(ok), aE(2,n)}                                      tp0 fp0 fn2
    # ex5: exact                                                          tp1 fp0 fn0
    # tp=6 fp=2 fn=3 -> P=6/8=0.75, R=6/9=2/3, F1=2*0.75*(2/3)/(0.75+2/3)=1/(17/12)=12/17
    p, r, f = M.precision_recall_f1(CORPUS_PREDS, CORPUS_REFS)
    assert p == pytest.approx(0.75)
    assert r == pytest.approx(2 / 3)
    assert f == pytest.approx(12 / 17)


def test_prf_malformed_is_false_positive():
    # P={"assertEquals ( 3 , x"} R={aE(3,x);}: tp0 fp1 fn1 -> all 0
    assert M.precision_recall_f1(["assertEquals(3, x"], [["assertEquals(3, x);"]]) == (0.0, 0.0, 0.0)


def test_prf_empty_prediction_contributes_fn():
    # ex1 exact: tp1; ex2 empty vs 2 refs: fn2 -> P=1/1, R=1/3, F1=2*(1/3)/(4/3)=0.5
    p, r, f = M.precision_recall_f1(["assertTrue(a);", ""],
                                    [["assertTrue(a);"], ["assertTrue(b);", "assertNull(c);"]])
    assert (p, r, f) == pytest.approx((1.0, 1 / 3, 0.5))


def test_prf_uses_sets():
    # duplicated predicted line counts once: tp1 fp0 fn0
    assert M.precision_recall_f1(["assertTrue(a);\nassertTrue(a);"], [["assertTrue(a);"]]) == (1.0, 1.0, 1.0)


def test_prf_all_empty_is_zero():
    assert M.precision_recall_f1([""], [[]]) == (0.0, 0.0, 0.0)


# ---- PANS -----------------------------------------------------------------------------

def test_pans_identical_and_empty():
    assert M.pans_score(["a", "b", "c"], ["a", "b", "c"]) == 1.0
    assert M.pans_score(["a"], ["a"]) == 1.0
    assert M.pans_score([], []) == 1.0
    assert M.pans_score([], ["a"]) == 0.0
    assert M.pans_score(["a"], []) == 0.0


def test_pans_shifted_tokens():
    # p=[a,b,c] r=[b,c]; N=min(4,3)=3, weights 1+2+3=6
    # s1: a unmatched; b@1->b@0 (|1-0|=1); c@2->c@1 (1): 2*E1/max(3,2) = 0.603224945
    # s2: ab unmatched; bc@1->bc@0 (1): E1/max(2,1) = 0.452418709
    # s3: r has no trigram -> 0
    # S = (0.603224945 + 2*0.452418709 + 0)/6 = 1.508062363/6 = 0.251343727
    assert M.pans_score(["a", "b", "c"], ["b", "c"]) == pytest.approx(0.251343727, abs=1e-9)


def test_pans_tie_takes_smaller_j_and_affects_later_matches():
    # p=[a,x,x] r=[x,b,x]; N=3, weights sum 6
    # s1: a unmatched; x@1 has x@0 and x@2 both at distance 1 -> tie, take j=0 (E1);
    #     x@2 then gets the remaining x@2 at distance 0 (1.0).  s1=(E1+1)/3=0.634945806
    #     (had the tie gone to j=2, x@2 would take j=0 at distance 2: (E1+E2)/3=0.574522724)
    # s2: {ax, xx} vs {xb, bx} -> 0;  s3: axx vs xbx -> 0
    # S = 0.634945806/6 = 0.105824301   (the wrong tie rule would give 0.095753787)
    assert M.pans_score(["a", "x", "x"], ["x", "b", "x"]) == pytest.approx(0.105824301, abs=1e-9)


def test_pans_denominator_is_max_ngram_count():
    # p=[a] r=[a,b,c]; N=min(4,3)=3
    # s1 = 1/max(1,3) = 1/3; s2 = s3 = 0 (p has no bigram) -> S = (1/3)/6 = 1/18
    assert M.pans_score(["a"], ["a", "b", "c"]) == pytest.approx(1 / 18)
    assert M.pans_score(["a", "b", "c"], ["a"]) == pytest.approx(1 / 18)


def test_pans_bounded():
    cases = [(["a"] * 5, ["a"]), (["a"], ["a"] * 5), (["a", "b"] * 4, ["b", "a"] * 4),
             (["x", "y"], ["y", "x"]), (["q"], ["r"])]
    for p, r in cases:
        s = M.pans_score(p, r)
        assert 0.0 <= s <= 1.0
        assert s < 1.0  # unequal sequences never reach 1


def test_pans_on_strings():
    # p = assertNotNull ( a ) ; assertTrue ( b ) ;   (10 tokens, positions 0..9)
    # r = assertTrue ( b ) ;                          (5 tokens, positions 0..4)
    # N=4, weights sum 10. Greedy in i order: the first line's "( ) ;" take r's at distance 0,
    # so the second line's "( ) ;" find nothing left.
    # s1: (@1->1, )@3->3, ;@4->4 at 0; assertTrue@5->0, b@7->2 at 5: (3+2*E5)/10 = 0.421306132
    # s2: ");"@3->3 at 0; "assertTrue (", "( b", "b )" at 5; ");"@8 none: (1+3*E5)/9 = 0.313287998
    # s3: the 3 ref trigrams all matched at distance 5: 3*E5/8 = 0.227448997
    # s4: the 2 ref 4-grams matched at distance 5: 2*E5/7 = 0.173294474
    # S = (0.421306132 + 2*0.313287998 + 3*0.227448997 + 4*0.173294474)/10 = 0.242340702
    pred = "assertNotNull(a);\nAssert.assertTrue( b );"
    ref = ["assertTrue(b);"]
    assert M.pans([pred], [ref]) == pytest.approx(0.242340702, abs=1e-8)


def test_pans_corpus_mean():
    # identical (1.0), empty pred (0.0), both empty (1.0) -> 2/3
    preds = ["assertEquals( 3,x );", "", ""]
    refs = [["Assertions.assertEquals(3, x);"], ["assertTrue(a);"], []]
    assert M.pans(preds, refs) == pytest.approx(2 / 3)


# ---- AST validity ---------------------------------------------------------------------

def test_ast_validity():
    assert M.ast_validity(["assertEquals(3, x);\nassertTrue(flag);\nassertNull(y);"]) == 1.0
    assert M.ast_validity(["assertTrue(a);\nassertEquals(3, x"]) == 0.0
    assert M.ast_validity([""]) == 0.0
    assert M.ast_validity([" \n "]) == 0.0


def test_ast_validity_corpus():
    # ex1, ex2, ex5 valid; ex3 has a malformed line; ex4 empty -> 3/5
    assert M.ast_validity(CORPUS_PREDS) == pytest.approx(0.6)


# ---- BLEU -----------------------------------------------------------------------------

def test_bleu_identical_is_one():
    assert M.bleu(["\n".join(r) for r in CORPUS_REFS], CORPUS_REFS) == pytest.approx(1.0)


def test_bleu_disjoint_is_zero():
    assert M.bleu(["foo"], [["bar"]]) == 0.0


def test_bleu_smoothed_by_hand():
    # hyp: assertTrue ( x ) ;   ref: assertTrue ( y ) ;   BP=1 (5 vs 5 tokens)
    # p1 = 4/5; p2 = 2/4 ("assertTrue (", ") ;"); p3 = 0/3 -> exp smoothing 1/(2*3);
    # p4 = 0/2 -> 1/(4*2).  BLEU = (0.8*0.5*(1/6)*(1/8))**0.25 = (1/120)**0.25 = 0.302137540
    assert M.bleu(["assertTrue(x);"], [["assertTrue(y);"]]) == pytest.approx(0.302137540, abs=1e-6)


def test_bleu_brevity_penalty_by_hand():
    # hyp 5 tokens all matching (p1..p4 = 1); ref 10 tokens -> BP = exp(1 - 10/5) = exp(-1)
    assert M.bleu(["assertTrue(x);"], [["assertTrue(x);", "assertNull(y);"]]) == pytest.approx(math.exp(-1))


def test_bleu_empty_hypothesis_does_not_crash():
    assert M.bleu([""], [["assertTrue(a);"]]) == 0.0
    # the empty example only adds reference length (brevity penalty), not an error
    assert 0.0 < M.bleu(["assertTrue(x);", ""], [["assertTrue(x);"], ["assertNull(y);"]]) < 1.0


def test_bleu_closer_prediction_scores_higher():
    ref = [["assertEquals(5, list.size());"]]
    near = M.bleu(["assertEquals(5, list.length());"], ref)
    far = M.bleu(["assertNull(list);"], ref)
    assert 0.0 <= far < near < 1.0


# ---- compute_all ----------------------------------------------------------------------

def test_compute_all_keys_and_values():
    out = M.compute_all(CORPUS_PREDS, CORPUS_REFS)
    assert set(out) == {"exact_match", "precision", "recall", "f1", "pans", "ast_validity", "assertion_validity",
                        "bleu"}
    assert out["assertion_validity"] == pytest.approx(0.6)  # the valid ones are all assertions
    assert out["exact_match"] == pytest.approx(0.2)
    assert (out["precision"], out["recall"], out["f1"]) == pytest.approx((0.75, 2 / 3, 12 / 17))
    assert out["ast_validity"] == pytest.approx(0.6)
    assert out["pans"] == pytest.approx(M.pans(CORPUS_PREDS, CORPUS_REFS))
    assert out["bleu"] == pytest.approx(M.bleu(CORPUS_PREDS, CORPUS_REFS))
    assert all(isinstance(v, float) for v in out.values())


def test_length_mismatch_raises():
    with pytest.raises(ValueError):
        M.compute_all(["assertTrue(a);"], [])
    with pytest.raises(ValueError):
        M.exact_match([], [["assertTrue(a);"]])


# ---- Java tokens: a string literal is one token (PANS, BLEU) ----------------------------

def test_canonical_tokens_keep_a_string_literal_whole():
    from trident import java

    assert java.canonical_tokens('Assert.assertEquals("Element not found", msg);') == \
        ["assertEquals", "(", '"Element not found"', ",", "msg", ")", ";"]


def test_pans_string_literal_with_spaces_is_one_token():
    # tokens: assertEquals ( LIT , msg ) ;  — 7 each, only LIT (position 2) differs, no token repeats,
    # so every match is at distance 0.  N=4, weights 1+2+3+4=10.
    # s1 = 6/7; s2 = 4/6 (bigrams at 0,3,4,5); s3 = 2/5 (trigrams at 3,4); s4 = 1/4 (4-gram at 3)
    # S = (6/7 + 2*4/6 + 3*2/5 + 4*1/4)/10 = (0.857142857 + 1.333333333 + 1.2 + 1)/10 = 0.439047619
    pred = 'assertEquals("Element not found", msg);'
    ref = ['assertEquals("Element found", msg);']
    assert M.pans([pred], [ref]) == pytest.approx(0.439047619, abs=1e-9)


def test_pans_english_garbage_matching_words_inside_a_literal_scores_zero():
    # the reference's only word tokens are assertEquals, msg and one literal "Element not found";
    # the garbage shares words with the literal, never a whole Java token
    assert M.pans(["Element not found"], [['assertEquals("Element not found", msg);']]) == 0.0
    assert M.pans(["not found"], [['assertTrue("not found".isEmpty());']]) == 0.0


def test_bleu_on_java_tokens_literal_with_spaces_by_hand():
    # the same 7-token pair as the PANS case: one token differs at position 2, BP = 1
    # p1 = 6/7, p2 = 4/6, p3 = 2/5, p4 = 1/4 (no smoothing needed)
    # BLEU = (6/7 * 4/6 * 2/5 * 1/4)**0.25 = (2/35)**0.25
    pred = 'assertEquals("Element not found", msg);'
    ref = ['assertEquals("Element found", msg);']
    assert M.bleu([pred], [ref]) == pytest.approx((2 / 35) ** 0.25, abs=1e-9)


def test_bleu_tokens_stay_distinct_after_escaping():
    # "a b" and "a%20;b" are different literals; escaping whitespace must not merge them.
    # identical 7-token structure with position 2 differing -> the same (2/35)**0.25 as above
    assert M.bleu(['assertEquals("a b", x);'], [['assertEquals("a%20;b", x);']]) == \
        pytest.approx((2 / 35) ** 0.25, abs=1e-9)
    assert M.bleu(['assertEquals("a b", x);'], [['assertEquals("a b", x);']]) == pytest.approx(1.0)


# ---- assertion validity --------------------------------------------------------------

NOT_ASSERTIONS = [";", "{}", "return;", "int x = 1;", "// c", "/* c */", "foo();", "assertTrue;",
                  "x = assertTrue(a);", "foo(assertTrue(a));", "list.add(1);", "assertTrue(a)",
                  "} void f() { assertTrue(a);", "int assertX = 1;", "new Assert();", "assertion(x);"]
ASSERTIONS = ["assertEquals(3, x);", "Assert.assertTrue(flag);", "org.junit.Assert.assertNull(y);",
              "fail();", "Assertions.fail(\"no\");", "assertThat(x).isEqualTo(3);",
              "Assertions.<Integer>assertThat(x).isNotNull();", "assertThat(list, hasSize(2));",
              "assertWithMessage(\"m\").that(x).isTrue();", "assertThrows(E.class, () -> f());",
              "assert x > 0;", "assertTrue(a); // why", "assertTrue(a); assertFalse(b);"]


@pytest.mark.parametrize("line", NOT_ASSERTIONS)
def test_assertion_validity_rejects_statements_that_assert_nothing(line):
    assert M.assertion_validity([line]) == 0.0


@pytest.mark.parametrize("line", ASSERTIONS)
def test_assertion_validity_accepts_assertions(line):
    assert M.assertion_validity([line]) == 1.0


def test_ast_validity_stays_syntactic():
    # the PRD's metric: these parse, so they count, though none asserts anything
    assert M.ast_validity([";", "{}", "return;", "int x = 1;", "foo();"]) == 1.0


def test_assertion_validity_every_line_must_assert():
    # ex1 all assertions; ex2 one line declares; ex3 empty; ex4 a malformed assertion -> 1/4
    preds = ["assertTrue(a);\nassertThat(b).isNull();", "int x = 1;\nassertEquals(1, x);", "", "assertTrue(a"]
    assert M.assertion_validity(preds) == pytest.approx(0.25)


def test_compute_all_has_assertion_validity():
    out = M.compute_all(["int x = 1;", "assertTrue(a);"], [["assertTrue(a);"], ["assertTrue(a);"]])
    assert out["ast_validity"] == 1.0 and out["assertion_validity"] == 0.5
    assert set(M.METRIC_KEYS) == set(out)


def test_summed_bleu_statistics_give_the_corpus_bleu():
    """The per-example statistics that bootstrap replicates sum must reproduce sacrebleu's own
    corpus score on the same tokens, including literals with spaces and empty predictions."""
    from trident import metrics as tm

    preds = ['assertEquals("a b", x);', "", "assertTrue(list.isEmpty());\nassertNull(y);", "assertEquals(1, 1);"]
    refs = [['assertEquals("a b", x);'], ["assertFalse(z);"], ["assertTrue(list.isEmpty());"], ["assertEquals(2, f(1));"]]
    exs = tm.prepare(preds, refs)
    summed = [sum(col) for col in zip(*(tm.bleu_statistics(ex) for ex in exs))]
    assert tm.bleu_from_statistics(summed) == pytest.approx(tm.bleu(preds, refs), abs=1e-12)
    assert 0 < tm.bleu(preds, refs) < 1
    one = tm.bleu_statistics(exs[0])
    # 'assertEquals ( "a b" , x ) ;' is 7 tokens: the literal is one of them
    assert one[0] == one[1] == 7 and one[2:6] == [7, 6, 5, 4] and one[6:] == [7, 6, 5, 4]
    assert tm.bleu_from_statistics([0] * 10) == 0.0
