"""Synthetic data tests. Expected values are recomputed here from the generated Java text,
independently of the generator's own Python semantics."""
from __future__ import annotations

import json
import random
import re
from functools import lru_cache

import pytest

from trident import java
from trident.data import synth

FIELDS = {"id", "focal_method", "test_method_masked", "assertions", "executable"}
KINDS = ["assertEquals", "assertTrue", "assertFalse", "assertNull", "assertNotNull", "assertThrows",
         "assertArrayEquals", "assertSame", "assertThat"]


@lru_cache(maxsize=None)
def labelled(n: int, seed: int) -> tuple:
    return tuple(synth.generate_labelled(n, seed))


# --------------------------------------------------------------------------- helpers: read Java back


def _invocation(stmt: str):
    """The outermost method call of a statement (pre-order finds it first)."""
    tree = java.parse(b"class T { void m() {\n" + stmt.encode() + b"\n} }")
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "method_invocation":
            return node
        stack.extend(reversed(node.children))
    raise ValueError(f"no call in {stmt!r}")


def assert_call(stmt: str) -> tuple[str, list[str]]:
    """('assertEquals', [args]) or, for AssertJ, ('assertThat.isEqualTo', [actual, *args])."""
    node = _invocation(stmt)
    name = node.child_by_field_name("name").text.decode()
    args = [a.text.decode() for a in node.child_by_field_name("arguments").named_children]
    obj = node.child_by_field_name("object")
    if obj is not None and obj.type == "method_invocation":
        inner = obj.child_by_field_name("name").text.decode()
        inner_args = [a.text.decode() for a in obj.child_by_field_name("arguments").named_children]
        return f"{inner}.{name}", inner_args + args
    return name, args


def locals_of(test_method: str) -> dict[str, str]:
    """Local variable -> initializer text."""
    return dict(re.findall(r"^\s*[\w<>\[\], .]+? (\w+) = (.+);$", test_method, flags=re.M))


def resolve(expr: str, env: dict[str, str]) -> str:
    return env.get(expr, expr)


def java_string(lit: str) -> str:
    assert lit[0] == lit[-1] == '"', lit
    escapes = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], lit[1:-1])


def call_args(call: str) -> list[str]:
    """Argument texts of a call expression like `obj.m(1, "a")`."""
    node = _invocation(call + ";")
    return [a.text.decode() for a in node.child_by_field_name("arguments").named_children]


def expected_and_actual(assertion: str, env: dict[str, str]) -> tuple[str, str]:
    name, args = assert_call(assertion)
    if name.endswith("assertThat.isEqualTo"):
        return args[1], resolve(args[0], env)
    assert name.endswith("assertEquals"), assertion
    return args[0], resolve(args[1], env)


def java_int(lit: str) -> int:
    return int(lit.rstrip("L"))


# --------------------------------------------------------------------------- well-formedness


@pytest.mark.parametrize("seed", [0, 1])
def test_every_record_parses(seed):
    for shape, r in labelled(300, seed):
        assert java.parses_as_method(r["focal_method"]), (shape, r["focal_method"])
        full = synth.unmask(r["test_method_masked"], r["assertions"])
        assert java.parses_as_method(full), (shape, full)
        stub = r["test_method_masked"].replace(synth.PLACEHOLDER, "assertTrue(true);")
        assert java.parses_as_method(stub), (shape, stub)
        for a in r["assertions"]:
            assert java.is_valid_statement(a), (shape, a)
            assert a.endswith(";") and "\n" not in a


def test_record_shape_and_masking():
    for _, r in labelled(1000, 0):
        assert set(r) == FIELDS
        assert 1 <= len(r["assertions"]) <= 3
        masked = r["test_method_masked"]
        assert masked.count(synth.PLACEHOLDER) == len(r["assertions"])
        assert masked.startswith("@Test\n") and re.search(r"void test\w+\(\) \{", masked)
        assert masked.endswith("\n}")
        # the placeholder stands alone on its line, indented like the statements around it
        for line in masked.splitlines():
            if synth.PLACEHOLDER in line:
                assert line == synth.INDENT + synth.PLACEHOLDER


def test_unmask_roundtrip_and_errors():
    masked = "@Test\nvoid testX() {\n    int r = f();\n    <AssertPlaceHolder>;\n    <AssertPlaceHolder>;\n}"
    full = synth.unmask(masked, ["assertEquals(1, r);", "assertTrue(r > 0);"])
    assert full == "@Test\nvoid testX() {\n    int r = f();\n    assertEquals(1, r);\n    assertTrue(r > 0);\n}"
    with pytest.raises(ValueError):
        synth.unmask(masked, ["assertEquals(1, r);"])


def test_literal_helpers():
    assert synth.jstr('say "hi"\n') == '"say \\"hi\\"\\n"'
    assert synth.jstr("C:\\temp\t") == '"C:\\\\temp\\t"'
    assert synth.jstr(None) == "null"
    assert synth.jchar("'") == "'\\''"
    assert synth.jdouble(2.5) == "2.5"
    assert synth.jdouble(3.0) == "3.0"
    assert synth.jdouble(-0.0) == "0.0"
    assert synth.jdouble(1 / 3, 1e-5) == "0.33333"
    with pytest.raises(ValueError):
        synth.jstr("bell\x07")


