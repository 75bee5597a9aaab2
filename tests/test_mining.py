"""`trident data mine`: the fixture project against its golden file, the focal-method rules stated
by hand, the extractor on tricky assertions, the split, the synthetic corpus round trip."""
import json
from collections import Counter
from pathlib import Path

import pytest

from trident import java
from trident.cli import main
from trident.data.mining.assertions import split_test_source
from trident.data.mining.focal import FOCAL_RULES
from trident.data.mining.miner import MineOptions, mine
from trident.data.mining.splits import assign, parse_ratios
from trident.data.records import PLACEHOLDER, load_split
from trident.data.synth.java_tree import write_java_tree
from trident.data.synth.writer import generate_records
from trident.errors import ConfigError

FIXTURE = Path(__file__).parent / "fixtures" / "mine-project"
GOLDEN = json.loads((Path(__file__).parent / "fixtures" / "mine-project.golden.json").read_text())
SPLITS = ("train", "val", "test")


def _records(out: Path) -> dict[str, list[dict]]:
    return {s: [json.loads(line) for line in (out / f"{s}.jsonl").open()] for s in SPLITS}


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    out = tmp_path_factory.mktemp("mined")
    stats = mine([FIXTURE], out, MineOptions(workers=1), progress=False)
    return out, stats


def test_fixture_mines_to_the_golden_records(mined):
    out, stats = mined
    assert _records(out) == GOLDEN["records"]
    assert stats.skipped == GOLDEN["skipped"]
    assert stats.unusable_files == GOLDEN["unusable_files"]
    assert (stats.java_files, stats.test_methods, stats.test_factories) == (
        GOLDEN["java_files"], GOLDEN["test_methods"], GOLDEN["test_factories"])
    assert (stats.focal_rules, stats.parse_failures, stats.frameworks) == (
        GOLDEN["focal_rules"], GOLDEN["parse_failures"], GOLDEN["frameworks"])


def test_fixture_counts_are_the_documented_ones(mined):
    """The numbers the fixture's README states, written down apart from the golden file."""
    out, stats = mined
    assert stats.skipped == {"no_assertion": 2, "too_many_assertions": 1, "text_block_in_assertion": 1,
                             "no_focal_class": 1, "no_focal_method": 2, "duplicate": 1,
                             "focal_method_abstract": 1, "built_by_builder": 1, "result_used_by_another_class": 1}
    assert (stats.java_files, stats.test_methods, stats.test_factories) == (42, 44, 1)
    # BrokenTest's missing parenthesis, and three of the four constructs tree-sitter-java 0.23.5
    # cannot parse (WhenLocal, `when` as a plain local, parses).
    grammar = "mine-project/extra/src/main/java/org/acme/extra/grammar/"
    assert stats.unusable_files == [
        {"file": "mine-project/core/src/test/java/org/acme/core/BrokenTest.java", "error": "parse error at line 9"},
        {"file": grammar + "EarlySuper.java", "error": "parse error at line 7"},
        {"file": grammar + "NonNullVarargs.java", "error": "parse error at line 5"},
        {"file": grammar + "PoundEscape.java", "error": "parse error at line 6"},
        {"file": grammar + "WhenLoop.java", "error": "parse error at line 9"}]
    assert stats.parse_failures == {"mine-project": 5}
    assert sum(stats.records.values()) == 33
    # Every test method is a record or one skip.
    assert sum(stats.records.values()) + sum(stats.skipped.values()) == stats.test_methods
    assert stats.focal_rules == {"test_name": 15, "effect_before_assertion": 7, "assertion": 8,
                                 "result_before_assertion": 1, "constructor": 1, "last_before_assertion": 1}
    assert stats.frameworks == {"junit3": 3, "junit4": 6, "junit5": 21, "testng": 3}
    saved = json.loads((out / "stats.json").read_text())
    assert saved["skipped"] == stats.skipped and saved["records"] == stats.records
    assert saved["focal_rules"] == stats.focal_rules and saved["parse_failures"] == {"mine-project": 5}


