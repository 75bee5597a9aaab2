"""`trident data mine`: the fixture project against its golden file, the focal-method rules stated
by hand, the extractor on tricky assertions, the split, the synthetic corpus round trip."""
import json
from collections import Counter
from pathlib import Path

import pytest

from trident import java
from trident.cli import main
from trident.data.mining.assertions import split_test_source
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


def test_fixture_counts_are_the_documented_ones(mined):
    """The numbers the fixture's README states, written down apart from the golden file."""
    out, stats = mined
    assert stats.skipped == {"no_assertion": 2, "too_many_assertions": 1, "text_block_in_assertion": 1,
                             "no_focal_class": 1, "focal_method_overload_ambiguous": 1, "duplicate": 1}
    assert (stats.java_files, stats.test_methods, stats.test_factories) == (15, 22, 1)
    assert stats.unusable_files == [{"file": "mine-project/core/src/test/java/org/acme/core/BrokenTest.java",
                                     "error": "parse error at line 9"}]
    assert sum(stats.records.values()) == 15
    saved = json.loads((out / "stats.json").read_text())
    assert saved["skipped"] == stats.skipped and saved["records"] == stats.records


def test_each_test_maps_to_the_focal_method_the_readme_names(mined):
    out, _ = mined
    got = {(r["test_class"], r["test_name"]): (r["focal_class"], r["focal_method"].split("(")[0].split()[-1],
                                               r["focal_method"].split(")")[0].count(","))
           for rs in _records(out).values() for r in rs}
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
    }


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
    # 11 one-assertion records, and the one-assertion tests skipped later for another reason
    # (the duplicate, the overload, the missing Report, the text block): the count comes first.
    assert len(kept) == 4 and stats.skipped["too_few_assertions"] == 11 + 4
    stats = mine([FIXTURE], tmp_path / "b", MineOptions(workers=1, max_chars=120), progress=False)
    for r in (r for rs in _records(tmp_path / "b").values() for r in rs):
        assert len(r["focal_method"]) + len(r["test_method_masked"]) <= 120
    assert stats.skipped["too_long"] > 0


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
    assert "mined 15 Java files" in text and "files/s" in text
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