# --------------------------------------------------------------------------- determinism and splits


def test_deterministic_for_a_seed():
    assert synth.generate_records(200, 11) == synth.generate_records(200, 11)
    assert synth.generate_records(200, 11) != synth.generate_records(200, 12)


def test_write_splits(tmp_path):
    out = tmp_path / "nested" / "synth"
    paths = synth.write_splits(out, 100, 5)
    assert set(paths) == {"train", "val", "test"}
    rows = {}
    for name, path in paths.items():
        assert path.parent == out and path.name == f"{name}.jsonl"
        rows[name] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        for r in rows[name]:
            assert set(r) == FIELDS
            assert 1 <= len(r["assertions"]) <= 3
            assert r["test_method_masked"].count(synth.PLACEHOLDER) == len(r["assertions"])
    assert [len(rows[s]) for s in ("train", "val", "test")] == [80, 10, 10]
    ids = [r["id"] for s in rows.values() for r in s]
    assert sorted(ids) == [r["id"] for r in synth.generate_records(100, 5)]  # a partition, shuffled
    assert [p.name for p in out.iterdir()] and not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    # rewriting is reproducible byte for byte
    before = {k: p.read_bytes() for k, p in paths.items()}
    synth.write_splits(out, 100, 5)
    assert before == {k: p.read_bytes() for k, p in paths.items()}


def test_non_ascii_written_verbatim(tmp_path):
    paths = synth.write_splits(tmp_path, 400, 0)
    text = "".join(p.read_text(encoding="utf-8") for p in paths.values())
    assert "\\u" not in text  # ensure_ascii=False
    assert any(w in text for w in synth.NON_ASCII_WORDS)


# --------------------------------------------------------------------------- variety


def test_variety():
    records = labelled(1000, 0)
    assert {shape for shape, _ in records} == set(synth.SHAPES)
    assertions = [a for _, r in records for a in r["assertions"]]
    for kind in KINDS:
        assert any(re.match(rf"(Assert\.|Assertions\.)?{kind}\(", a) for a in assertions), kind
    qualified = sum(a.startswith(("Assert.", "Assertions.")) for a in assertions)
    assert 0.05 < qualified / len(assertions) < 0.16
    assert any(re.search(r"assertEquals\([^,]+, [^,]+, (0\.0+1|1e-\d)\)", a) for a in assertions)  # delta
    assert len({r["focal_method"] for _, r in records}) > 600
    assert len({synth.unmask(r["test_method_masked"], r["assertions"]) for _, r in records}) > 950


def test_shape_registry_is_callable_with_a_rng():
    for name, fn in synth.SHAPES.items():
        case = fn(random.Random(0))
        assert isinstance(case, synth.Case), name
        assert case.body.count(synth.PLACEHOLDER) == len(case.assertions)


# --------------------------------------------------------------------------- computed values


def _cases(shape: str, n: int = 150, seed: int = 3):
    rng = random.Random(seed)
    for _ in range(n):
        case = synth.SHAPES[shape](rng)
        full = synth.unmask(synth.render_test(rng, case), case.assertions)
        yield case, locals_of(full)


def test_int_binary_values():
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "Math.max": max, "Math.min": min, "?": max}
    checked = 0
    for case, env in _cases("int_binary"):
        ret = re.search(r"return (.+);", case.focal_method).group(1)
        op = next(k for k in ("Math.max", "Math.min", "?", "*", "+", "-") if k in ret)
        for a in case.assertions:
            exp, act = expected_and_actual(a, env)
            x, y = map(java_int, call_args(act))
            assert java_int(exp) == ops[op](x, y), (case.focal_method, a)
            assert exp.endswith("L") or -2**31 <= java_int(exp) < 2**31
            checked += 1
    assert checked > 150


def test_string_reverse_and_upper_values():
    checked = 0
    for case, env in _cases("string_transform", 400):
        upper = re.search(r"return \w+\.toUpperCase\(\);", case.focal_method) is not None
        if "reverse()" not in case.focal_method and not upper:
            continue
        exp, act = expected_and_actual(next(a for a in case.assertions if '"' in a), env)
        arg = resolve(call_args(act)[0], env)
        got = java_string(arg)
        want = got[::-1] if "reverse()" in case.focal_method else got.upper()
        assert java_string(exp) == want, case
        checked += 1
    assert checked > 20