def test_each_test_maps_to_the_focal_method_the_readme_names(mined):
    out, _ = mined
    records = [r for rs in _records(out).values() for r in rs]
    got = {(r["test_class"], r["test_name"]): (r["focal_class"], r["focal_method"].split("(")[0].split()[-1],
                                               r["focal_method"].split(")")[0].count(","))
           for r in records}
    rules = {r["test_name"]: r["focal_rule"] for r in records}
    assert rules == {
        **dict.fromkeys(["testAdd", "shouldSubtract", "testDivide", "testReverse", "testIsBlank", "testJoin", "testSlug",
                         "testSlugs", "testIncrement", "testReset", "testValue", "testBalance", "testTick", "testArea",
                         "testConstructor_twoEnds"], "test_name"),
        **dict.fromkeys(["runningTotal", "stocking", "postsAndClears", "testAudit", "testClear", "recordsValues",
                         "keepsLimit"], "effect_before_assertion"),
        **dict.fromkeys(["throwsOnZero", "rejectsNull", "describesItself", "addsAmounts", "triples",
                         "rejectsMixedCurrencies", "rejectsReversedEnds", "containsItsEnds"], "assertion"),
        "shiftKeepsLength": "result_before_assertion", "pointHasLengthZero": "constructor",
        "refusesPastLimit": "last_before_assertion",
    }
    assert got == {
        ("org.acme.core.CalculatorTest", "testAdd"): ("org.acme.core.Calculator", "add", 2),  # the 3-argument overload
        ("org.acme.core.CalculatorTest", "shouldSubtract"): ("org.acme.core.Calculator", "subtract", 1),
        ("org.acme.core.CalculatorTest", "throwsOnZero"): ("org.acme.core.Calculator", "divide", 1),
        ("org.acme.core.CalculatorTest", "runningTotal"): ("org.acme.core.Calculator", "accumulate", 0),
        ("org.acme.core.CalculatorTest", "testDivide"): ("org.acme.core.Calculator", "divide", 1),
        ("org.acme.core.StringsTest", "testReverse"): ("org.acme.core.Strings", "reverse", 0),
        ("org.acme.core.StringsTest", "testIsBlank"): ("org.acme.core.Strings", "isBlank", 0),
        ("org.acme.core.StringsTest", "testJoin"): ("org.acme.core.Strings", "join", 1),
        ("org.acme.checks.SluggerTest", "testSlug"): ("org.acme.util.text.Slugger", "slug", 0),
        ("org.acme.checks.SluggerTest", "rejectsNull"): ("org.acme.util.text.Slugger", "slug", 0),
        ("org.acme.checks.SluggerTest", "testSlugs"): ("org.acme.util.text.Slugger", "slugs", 0),
        ("org.acme.legacy.CounterTest", "testIncrement"): ("org.acme.legacy.Counter", "increment", 0),
        ("org.acme.legacy.CounterTest", "testReset"): ("org.acme.legacy.Counter", "reset", 0),
        ("org.acme.legacy.TestCounter", "testValue"): ("org.acme.legacy.Counter", "value", 0),
        ("org.acme.app.InventoryTest", "stocking"): ("org.acme.app.Inventory", "add", 1),
        # an interface's default method; an abstract one through its only implementation (Circle)
        ("org.acme.shapes.ShapeTest", "describesItself"): ("org.acme.shapes.Shape", "describe", 0),
        ("org.acme.shapes.ShapeTest", "testArea"): ("org.acme.shapes.Circle", "area", 0),
        ("org.acme.twin.ClockTest", "testTick"): ("org.acme.twin.Clock", "tick", 0),  # beta's, by module
        ("org.acme.extra.LedgerTestCase", "testBalance"): ("org.acme.extra.Ledger", "balance", 0),
        ("org.acme.extra.LedgerTestCase", "testAudit"): ("org.acme.extra.Ledger", "post", 0),  # audit is private
        ("org.acme.extra.LedgerTestCase", "testClear"): ("org.acme.extra.Ledger", "post", 0),  # clear is not called
        ("org.acme.extra.LedgerIT", "postsAndClears"): ("org.acme.extra.Ledger", "clear", 0),
        ("org.acme.extra.MeterTest", "recordsValues"): ("org.acme.extra.Meter", "record", 0),  # class-level @Test
        ("org.acme.extra.MoneyTest", "addsAmounts"): ("org.acme.extra.Money", "plus", 0),  # not builder
        ("org.acme.extra.MoneyTest", "triples"): ("org.acme.extra.Money", "times", 0),  # not of, nor getAmount
        ("org.acme.extra.MoneyTest", "rejectsMixedCurrencies"): ("org.acme.extra.Money", "plus", 0),
        # constructors: named by the test, inside the assertion, read only through accessors
        ("org.acme.extra.IntervalTest", "testConstructor_twoEnds"): ("org.acme.extra.Interval", "Interval", 1),
        ("org.acme.extra.IntervalTest", "rejectsReversedEnds"): ("org.acme.extra.Interval", "Interval", 1),
        ("org.acme.extra.IntervalTest", "pointHasLengthZero"): ("org.acme.extra.Interval", "Interval", 0),
        ("org.acme.extra.IntervalTest", "shiftKeepsLength"): ("org.acme.extra.Interval", "shift", 0),  # not getStart
        # inherited: the class that declares it
        ("org.acme.extra.IntervalTest", "containsItsEnds"): ("org.acme.extra.Span", "contains", 0),
        # a setter is setup when the test calls another method; the focal method when it does not
        ("org.acme.extra.TallyTest", "refusesPastLimit"): ("org.acme.extra.Tally", "add", 0),
        ("org.acme.extra.TallyTest", "keepsLimit"): ("org.acme.extra.Tally", "setLimit", 0),
    }
    # A constructor's record names it as the JVM does, `<init>`; a method's by its name.
    names = {r["test_name"]: r["focal_method_name"] for r in records if r["test_class"] == "org.acme.extra.IntervalTest"}
    assert names == {"testConstructor_twoEnds": "<init>", "rejectsReversedEnds": "<init>",
                     "pointHasLengthZero": "<init>", "shiftKeepsLength": "shift", "containsItsEnds": "contains"}
    inherited = next(r for r in records if r["test_name"] == "containsItsEnds")
    assert inherited["focal_file"] == "extra/src/main/java/org/acme/extra/Span.java"
    assert inherited["focal_context"].startswith("class Span {")
    clock = next(r for r in records if r["test_name"] == "testTick")
    assert clock["focal_file"] == "twins/beta/src/main/java/org/acme/twin/Clock.java"
    shape = next(r for r in records if r["test_name"] == "describesItself")
    assert shape["focal_context"].startswith("interface Shape {")


