"""Shapes over collections: list aggregates, transforms and queries, map building, and nullable
lookups in maps and lists.
"""
from __future__ import annotations

import random
import textwrap
from string import Template

from trident.data.synth.literals import INDENT, java_template, jlist, jstr
from trident.data.synth.vocabulary import (CITIES, COLLECT, LIST_VARS, PEOPLE, RESULT_VARS, WORD_LIST_VARS, WORDS,
                                           modifiers, pick_class_name, pick_n_checks, pick_test_name)
from trident.data.synth.builder import Case, TestBuilder


# --------------------------------------------------------------------------- collections


def _int_list_setup(t: TestBuilder, values: list[int]) -> str:
    var = t.rng.choice(LIST_VARS)
    t.setup(f"List<Integer> {var} = {jlist(values, style=t.rng.choice(['Arrays.asList', 'List.of']))};")
    return var


def _word_list_setup(t: TestBuilder, words: list[str]) -> str:
    var = t.rng.choice(WORD_LIST_VARS)
    t.setup(f"List<String> {var} = {jlist(words, jstr, t.rng.choice(['Arrays.asList', 'List.of']))};")
    return var


def shape_list_aggregate(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    op = rng.choice(["sum", "max", "countAbove", "countEvens", "average"])
    recv, static = t.receiver(pick_class_name(rng, COLLECT))
    mods = modifiers(rng, static)
    p = rng.choice(LIST_VARS)
    values = [rng.randint(-50, 100) for _ in range(rng.randint(1, 7))]
    extra_arg, ret = "", "int"
    if op == "sum":
        method = rng.choice(["sum", "total", "sumOf"])
        if rng.random() < 0.5:
            body = f"return {p}.stream().mapToInt(Integer::intValue).sum();"
        else:
            body = f"int total = 0;\nfor (int v : {p}) {{\n{INDENT}total += v;\n}}\nreturn total;"
        expected: object = sum(values)
    elif op == "max":
        method = rng.choice(["max", "largest", "findMax"])
        body = f"return Collections.max({p});"
        expected = max(values)
    elif op == "countAbove":
        method = rng.choice(["countGreaterThan", "countAbove"])
        threshold = rng.randint(-10, 60)
        extra_arg = f", {threshold}"
        body = f"return (int) {p}.stream().filter(v -> v > threshold).count();"
        expected = sum(v > threshold for v in values)
    elif op == "countEvens":
        method = rng.choice(["countEvens", "evenCount"])
        body = f"int count = 0;\nfor (int v : {p}) {{\n{INDENT}if (v % 2 == 0) {{\n{INDENT * 2}count++;\n{INDENT}}}\n}}\nreturn count;"
        expected = sum(v % 2 == 0 for v in values)
    else:
        method = rng.choice(["average", "mean"])
        ret = "double"
        body = f"return {p}.stream().mapToInt(Integer::intValue).average().orElse(0.0);"
        expected = sum(values) / len(values)
    params = f"List<Integer> {p}" + (", int threshold" if extra_arg else "")
    focal = f"{mods}{ret} {method}({params}) {{\n" + textwrap.indent(body, INDENT) + "\n}"
    var = _int_list_setup(t, values)
    call = f"{recv}.{method}({var}{extra_arg})"
    if ret == "double":
        t.checks(ret, [(call, expected)], lambda e, act: t.close(e, act))
    else:
        t.checks(ret, [(call, expected)], lambda e, act: t.eq(str(e), act))
    if pick_n_checks(rng) > 1:
        t.eq(str(len(values)), f"{var}.size()")
    return t.case(focal, pick_test_name(rng, method))


# op -> (names, body template over $p, semantics)
_LIST_TRANSFORMS = {
    "evens": (["filterEvens", "evens", "keepEven"], """
        List<Integer> result = new ArrayList<>();
        for (int v : $p) {
            if (v % 2 == 0) {
                result.add(v);
            }
        }
        return result;""", lambda xs: [x for x in xs if x % 2 == 0]),
    "positives": (["filterPositive", "positives"],
                  "return $p.stream().filter(v -> v > 0).collect(Collectors.toList());",
                  lambda xs: [x for x in xs if x > 0]),
    "squares": (["squares", "squareAll"], "return $p.stream().map(v -> v * v).collect(Collectors.toList());",
                lambda xs: [x * x for x in xs]),
    "doubled": (["doubleAll", "doubled", "scaleByTwo"], """
        List<Integer> result = new ArrayList<>();
        for (Integer v : $p) {
            result.add(v * 2);
        }
        return result;""", lambda xs: [2 * x for x in xs]),
    "distinct": (["distinct", "removeDuplicates", "unique"], "return new ArrayList<>(new LinkedHashSet<>($p));",
                 lambda xs: list(dict.fromkeys(xs))),
    "sorted": (["sorted", "sortedCopy", "sortAscending"], """
        List<Integer> copy = new ArrayList<>($p);
        Collections.sort(copy);
        return copy;""", sorted),
}


def shape_list_transform(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    names, body, fn = _LIST_TRANSFORMS[rng.choice(list(_LIST_TRANSFORMS))]
    method = rng.choice(names)
    recv, static = t.receiver(pick_class_name(rng, COLLECT))
    p = rng.choice(LIST_VARS)
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), INDENT)
    focal = (f"{modifiers(rng, static)}List<Integer> {method}(List<Integer> {p}) {{\n"
             + Template(body).substitute(p=p) + "\n}")
    values = [rng.randint(-20, 30) for _ in range(rng.randint(0, 7))]
    if method in ("distinct", "removeDuplicates", "unique") and values:
        values.append(rng.choice(values))
    var = _int_list_setup(t, values)
    out = rng.choice(RESULT_VARS)
    t.setup(f"List<Integer> {out} = {recv}.{method}({var});")
    expected = fn(values)
    k = pick_n_checks(rng)
    if k == 3:
        t.not_null(out)
    if k >= 2 and expected:
        t.eq(str(len(expected)), f"{out}.size()")
    t.int_list(expected, out)
    return t.case(focal, pick_test_name(rng, method))


