"""`trident data import`: methods2test, ATLAS and mapped JSONL, each on a small file of its format
with malformed lines, under both bad-input policies."""
import gzip
import json
from pathlib import Path

import pytest

from trident.cli import main
from trident.data.importers.atlas import split_input, end_of_test_method
from trident.data.importers.jsonl import parse_mapping
from trident.data.importers.registry import ImportOptions
from trident.data.importers.run import import_corpus
from trident.data.records import load_split
from trident.errors import BadRecord, ConfigError, DataError

SPLITS = ("train", "val", "test")


def _records(out: Path) -> dict[str, list[dict]]:
    return {s: [json.loads(line) for line in (out / f"{s}.jsonl").open()] for s in SPLITS}


# --------------------------------------------------------------------------- methods2test

def _m2t_case(test_body: str, focal_body: str, test_name="testAdd") -> dict:
    return {
        "repository": {"repo_id": 42, "url": "https://example.org/acme/calc"},
        "test_class": {"identifier": "CalculatorTest", "file": "src/test/java/CalculatorTest.java"},
        "test_case": {"identifier": test_name, "body": test_body},
        "focal_class": {"identifier": "Calculator", "superclass": "extends Base", "file": "src/main/java/Calculator.java",
                        "fields": [{"original_string": "private int total;"}],
                        "methods": [{"full_signature": "public Calculator()", "constructor": True, "modifiers": "public"},
                                    {"full_signature": "public int add(int a, int b)", "constructor": False, "modifiers": "public"},
                                    {"full_signature": "private void reset()", "constructor": False, "modifiers": "private"}]},
        "focal_method": {"identifier": "add", "body": focal_body},
    }


ADD = "@Override\n    public int add(int a, int b) {\n        return a + b;\n    }"
TEST = ("@Test\n    public void testAdd() {\n        Calculator c = new Calculator();\n"
        "        assertEquals(3,\n            c.add(1, 2));\n    }")


@pytest.fixture
def m2t(tmp_path):
    root = tmp_path / "dataset"
    for split in ("train", "eval", "test"):
        (root / split / "42").mkdir(parents=True)
    (root / "train/42/42_1.json").write_text(json.dumps(_m2t_case(TEST, ADD), indent=2))
    (root / "train/42/42_2.json").write_text(json.dumps(_m2t_case(
        "@Test\n    public void testNothing() {\n        new Calculator().add(1, 1);\n    }", ADD, "testNothing")))
    (root / "train/42/42_3.json").write_text('{\n  "test_case": {"body": "x"},\n  oops\n}')  # invalid JSON, line 3
    (root / "eval/42/42_4.json").write_text(json.dumps(_m2t_case(TEST.replace("testAdd", "testAddAgain"), ADD)))
    (root / "test/42/42_5.json").write_text(json.dumps({"test_case": {"body": TEST}}))  # no focal_method
    (root / "test/42/42_6.json").write_text(json.dumps(_m2t_case(TEST.replace("3,", "4,"), ADD)))
    return root


def test_methods2test_imports_with_the_miners_extractor(m2t, tmp_path):
    stats = import_corpus("methods2test", m2t, tmp_path / "out", skip_bad=True)
    assert stats.records == {"train": 1, "val": 1, "test": 1}  # eval/ is our val
    assert stats.skipped == {"no_assertion": 1}
    assert stats.bad_records == {"invalid_json": 1, "missing_field": 1}
    record = _records(tmp_path / "out")["train"][0]
    assert record["focal_method"] == "public int add(int a, int b) {\n    return a + b;\n}"  # @Override dropped
    assert record["test_method_masked"] == ("@Test\npublic void testAdd() {\n    Calculator c = new Calculator();\n"
                                            "    <AssertPlaceHolder>;\n}")
    assert record["assertions"] == ["assertEquals(3, c.add(1, 2));"]
    assert record["focal_context"] == ("class Calculator extends Base {\n    private int total;\n"
                                       "    public Calculator();\n    public int add(int a, int b);\n}")
    assert record["repo"] == "https://example.org/acme/calc" and record["test_class"] == "CalculatorTest"
    assert [r.id for r in load_split(tmp_path / "out", "test")] == ["methods2test/test/42/42_6.json"]