def test_double_values_within_delta():
    checked = 0
    for case, env in _cases("double_math"):
        for a in case.assertions:
            name, args = assert_call(a)
            if name.endswith("assertEquals"):
                exp, act, delta = float(args[0]), resolve(args[1], env), float(args[2])
            else:  # assertThat(x).isCloseTo(e, within(d))
                exp, act, delta = float(args[1]), resolve(args[0], env), float(re.search(r"within\((.+)\)", args[2]).group(1))
            if "celsiusToFahrenheit" in act or "toFahrenheit" in act:
                c = float(call_args(act)[0])
                assert abs(exp - (c * 1.8 + 32)) < delta, a
            elif "average" in act or "mean" in act or "avg" in act:
                x, y = map(float, call_args(act))
                assert abs(exp - (x + y) / 2) < delta, a
            else:
                continue
            checked += 1
    assert checked > 20


def test_predicate_truth_values():
    checked = 0
    for case, env in _cases("int_predicate", 300):
        if "isEven" not in case.focal_method and "isLeapYear" not in case.focal_method:
            continue
        for a in case.assertions:
            name, args = assert_call(a)
            value = name.endswith(("assertTrue", "isTrue"))
            assert name.endswith(("assertTrue", "assertFalse", "isTrue", "isFalse")), a
            n = int(call_args(resolve(args[0], env))[0])
            if "isEven" in case.focal_method:
                assert value == (n % 2 == 0), a
            else:
                assert value == (n % 4 == 0 and (n % 100 != 0 or n % 400 == 0)), a
            checked += 1
    assert checked > 20


def test_array_reverse_values():
    checked = 0
    for case, env in _cases("int_array", 400):
        if "length - 1 - i" not in case.focal_method:
            continue
        name, args = assert_call(case.assertions[0])
        source = call_args(env[args[-1] if name.endswith("assertArrayEquals") else args[0]])[0]
        given = [int(v) for v in re.findall(r"-?\d+", env[source])]
        got = [int(v) for v in re.findall(r"-?\d+", " ".join(args[:-1] if name.endswith("assertArrayEquals") else args[1:]))]
        assert got == given[::-1], case
        checked += 1
    assert checked > 5


def test_map_lookup_null_only_for_missing_keys():
    checked = {"null": 0, "not null": 0}
    for case, env in _cases("map_lookup", 200):
        text = "\n".join(case.body)
        stored = set(re.findall(r'\.(?:put|register|add|save)\("([^"]+)"', text))
        stored |= set(re.findall(r'"([^"]+)", (?:\d+|"[^"]*")', text))  # Map.of pairs
        for a in case.assertions:
            name, args = assert_call(a)
            if name.endswith(("assertNull", "isNull", "assertNotNull", "isNotNull")):
                key = java_string(call_args(resolve(args[0], env))[-1])
                present = name.endswith(("assertNotNull", "isNotNull"))
                assert (key in stored) == present, case
                checked["not null" if present else "null"] += 1
    # both outcomes must really be generated, or the loop above proves nothing
    assert min(checked.values()) > 20, checked


def test_validation_throws_on_bad_input():
    checked = 0
    for case, _ in _cases("validation", 200):
        for a in case.assertions:
            name, args = assert_call(a)
            if not name.endswith("assertThrows"):
                continue
            exc = args[0].removesuffix(".class")
            # NumberFormatException comes from Integer.parseInt, NullPointerException from requireNonNull
            implicit = {"NumberFormatException": "Integer.parseInt", "NullPointerException": "requireNonNull"}
            assert f"new {exc}(" in case.focal_method or implicit.get(exc, "@") in case.focal_method, a
            assert args[1].startswith("() -> ")
            checked += 1
    assert checked > 20  # the generator must really emit assertThrows for this shape


# sha256 of each split of write_splits(dir, 200, seed=3), recorded from the single-module generator
# before it was split into the synth package: the corpus must not move when the code is reorganised.
# Records later gained an `executable` field (what running the test needs); the records without
# it are still byte for byte these, so no model trained on the corpus sees anything new.
GOLDEN = {
    "train": "4c604a94c69acfcb610ef35d848d3bb09c400e66d065e514a9891cbd66fe3cd7",
    "val": "a37e36298a99402d083ee5a75036c2ca36d0f4d69d19e2e7ceaa8edda8130f8d",
    "test": "51b668d4b222f2b8855734d3029b90d30b35385635d101116f8f67e13b105901",
}
GOLDEN_WITH_EXECUTABLE = {
    "train": "97408664c6c64ef2fa1c292eea253ea2e792b4b33e2982808873b8fbe00ad6a3",
    "val": "1220e2c1e6474748213e2e969a0efd7686ed949d07e581ce898dc8d48dd9de93",
    "test": "6912b446244b3219926a5aa2d0c72a4abb7dda9eb3fd53092474ebc883b31472",
}


def test_the_corpus_for_a_seed_is_byte_for_byte_the_recorded_one(tmp_path):
    import hashlib
    import json

    paths = synth.write_splits(tmp_path, 200, 3)
    assert {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in paths.items()} == GOLDEN_WITH_EXECUTABLE
    without = {}
    for k, p in paths.items():
        rows = [json.loads(line) for line in p.open()]
        for r in rows:
            r.pop("executable")
        without[k] = hashlib.sha256("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()).hexdigest()
    assert without == GOLDEN