def test_mined_records_are_whole_java_and_load(mined):
    out, _ = mined
    for split in SPLITS:
        for record in load_split(out, split):
            assert java.parses_as_method(record.focal_method), record.id
            assert not record.focal_method.lstrip().startswith("@"), "annotations are dropped"
            assert record.test_method_masked.count(PLACEHOLDER) == len(record.assertions)
            for a in record.assertions:
                assert "\n" not in a and java.is_assertion_statement(a), a
            filled = record.test_method_masked
            for a in record.assertions:
                filled = filled.replace(PLACEHOLDER, a, 1)
            assert java.parses_as_method(filled), record.id
            assert {"repo", "test_file", "test_class", "test_name", "focal_file", "focal_class"} <= set(record.extra)
            assert record.extra["focal_rule"] in FOCAL_RULES


def test_no_test_class_is_in_two_splits(mined, tmp_path):
    out, _ = mined
    for group_by, key in (("class", "test_class"), ("package", "test_class"), ("focal-class", "test_class")):
        target = tmp_path / group_by
        mine([FIXTURE], target, MineOptions(workers=1, group_by=group_by, ratios=(0.5, 0.25, 0.25)), progress=False)
        where = {}
        for split, records in _records(target).items():
            for r in records:
                unit = r[key].rsplit(".", 1)[0] if group_by == "package" else r[key]
                assert where.setdefault(unit, split) == split, f"{unit} in {where[unit]} and {split}"


def test_workers_do_not_change_the_output(tmp_path):
    records = generate_records(40, 3)
    write_java_tree(records, tmp_path / "tree")
    mine([tmp_path / "tree"], tmp_path / "one", MineOptions(workers=1), progress=False)
    mine([tmp_path / "tree"], tmp_path / "two", MineOptions(workers=2), progress=False)
    for split in SPLITS:
        assert (tmp_path / "one" / f"{split}.jsonl").read_bytes() == (tmp_path / "two" / f"{split}.jsonl").read_bytes()


def test_synthetic_corpus_written_as_java_mines_back_to_itself(tmp_path):
    """Every synthetic record, written as a focal class and a test class, comes back whole."""
    records = generate_records(200, 11)
    write_java_tree(records, tmp_path / "tree")
    stats = mine([tmp_path / "tree"], tmp_path / "out", MineOptions(), progress=False)
    key = lambda r: (r["focal_method"], r["test_method_masked"], tuple(r["assertions"]))  # noqa: E731
    want = Counter(key(r) for r in records)
    got = Counter(key(r) for rs in _records(tmp_path / "out").values() for r in rs)
    assert set(got) == set(want) and max(got.values()) == 1
    assert stats.skipped == ({"duplicate": sum(want.values()) - len(want)} if sum(want.values()) > len(want) else {})


def test_several_roots_split_by_repository(tmp_path):
    for name, seed in (("alpha", 1), ("beta", 2), ("gamma", 3), ("delta", 4)):
        write_java_tree(generate_records(15, seed), tmp_path / name)
    out = tmp_path / "out"
    stats = mine([tmp_path / n for n in ("alpha", "beta", "gamma", "delta")], out, MineOptions(), progress=False)
    assert stats.group_by == "repo"
    repos = {s: {r["repo"] for r in rs} for s, rs in _records(out).items()}
    assert sum(len(v) for v in repos.values()) == 4 and not (repos["train"] & (repos["val"] | repos["test"]))