def test_methods2test_stops_at_the_first_malformed_file_by_default(m2t, tmp_path):
    with pytest.raises(BadRecord, match=r"42_3\.json:3: invalid JSON"):
        import_corpus("methods2test", m2t, tmp_path / "out")
    assert not (tmp_path / "out").exists(), "nothing is written when the import stops"


# --------------------------------------------------------------------------- ATLAS

ATLAS_TESTS = [
    'testGetName ( ) { Person p = new Person ( "a{b" ) ; "<AssertPlaceHolder>" ; } getName ( ) { return name ; }',
    'testSize ( ) { List l = new List ( ) ; l . add ( 1 ) ; "<AssertPlaceHolder>" ; } size ( ) { return n ; }',
    'testBroken ( ) { x ( ) ; } helper ( ) { }',  # no placeholder
    'testOpen ( ) { "<AssertPlaceHolder>" ; ',  # never closes
]
ATLAS_ASSERTS = [
    'org . junit . Assert . assertEquals ( "a{b" , p . getName ( ) )',
    "assertEquals ( 1 , l . size ( ) ) ;",
    "assertTrue ( true )",
    "assertTrue ( x )",
]


@pytest.fixture
def atlas(tmp_path):
    root = tmp_path / "atlas"
    for folder, tests, asserts in (("Training", ATLAS_TESTS, ATLAS_ASSERTS), ("Eval", ATLAS_TESTS[:1], ATLAS_ASSERTS[:1]),
                                   ("Testing", ATLAS_TESTS[1:2], ATLAS_ASSERTS[1:2])):
        (root / folder).mkdir(parents=True)
        (root / folder / "testMethods.txt").write_text("\n".join(tests) + "\n")
        (root / folder / "assertLines.txt").write_text("\n".join(asserts) + "\n")
    return root


def test_atlas_cuts_each_input_into_masked_test_and_focal_method(atlas, tmp_path):
    stats = import_corpus("atlas", atlas, tmp_path / "out", skip_bad=True)
    assert stats.records == {"train": 2, "val": 1, "test": 1}
    assert stats.bad_records == {"no_placeholder": 1, "unbalanced_braces": 1}
    first = _records(tmp_path / "out")["train"][0]
    assert first["test_method_masked"] == 'testGetName ( ) { Person p = new Person ( "a{b" ) ; <AssertPlaceHolder>; }'
    assert first["focal_method"] == "getName ( ) { return name ; }"
    assert first["assertions"] == ['org . junit . Assert . assertEquals ( "a{b" , p . getName ( ) ) ;']
    assert _records(tmp_path / "out")["train"][1]["assertions"] == ["assertEquals ( 1 , l . size ( ) ) ;"]
    with pytest.raises(BadRecord, match=r"Training/testMethods\.txt:3: .*no \"<AssertPlaceHolder>\""):
        import_corpus("atlas", atlas, tmp_path / "strict")


def test_atlas_undecodable_lines_are_bad_records_skipped_like_any_other(atlas, tmp_path):
    # line 2 of the training inputs and line 1 of the eval assertions are Latin-1, not UTF-8
    inputs = atlas / "Training" / "testMethods.txt"
    lines = inputs.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b"List l", b"List caf\xe9")
    inputs.write_bytes(b"\n".join(lines))
    (atlas / "Eval" / "assertLines.txt").write_bytes(b"assertEquals ( \"\xe9\" , x ) ;\n")
    stats = import_corpus("atlas", atlas, tmp_path / "out", skip_bad=True)
    assert stats.bad_records == {"no_placeholder": 1, "unbalanced_braces": 1, "not_utf8": 2}
    assert stats.records == {"train": 1, "val": 0, "test": 1}  # the rest still imported, in step
    with pytest.raises(BadRecord, match=r"Training/testMethods\.txt:2: not UTF-8 text"):
        import_corpus("atlas", atlas, tmp_path / "strict")