def shape_list_query(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    op = rng.choice(["contains", "indexOf", "count", "longest", "join"])
    recv, static = t.receiver(pick_class_name(rng, COLLECT))
    mods = modifiers(rng, static)
    p = rng.choice(WORD_LIST_VARS)
    words = [rng.choice(WORDS[:12]) for _ in range(rng.randint(1, 6))]
    target = rng.choice(words) if rng.random() < 0.6 else rng.choice(WORDS[:14])
    var = _word_list_setup(t, words)
    if op == "contains":
        method = rng.choice(["contains", "hasItem", "includes"])
        focal = java_template("""
            ${mods}boolean $method(List<String> $p, String target) {
                return $p.contains(target);
            }
        """, mods=mods, method=method, p=p)
        t.checks("boolean", [(f"{recv}.{method}({var}, {jstr(target)})", target in words)],
                 lambda e, act: t.truth(e, act))
    elif op == "indexOf":
        method = rng.choice(["indexOf", "positionOf", "find"])
        focal = java_template("""
            ${mods}int $method(List<String> $p, String target) {
                for (int i = 0; i < $p.size(); i++) {
                    if ($p.get(i).equals(target)) {
                        return i;
                    }
                }
                return -1;
            }
        """, mods=mods, method=method, p=p)
        idx = words.index(target) if target in words else -1
        t.checks("int", [(f"{recv}.{method}({var}, {jstr(target)})", idx)], lambda e, act: t.eq(str(e), act))
    elif op == "count":
        method = rng.choice(["countOccurrences", "frequency", "count"])
        focal = java_template("""
            ${mods}int $method(List<String> $p, String target) {
                return (int) $p.stream().filter(target::equals).count();
            }
        """, mods=mods, method=method, p=p)
        t.checks("int", [(f"{recv}.{method}({var}, {jstr(target)})", words.count(target))],
                 lambda e, act: t.eq(str(e), act))
    elif op == "longest":
        method = rng.choice(["longest", "longestWord", "findLongest"])
        focal = java_template("""
            ${mods}String $method(List<String> $p) {
                String best = "";
                for (String w : $p) {
                    if (w.length() > best.length()) {
                        best = w;
                    }
                }
                return best;
            }
        """, mods=mods, method=method, p=p)
        best = ""
        for w in words:  # first of the maximal length wins, as in the loop
            if len(w) > len(best):
                best = w
        t.checks("String", [(f"{recv}.{method}({var})", best)], lambda e, act: t.eq(jstr(e), act))
    else:
        method = rng.choice(["joinAll", "joined", "toCsv"])
        sep = rng.choice([", ", ",", ";", " "])
        focal = java_template("""
            ${mods}String $method(List<String> $p) {
                return String.join($sep, $p);
            }
        """, mods=mods, method=method, p=p, sep=jstr(sep))
        t.checks("String", [(f"{recv}.{method}({var})", sep.join(words))], lambda e, act: t.eq(jstr(e), act))
    if pick_n_checks(rng) > 1:
        t.eq(str(len(words)), f"{var}.size()")
    return t.case(focal, pick_test_name(rng, method))


def shape_map_build(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    recv, static = t.receiver(pick_class_name(rng, COLLECT))
    mods = modifiers(rng, static)
    p = rng.choice(WORD_LIST_VARS)
    words = [rng.choice(WORDS[:8]) for _ in range(rng.randint(1, 7))]
    if rng.random() < 0.5:
        method = rng.choice(["wordFrequency", "countWords", "histogram"])
        focal = java_template("""
            ${mods}Map<String, Integer> $method(List<String> $p) {
                Map<String, Integer> counts = new HashMap<>();
                for (String w : $p) {
                    counts.merge(w, 1, Integer::sum);
                }
                return counts;
            }
        """, mods=mods, method=method, p=p)
        expected = {w: words.count(w) for w in words}
    else:
        method = rng.choice(["lengths", "lengthByWord", "indexLengths"])
        focal = java_template("""
            ${mods}Map<String, Integer> $method(List<String> $p) {
                Map<String, Integer> result = new HashMap<>();
                for (String w : $p) {
                    result.put(w, w.length());
                }
                return result;
            }
        """, mods=mods, method=method, p=p)
        expected = {w: len(w) for w in words}
    var = _word_list_setup(t, words)
    out = rng.choice(["counts", "result", "map", "actual"])
    t.setup(f"Map<String, Integer> {out} = {recv}.{method}({var});")
    key = rng.choice(words)
    checks = [
        lambda: t.eq(str(len(expected)), f"{out}.size()"),
        lambda: t.eq(str(expected[key]), f"{out}.get({jstr(key)})"),
        lambda: t.null(f"{out}.get({jstr(rng.choice(WORDS[8:]))})"),
        lambda: t.truth(True, f"{out}.containsKey({jstr(key)})"),
    ]
    for i in sorted(rng.sample(range(len(checks)), pick_n_checks(rng))):
        checks[i]()
    return t.case(focal, pick_test_name(rng, method))


# --------------------------------------------------------------------------- nullable lookups


def shape_map_lookup(rng: random.Random) -> Case:
    """Lookups that return null on a miss: assertNull on a missing key, a value on a hit."""
    t = TestBuilder(rng)
    kind = rng.choice(["price", "email", "capital"])
    if kind == "price":
        vtype, entity = "Integer", rng.choice(["Price", "Stock", "Quantity"])
        keys = rng.sample(WORDS[:15], 4)
        values = {k: rng.randint(1, 500) for k in keys}
        vlit = str
    elif kind == "email":
        vtype, entity = "String", rng.choice(["Email", "Address", "Contact"])
        keys = [p.lower() for p in rng.sample(PEOPLE[:-1], 4)]
        values = {k: f"{k}@{rng.choice(['example.com', 'mail.org', 'corp.net'])}" for k in keys}
        vlit = jstr
    else:
        vtype, entity = "String", rng.choice(["Capital", "City"])
        keys = rng.sample(["France", "Germany", "Spain", "Italy", "Norway", "Austria", "Portugal"], 4)
        values = {k: rng.choice(CITIES) for k in keys}
        vlit = jstr
    stored = keys[: rng.randint(1, 3)]
    method = rng.choice([f"find{entity}", f"get{entity}", f"lookup{entity}", f"{entity.lower()}For"])
    cls = rng.choice([f"{entity}Repository", f"{entity}Directory", f"{entity}Registry", f"{entity}Lookup"])
    key_name = rng.choice(["key", "name", "id"])
    style = rng.choice(["get", "containsKey", "getOrDefault"])
    ret = {
        "get": f"return {{m}}.get({key_name});",
        "containsKey": f"if (!{{m}}.containsKey({key_name})) {{{{\n{INDENT}return null;\n}}}}\nreturn {{m}}.get({key_name});",
        "getOrDefault": f"return {{m}}.getOrDefault({key_name}, null);",
    }[style]
    mtype = f"Map<String, {vtype}>"
    if rng.random() < 0.5:
        # The map is a parameter: the test builds it.
        m = rng.choice(["map", "entries", "table", "index"])
        recv, static = t.receiver(cls)
        focal = (f"{modifiers(rng, static)}{vtype} {method}({mtype} {m}, String {key_name}) {{\n"
                 + textwrap.indent(ret.format(m=m), INDENT) + "\n}")
        mvar = rng.choice(["data", "lookup", "source", "known"])
        if rng.random() < 0.5:
            t.setup(f"{mtype} {mvar} = new HashMap<>();",
                    *(f"{mvar}.put({jstr(k)}, {vlit(values[k])});" for k in stored))
        else:
            pairs = ", ".join(f"{jstr(k)}, {vlit(values[k])}" for k in stored)
            t.setup(f"{mtype} {mvar} = Map.of({pairs});")
        call = lambda k: f"{recv}.{method}({mvar}, {jstr(k)})"  # noqa: E731
    else:
        # The map is a field, filled through the class's own API as a real test would.
        m = rng.choice(["entries", "store", "cache", "byKey"])
        recv, _ = t.receiver(cls, static_ok=False)
        focal = (f"{modifiers(rng)}{vtype} {method}(String {key_name}) {{\n"
                 + textwrap.indent(ret.format(m=m), INDENT) + "\n}")
        adder = rng.choice(["register", "put", "add", "save"])
        t.setup(*(f"{recv}.{adder}({jstr(k)}, {vlit(values[k])});" for k in stored))
        t.context(members=(f"private final {mtype} {m} = new HashMap<>();",
                           f"public void {adder}(String key, {vtype} value) {{\n{INDENT}{m}.put(key, value);\n}}"))
        call = lambda k: f"{recv}.{method}({jstr(k)})"  # noqa: E731
    hit = rng.choice(stored)
    miss = rng.choice([k for k in keys if k not in stored] + ["unknown"])
    out = rng.choice(["found", "result", "value", "actual"])
    want_hit = rng.random() < 0.5
    t.setup(f"{vtype} {out} = {call(hit if want_hit else miss)};")
    k = pick_n_checks(rng)
    if want_hit:
        t.not_null(out)
        if k >= 2:
            v = values[hit]
            t.eq(f"{v}" if vtype == "Integer" else jstr(v), f"{out}.intValue()" if vtype == "Integer" else out)
        if k == 3:
            t.null(call(miss))
    else:
        t.null(out)
        if k >= 2:
            t.not_null(call(hit))
    scenario = "FindsExisting" if want_hit else "ReturnsNullWhenMissing"
    return t.case(focal, pick_test_name(rng, method, (scenario,)))


def shape_list_find(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    recv, static = t.receiver(pick_class_name(rng, COLLECT))
    mods = modifiers(rng, static)
    p = rng.choice(WORD_LIST_VARS)
    method = rng.choice(["findFirstStartingWith", "firstWithPrefix", "findByPrefix"])
    focal = java_template("""
        ${mods}String $method(List<String> $p, String prefix) {
            for (String item : $p) {
                if (item.startsWith(prefix)) {
                    return item;
                }
            }
            return null;
        }
    """, mods=mods, method=method, p=p)
    words = rng.sample(WORDS, rng.randint(0, 5))
    var = _word_list_setup(t, words)
    k = pick_n_checks(rng)
    scenario = ()
    prefixes = [rng.choice(words)[: rng.randint(1, 3)] if words and rng.random() < 0.6
                else rng.choice(["q", "x", "zz", "ab"]) for _ in range(k)]
    for i, prefix in enumerate(prefixes):
        found = next((w for w in words if w.startswith(prefix)), None)
        call = f"{recv}.{method}({var}, {jstr(prefix)})"
        if i == 0:
            out = rng.choice(["found", "result", "match"])
            t.setup(f"String {out} = {call};")
            call = out
        if found is None:
            scenario = scenario or ("ReturnsNullWhenNoMatch",)
            t.null(call)
        elif rng.random() < 0.3:
            t.not_null(call)
        else:
            t.eq(jstr(found), call)
    return t.case(focal, pick_test_name(rng, method, scenario if k == 1 else ()))