def test_filters_min_max_and_length(tmp_path):
    stats = mine([FIXTURE], tmp_path / "a", MineOptions(workers=1, min_assertions=2, max_assertions=2), progress=False)
    kept = [r for rs in _records(tmp_path / "a").values() for r in rs]
    assert kept and all(len(r["assertions"]) == 2 for r in kept)
    # 25 one-assertion records, and the one-assertion tests skipped later for another reason
    # (the duplicate, the 4-argument add, the missing Report, the text block, the abstract Polygon.sides,
    # TallyTest.snapshotHoldsNothingAtFirst): the count comes first. Two-assertion records: 4, and
    # IntervalTest's testConstructor_twoEnds, pointHasLengthZero, shiftKeepsLength and containsItsEnds.
    assert len(kept) == 8 and stats.skipped["too_few_assertions"] == 25 + 6
    stats = mine([FIXTURE], tmp_path / "b", MineOptions(workers=1, max_chars=120), progress=False)
    for r in (r for rs in _records(tmp_path / "b").values() for r in rs):
        assert len(r["focal_method"]) + len(r["test_method_masked"]) + sum(map(len, r["assertions"])) <= 120
    assert stats.skipped["too_long"] > 0


def test_max_chars_bounds_each_assertion_and_counts_the_drop(mined, tmp_path):
    """MoneyTest.rejectsMixedCurrencies: an assertThrows whose lambda holds three statements."""
    out, _ = mined
    record = next(r for rs in _records(out).values() for r in rs if r["test_name"] == "rejectsMixedCurrencies")
    (lambda_assertion,) = record["assertions"]
    assert lambda_assertion.startswith("assertThrows(IllegalArgumentException.class, () -> { Money dollars")
    bound = len(lambda_assertion) - 1  # every other assertion of the fixture is far shorter
    assert max(len(a) for rs in _records(out).values() for r in rs for a in r["assertions"]
               if a != lambda_assertion) < bound
    stats = mine([FIXTURE], tmp_path / "o", MineOptions(workers=1, max_chars=bound), progress=False)
    assert stats.skipped["assertion_too_long"] == 1
    kept = [r for rs in _records(tmp_path / "o").values() for r in rs]
    assert "rejectsMixedCurrencies" not in {r["test_name"] for r in kept}
    assert sum(stats.records.values()) + sum(stats.skipped.values()) == stats.test_methods  # nothing dropped silently


def test_extractor_folds_multiline_assertions_and_finds_them_anywhere():
    split = split_test_source("""@Test
    void t() {
        Foo foo = new Foo(); // keep me
        assertEquals(
            3, // three
            foo.size() /* now */);
        for (int i : foo.items()) {
            assertTrue(i > 0);
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> {
            foo.boom(); // boom
        });
        assertThat(foo.name())
            .isNotNull()
            .startsWith("f");
        assertThat(foo.size(), is(3));
        assert foo != null : "present";
        fail("never");
        verify(foo).size();
        assertionsChecked();
    }""")
    assert split.assertions == (
        "assertEquals(3, foo.size());",
        "assertTrue(i > 0);",
        "org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> { foo.boom(); });",
        'assertThat(foo.name()).isNotNull().startsWith("f");',
        "assertThat(foo.size(), is(3));",
        'assert foo != null : "present";',
        'fail("never");',
    )
    assert split.kinds == ("junit", "junit", "junit", "assertj", "hamcrest", "java_assert", "fail")
    assert split.masked == """@Test
void t() {
    Foo foo = new Foo(); // keep me
    <AssertPlaceHolder>;
    for (int i : foo.items()) {
        <AssertPlaceHolder>;
    }
    <AssertPlaceHolder>;
    <AssertPlaceHolder>;
    <AssertPlaceHolder>;
    <AssertPlaceHolder>;
    <AssertPlaceHolder>;
    verify(foo).size();
    assertionsChecked();
}"""


def test_extractor_keeps_string_literals_byte_for_byte():
    split = split_test_source('void t() {\n    assertEquals("a  b // not a comment", x);\n}')
    assert split.assertions == ('assertEquals("a  b // not a comment", x);',)
    assert split_test_source("void t() { assertEquals(1, x) }") is None  # does not parse


def test_split_ratios_and_assignment():
    assert parse_ratios("80/10/10") == (0.8, 0.1, 0.1)
    assert parse_ratios("8/1/1") == (0.8, 0.1, 0.1)
    for bad in ("80/20", "a/b/c", "-1/1/1", "0/0/0"):
        with pytest.raises(ConfigError, match="--split"):
            parse_ratios(bad)
    sizes = {f"g{i}": 1 + i % 7 for i in range(300)}
    where = assign(sizes, (0.8, 0.1, 0.1), seed=5)
    assert where == assign(sizes, (0.8, 0.1, 0.1), seed=5)
    assert where != assign(sizes, (0.8, 0.1, 0.1), seed=6)
    total = sum(sizes.values())
    share = {s: sum(n for g, n in sizes.items() if where[g] == s) / total for s in SPLITS}
    assert share["train"] == pytest.approx(0.8, abs=0.01) and share["val"] == pytest.approx(0.1, abs=0.01)