def test_atlas_brace_matching_ignores_literals():
    assert end_of_test_method("t ( ) { s ( \"}\" , '{' ) ; } f ( ) { }") == len("t ( ) { s ( \"}\" , '{' ) ; }")
    assert end_of_test_method("t ( ) { ") is None
    with pytest.raises(BadRecord, match="no focal method"):
        split_input('t ( ) { "<AssertPlaceHolder>" ; }', Path("x.txt"), 7)


def test_atlas_files_out_of_step_are_an_error_even_when_skipping(atlas, tmp_path):
    (atlas / "Eval" / "assertLines.txt").write_text("a\nb\n")
    with pytest.raises(DataError, match="has 1 lines but .* has 2"):
        import_corpus("atlas", atlas, tmp_path / "out", skip_bad=True)


# --------------------------------------------------------------------------- mapped JSONL

def test_jsonl_maps_fields_and_splits_whole_tests(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rows = [
        {"src_fm": "int f() { return 1; }", "target": "@Test\nvoid t() {\n    int x = f();\n    assertEquals(1, x);\n}", "repo": "r"},
        {"src_fm": "int f() { return 1; }", "target": "@Test\nvoid u() {\n    f();\n}"},  # no assertion
        {"src_fm": "int f() { return 1; }"},  # the mapped test field is missing
    ]
    (src / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    with gzip.open(src / "val.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({"src_fm": "int g() { return 2; }", "target": "void v() { assertTrue(g() == 2); }"}) + "\n")
    (src / "test.jsonl").write_text(json.dumps({"src_fm": "int h() { return 3; }", "test_method_masked": "void w() {\n    <AssertPlaceHolder>;\n}",
                                                "assertions": "assertEquals(3, h());\n"}) + "\n")
    options = ImportOptions(mapping=parse_mapping("focal_method=src_fm, test_method=target"))
    with pytest.raises(BadRecord, match=r"train\.jsonl:3: missing field 'target' \(mapped to test_method\)"):
        import_corpus("jsonl", src, tmp_path / "strict", options)
    stats = import_corpus("jsonl", src, tmp_path / "out", options, skip_bad=True)
    assert stats.records == {"train": 1, "val": 1, "test": 1}
    assert stats.skipped == {"no_assertion": 1} and stats.bad_records == {"invalid_json": 1, "missing_field": 1}
    train = load_split(tmp_path / "out", "train")[0]
    assert (train.focal_method, train.assertions, train.extra["repo"]) == ("int f() { return 1; }", ["assertEquals(1, x);"], "r")
    assert train.test_method_masked == "@Test\nvoid t() {\n    int x = f();\n    <AssertPlaceHolder>;\n}"
    assert load_split(tmp_path / "out", "test")[0].assertions == ["assertEquals(3, h());"]


def test_jsonl_mapping_is_checked():
    assert parse_mapping("focal_method=a,assertions=b") == {"focal_method": "a", "assertions": "b"}
    with pytest.raises(ConfigError, match="unknown field 'focal'"):
        parse_mapping("focal=a")
    with pytest.raises(ConfigError, match="TRIDENT_FIELD=SOURCE_FIELD"):
        parse_mapping("focal_method")


def test_cli_import_reports_and_names_the_bad_line(m2t, tmp_path, capsys):
    assert main(["data", "import", "--format", "methods2test", str(m2t), "--out", str(tmp_path / "a")]) == 2
    assert "42_3.json:3: invalid JSON" in capsys.readouterr().err
    assert main(["data", "import", "--format", "methods2test", str(m2t), "--out", str(tmp_path / "b"),
                 "--skip-bad-records"]) == 0
    out = capsys.readouterr().out
    assert "imported 3 records" in out and "no_assertion 1" in out and "invalid_json 1" in out
    assert json.loads((tmp_path / "b" / "stats.json").read_text())["bad_records"] == {"invalid_json": 1, "missing_field": 1}