def test_cli_mines_and_names_bad_options(tmp_path, capsys):
    assert main(["data", "mine", str(FIXTURE), "--out", str(tmp_path / "o"), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "mined 42 Java files" in text and "files/s" in text
    assert ("focal rules: assertion 8, constructor 1, effect_before_assertion 7, last_before_assertion 1, "
            "result_before_assertion 1, test_name 15") in text
    assert "BrokenTest.java: parse error at line 9" in text and "no_focal_class 1" in text
    assert main(["data", "mine", str(FIXTURE), "--out", str(tmp_path / "p"), "--split", "80/20"]) == 2
    assert "--split" in capsys.readouterr().err
    assert main(["data", "mine", str(tmp_path / "missing"), "--out", str(tmp_path / "q")]) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["data", "mine", str(FIXTURE), "--out", str(tmp_path / "afile")]) == 2
    assert "--out" in capsys.readouterr().err and (tmp_path / "afile").read_text() == "x"


def test_mined_data_trains_and_evaluates_with_the_same_commands(tmp_path, capsys):
    """Mined records (with provenance and focal contexts) through `trident train` and `evaluate`."""
    from conftest import tiny_overrides

    write_java_tree(generate_records(120, 0), tmp_path / "repo")
    assert main(["data", "mine", str(tmp_path / "repo"), "--out", str(tmp_path / "data")]) == 0
    args = ["--config", "experiments/legacy.yaml",
            *tiny_overrides(tmp_path / "data", tmp_path / "runs", name="mined",
                            **{"data.focal_context": "class-signatures", "data.max_source_len": 160})]
    assert main(["train", *args]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--run", str(tmp_path / "runs" / "mined"), "--split", "test"]) == 0
    out = capsys.readouterr().out
    assert "test split (12 records)" in out and "focal contexts cut" in out
    predictions = (tmp_path / "runs" / "mined" / "eval" / "test" / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 12


def test_overloads_are_told_apart_by_argument_count_and_the_types_the_test_shows():
    from trident.data.mining.focal import FocalClass, focal_method
    from trident.data.mining.javafile import summarise

    focal = summarise(b"""package p;
public class Fmt {
    public String format(String s) { return s; }
    public String format(int n) { return "" + n; }
    public String format(long n) { return "L" + n; }
    public String format(Object o) { return "o"; }
    public String format(String pattern, Object... args) { return pattern; }
    public String format(Fmt a, Fmt b) { return "ff"; }
}
""", "Fmt.java")
    tests = summarise(b"""package p;
class FmtTest {
    private final Fmt fmt = new Fmt();
    @Test void testFormat() { assertEquals("x", fmt.format("x")); }
    @Test void testFormatInt() { int n = 3; assertEquals("3", fmt.format(n)); }
    @Test void testFormatLong() { assertEquals("L3", fmt.format(3L)); }
    @Test void testFormatObject() { assertEquals("o", fmt.format(new StringBuilder())); }
    @Test void testFormatVarargs() { assertEquals("a", fmt.format("a", 1, 2)); }
    @Test void testFormatPair() { assertEquals("ff", fmt.format(fmt, null)); }
    @Test void testFormatUnknown() { assertEquals("?", fmt.format(fmt.toString() + "")); }
}
""", "FmtTest.java")
    cls = FocalClass(focal.classes[0], focal)
    picked = {}
    for t in tests.tests:
        linked = focal_method(t, cls)
        picked[t.name] = linked.method.signature if linked.method else linked.reason
    assert picked == {
        "testFormat": "public String format(String s)",  # String matches exactly; Object also fits, less exactly
        "testFormatInt": "public String format(int n)",  # a declared int; long and Object also accept one
        "testFormatLong": "public String format(long n)",  # 3L cannot go to int, String or Fmt
        "testFormatObject": "public String format(Object o)",  # StringBuilder is no String (final) nor int
        "testFormatVarargs": "public String format(String pattern, Object... args)",  # only it takes 3 arguments
        "testFormatPair": "public String format(Fmt a, Fmt b)",  # a Fmt is no String, so not the varargs one
        "testFormatUnknown": "focal_method_overload_ambiguous",  # a concatenation's type is not read: String or Object
    }


def test_unreadable_files_are_named_and_the_rest_is_mined(tmp_path):
    write_java_tree(generate_records(3, 1), tmp_path / "repo")
    bad = tmp_path / "repo" / "src" / "test" / "java" / "Latin1Test.java"
    bad.write_bytes(b"class Latin1Test {\n  // caf\xe9\n}\n")
    bom = tmp_path / "repo" / "src" / "main" / "java" / "Bom.java"
    bom.write_bytes(b"\xef\xbb\xbfpublic class Bom { int f() { return 1; } }\n")
    stats = mine([tmp_path / "repo"], tmp_path / "out", MineOptions(workers=1), progress=False)
    assert stats.unusable_files == [{"file": "repo/src/test/java/Latin1Test.java", "error": "not UTF-8 text (line 2)"}]
    assert sum(stats.records.values()) == 3 and stats.java_files == 8


def test_an_empty_tree_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "empty" / "src").mkdir(parents=True)
    (tmp_path / "empty" / "README.md").write_text("no java here")
    assert main(["data", "mine", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no .java files under" in err[0] and str(tmp_path / "empty") in err[0]
    assert not (tmp_path / "o").exists()  # nothing written


def test_files_over_the_size_cap_are_skipped_and_counted(tmp_path):
    write_java_tree(generate_records(3, 1), tmp_path / "repo")
    huge = tmp_path / "repo" / "src" / "main" / "java" / "Generated.java"
    huge.write_text("public class Generated {\n" + "".join(
        f"    int f{i}() {{ return {i}; }}\n" for i in range(3000)) + "}\n")
    size = huge.stat().st_size
    stats = mine([tmp_path / "repo"], tmp_path / "out", MineOptions(workers=1, max_file_bytes=size - 1), progress=False)
    assert stats.files_over_max_bytes == 1 and stats.java_files == 7 and sum(stats.records.values()) == 3
    assert {"file": "repo/src/main/java/Generated.java",
            "error": f"{size} bytes, over --max-file-bytes={size - 1}"} in stats.unusable_files
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["files_over_max_bytes"] == 1


def test_mining_replaces_the_output_folder_whole_or_not_at_all(tmp_path, monkeypatch):
    from trident.data.mining import miner

    write_java_tree(generate_records(6, 2), tmp_path / "repo")
    out = tmp_path / "out"
    mine([tmp_path / "repo"], out, MineOptions(workers=1), progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"train.jsonl", "val.jsonl", "test.jsonl", "stats.json"}

    # a mining that dies while writing its files (here: after train.jsonl) leaves the earlier one whole
    real = miner.atomic_write_jsonl
    def dies_after_train(path, rows):
        real(path, rows)
        if path.name == "train.jsonl":
            raise KeyboardInterrupt
    monkeypatch.setattr(miner, "atomic_write_jsonl", dies_after_train)
    with pytest.raises(KeyboardInterrupt):
        mine([FIXTURE], out, MineOptions(workers=1), progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no scratch folder left
    monkeypatch.undo()

    # a finished one replaces every file, and a folder holding anything else is refused untouched
    mine([FIXTURE], out, MineOptions(workers=1), progress=False)
    assert json.loads((out / "stats.json").read_text())["roots"] == [str(FIXTURE)]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds other files than a mining's"):
        mine([FIXTURE], out, MineOptions(workers=1), progress=False)
    assert (out / "notes.txt").read_text() == "mine"


def _linked(focal_src: bytes, test_src: bytes, *more: bytes) -> dict[str, tuple[str | None, str | None]]:
    """test name → (focal method name or skip reason, rule) for tests against the first class of `focal_src`."""
    from trident.data.mining.focal import ClassIndex, FocalClass, focal_method
    from trident.data.mining.javafile import summarise

    files = [summarise(src, f"src/main/java/F{i}.java") for i, src in enumerate((focal_src, *more))]
    index = ClassIndex(files, lambda f: False)
    focal = FocalClass(files[0].classes[0], files[0])
    out = {}
    for t in summarise(test_src, "src/test/java/T.java").tests:
        linked = focal_method(t, focal, index)
        out[t.name] = ((linked.focal.decl.name + "." + linked.method.name) if linked.method else linked.reason, linked.rule)
    return out


def test_setup_calls_give_way_to_the_method_under_test():
    """The findings' cases, by hand: a factory, a builder or getInstance() called first, the
    method under test inside the assertion or further down a chain."""
    years = b"""package p;
public final class Years {
    public static Years years(int n) { return new Years(); }
    public static Years getInstance() { return new Years(); }
    public static Builder builder() { return new Builder(); }
    public Years multipliedBy(int k) { return this; }
    public Years plus(Years o) { return this; }
    public int getYears() { return 0; }
    public void clear() { }
    public Iterator<Years> listIterator() { return null; }
    private int secret() { return 1; }
    public String toString() { return "P"; }
    public static final class Builder {
        public Builder value(int v) { return this; }
        public Years build() { return new Years(); }
    }
}
"""
    tests = b"""package p;
class YearsTest {
    @Test void timesThree() { assertEquals(6, Years.years(2).multipliedBy(3).getYears()); }
    @Test void testPlus_twoYears() { Years y = Years.years(2); assertEquals(4, y.plus(y).getYears()); }
    @Test void plusWorks() {
        Years two = Years.builder().value(2).build();
        assertEquals(4, two.plus(Years.years(2)).getYears());
    }
    @Test void viaInstance() { Years y = Years.getInstance(); assertEquals(0, y.multipliedBy(2).getYears()); }
    @Test void getter() { Years y = Years.years(3); int n = y.getYears(); assertEquals(3, n); }
    @Test void clears() { Years y = Years.years(3); y.getYears(); y.clear(); assertEquals(0, y.getYears()); }
    @Test void onlyFactory() { assertNotNull(Years.years(1)); }
    @Test void testSecret() { Years y = Years.years(1); assertEquals(1, y.getYears()); }
    @Test void testListIterator() { Years y = Years.years(1); assertNotNull(y.listIterator()); }
    @Test void otherReceiver() { List<Years> list = new ArrayList<>(); list.clear(); assertEquals(0, Years.years(0).getYears()); }
    @Test void printed() { Years y = Years.years(1); assertEquals("P", toString(y)); }
    @Test void wrongArity() { Years y = Years.getInstance(); y.clear(1); assertEquals(0, y.getYears()); }
    private static String toString(Years y) { return y.toString(); }
}
"""
    assert _linked(years, tests) == {
        "timesThree": ("Years.multipliedBy", "assertion"),  # not years (a factory) nor getYears (an accessor)
        "testPlus_twoYears": ("Years.plus", "test_name"),  # the name up to its `_`
        "plusWorks": ("Years.plus", "assertion"),  # not builder; value and build are the Builder's
        "viaInstance": ("Years.multipliedBy", "assertion"),  # not getInstance
        "getter": ("Years.getYears", "only_call"),  # an accessor is the focal method when nothing else is called
        "clears": ("Years.clear", "effect_before_assertion"),  # the dropped-result getYears() is an accessor
        "onlyFactory": ("Years.years", "factory"),  # a factory when nothing else is called
        "testSecret": ("Years.getYears", "assertion"),  # secret is private: never focal
        "testListIterator": ("Years.listIterator", "test_name"),
        "otherReceiver": ("Years.getYears", "assertion"),  # list.clear() is a List's, not Years.clear
        "printed": ("Years.years", "factory"),  # toString(y) is the test class's own helper, not Years.toString()
        "wrongArity": ("Years.getYears", "assertion"),  # clear(1) cannot be Years.clear(): it takes no argument
    }


def test_abstract_methods_take_their_only_implementation():
    shape = b"package p;\npublic interface Shape { double area(); int sides(); String label(); default String name() { return \"s\"; } }\n"
    circle = b"package p;\npublic class Circle implements Shape { public double area() { return 3; } public int sides() { return 0; } }\n"
    square = b"package p;\npublic abstract class Square implements Shape { public double area() { return 4; } }\n"
    # reached twice (implements Shape, and extends Base, which implements Shape): still one implementation
    base = b"package p;\npublic abstract class Base implements Shape { }\n"
    tri = b"package p;\npublic class Tri extends Base implements Shape { public String label() { return \"t\"; } }\n"
    tests = b"""package p;
class ShapeTest {
    @Test void testArea() { Shape s = new Circle(); assertEquals(3, s.area(), 0); }
    @Test void testSides() { Shape s = new Circle(); assertEquals(0, s.sides()); }
    @Test void testName() { Shape s = new Circle(); assertEquals("s", s.name()); }
    @Test void testLabel() { Shape s = new Tri(); assertEquals("t", s.label()); }
}
"""
    assert _linked(shape, tests, circle, square, base, tri) == {
        "testArea": ("focal_method_abstract", None),  # Circle and Square both implement area: no rule applies
        "testSides": ("Circle.sides", "test_name"),  # only Circle does
        "testName": ("Shape.name", "test_name"),  # a default method has a body
        "testLabel": ("Tri.label", "test_name"),
    }


def test_test_class_names_modules_testng_class_tests_and_wildcard_frameworks():
    from trident.data.mining.focal import focal_class_names, module
    from trident.data.mining.javafile import summarise

    assert focal_class_names("LedgerTestCase")[0] == "Ledger"
    assert focal_class_names("LedgerIT") == ["Ledger"] and focal_class_names("LedgerTests")[0] == "Ledger"
    assert module("twins/beta/src/test/java/org/acme/T.java") == module("twins/beta/src/main/java/org/acme/C.java") == "twins/beta"
    assert module("legacy/test/org/T.java") == module("legacy/src/org/C.java") == "legacy"
    assert module("src/main/java/C.java") == ""

    testng = summarise(b"""import org.testng.annotations.*;
@Test
public class MeterTest {
    @BeforeMethod public void setUp() { }
    public void records() { assertEquals(1, 1); }
    @Test(enabled = true) public void annotated() { assertEquals(1, 1); }
    public int value() { return 1; }
    public static void helper() { }
    void packagePrivate() { }
}
""", "MeterTest.java")
    assert [(t.name, t.framework) for t in testng.tests] == [("records", "testng"), ("annotated", "testng")]

    def framework(imports: str) -> str:
        return summarise(f"{imports}\nclass T {{ @Test void t() {{ assertTrue(true); }} }}\n".encode(), "T.java").tests[0].framework

    assert framework("import org.junit.jupiter.api.*;") == "junit5"
    assert framework("import org.testng.annotations.*;") == "testng"
    assert framework("import org.junit.*;") == "junit4"
    # a static wildcard names a class's members, not the annotation: it is passed over
    assert framework("import static org.junit.Assert.*;\nimport org.testng.annotations.*;") == "testng"
    assert framework("import static org.junit.jupiter.api.Assertions.*;") == "junit"
    assert framework("import org.junit.jupiter.api.*;\nimport org.junit.Test;") == "junit4"  # a single-type import wins


def test_constructors_accessors_setters_builders_and_inherited_methods():
    """The rules added after the labelled sample (benchmarks/focal_labels.md), by hand: accessors
    only read what the test made, so the call or constructor that made it is focal; setters are
    setup; a builder's product has no single focal method; inherited methods by their declaring class."""
    base = b"""package p;
public abstract class Base {
    public int weight() { return 1; }
}
"""
    box = b"""package p;
public class Box extends Base {
    public Box(int size) { }
    public Box(String label) { }
    private Box() { }
    public static Builder builder() { return new Builder(); }
    public Box grow(int by) { return this; }
    public int getSize() { return 0; }
    public void setLabel(String label) { }
    public boolean fits(Box other) { return true; }
    public List<Integer> parts() { return null; }
    public static final class Builder {
        public Builder size(int s) { return this; }
        public Box build() { return new Box(1); }
    }
}
"""
    tests = b"""package p;
class BoxTest {
    @Test void testConstructor_label() { Box b = new Box("x"); assertEquals(0, b.getSize()); }
    @Test void rejectsZero() { assertThrows(IllegalArgumentException.class, () -> new Box(0)); }
    @Test void sized() { Box b = new Box(3); assertEquals(3, b.getSize()); }
    @Test void grown() { Box b = new Box(3).grow(2); assertEquals(5, b.getSize()); }
    @Test void built() { Box b = Box.builder().size(2).build(); assertEquals(2, b.getSize()); }
    @Test void anonymous() { Box b = new Box(3) { }; assertEquals(3, b.getSize()); }
    @Test void labelled() { Box b = new Box(1); b.setLabel("a"); boolean ok = b.fits(b); assertTrue(ok); }
    @Test void labelOnly() { Box b = new Box(1); b.setLabel("a"); assertEquals(0, b.getSize()); }
    @Test void weighs() { Box b = new Box(1); assertEquals(1, b.weight()); }
    @Test void asBase() { Base b = new Box(1); assertEquals(1, b.weight()); }
    @Test void partsCounted() { Box b = new Box(1); int n = b.parts().size(); assertEquals(0, n); }
}
"""
    assert _linked(box, tests, base) == {
        "testConstructor_label": ("Box.Box", "test_name"),  # the name says constructor; Box(String), by the argument
        "rejectsZero": ("Box.Box", "assertion"),  # `new Box(0)` is what the assertThrows checks: Box(int)
        "sized": ("Box.Box", "constructor"),  # getSize only reads what the constructor made
        "grown": ("Box.grow", "result_before_assertion"),  # getSize reads grow's result
        "built": ("built_by_builder", None),  # getSize reads what the builder built
        "anonymous": ("Box.getSize", "assertion"),  # `new Box(3) { }` makes a subclass: not Box's constructor
        "labelled": ("Box.fits", "last_before_assertion"),  # setLabel configures; fits is under test
        "labelOnly": ("Box.setLabel", "effect_before_assertion"),  # nothing else called: the setter is
        "weighs": ("Base.weight", "assertion"),  # inherited: named by the class that declares it
        "asBase": ("no_focal_method", None),  # weight on a Base: not the constructor, not a Box's call
        "partsCounted": ("result_used_by_another_class", None),  # parts() only feeds List.size()
    }
    from trident.data.mining.javafile import CONSTRUCTOR, summarise
    (test,) = [t for t in summarise(tests, "src/test/java/T.java").tests if t.name == "rejectsZero"]
    (made,) = [c for c in test.calls if c.name == CONSTRUCTOR]
    assert (made.receiver_type, made.args, made.arg_types, made.in_assertion) == ("Box", 1, ("int",), True)


def test_try_with_resources_variables_have_their_declared_type():
    from trident.data.mining.javafile import summarise
    src = b"""package p;
class T {
    @Test void t() throws Exception {
        try (Writer w = open(); Stream s = Stream.of(1)) { w.flush(); assertTrue(s.close()); }
    }
}
"""
    (test,) = summarise(src, "src/test/java/T.java").tests
    types = {c.name: c.receiver_type for c in test.calls}
    assert types["flush"] == "Writer" and types["close"] == "Stream"
