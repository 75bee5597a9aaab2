"""Shapes over arrays and objects: int arrays, accessors, fluent builders, cached computations.
"""
from __future__ import annotations

import random
import textwrap
from string import Template

from trident.data.synth.literals import INDENT, java_template, jstr
from trident.data.synth.vocabulary import (ARRAY, PEOPLE, RESULT_VARS, WORDS, cap_first, modifiers, pick_class_name,
                                           pick_n_checks, pick_test_name, random_text)
from trident.data.synth.builder import Case, int_literal, TestBuilder


# --------------------------------------------------------------------------- arrays


# op -> (names, body template over $a, semantics)
_ARRAY_OPS = {
    "reverse": (["reverse", "reversed", "reverseArray"], """
        int[] result = new int[$a.length];
        for (int i = 0; i < $a.length; i++) {
            result[i] = $a[$a.length - 1 - i];
        }
        return result;""", lambda xs: xs[::-1]),
    "copy": (["copy", "copyOf", "duplicate"], "return Arrays.copyOf($a, $a.length);", list),
    "doubled": (["doubleEach", "scale", "doubled"], """
        int[] result = new int[$a.length];
        for (int i = 0; i < $a.length; i++) {
            result[i] = $a[i] * 2;
        }
        return result;""", lambda xs: [2 * x for x in xs]),
    "sorted": (["sortedCopy", "sorted"], """
        int[] copy = $a.clone();
        Arrays.sort(copy);
        return copy;""", sorted),
    "prefixSums": (["prefixSums", "runningTotal", "cumulative"], """
        int[] sums = new int[$a.length];
        int total = 0;
        for (int i = 0; i < $a.length; i++) {
            total += $a[i];
            sums[i] = total;
        }
        return sums;""", lambda xs: [sum(xs[: i + 1]) for i in range(len(xs))]),
}


def shape_int_array(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    op = rng.choice(list(_ARRAY_OPS) + ["range"])
    recv, static = t.receiver(pick_class_name(rng, ARRAY))
    mods = modifiers(rng, static)
    out = rng.choice(RESULT_VARS)
    if op == "range":
        method = rng.choice(["range", "sequence", "rangeOf"])
        focal = java_template("""
            ${mods}int[] $method(int start, int end) {
                int[] result = new int[Math.max(0, end - start)];
                for (int i = 0; i < result.length; i++) {
                    result[i] = start + i;
                }
                return result;
            }
        """, mods=mods, method=method)
        lo = rng.randint(-5, 10)
        hi = lo + rng.randint(0, 6)
        t.setup(f"int[] {out} = {recv}.{method}({lo}, {hi});")
        expected, source = list(range(lo, hi)), None
    else:
        names, body, fn = _ARRAY_OPS[op]
        method = rng.choice(names)
        a = rng.choice(["values", "array", "input", "arr", "source"])
        body = textwrap.indent(textwrap.dedent(body).strip("\n"), INDENT)
        focal = f"{mods}int[] {method}(int[] {a}) {{\n" + Template(body).substitute(a=a) + "\n}"
        values = [rng.randint(-20, 50) for _ in range(rng.randint(0, 6))]
        source = rng.choice(["original", "data", "numbers", "given"])
        lit = "{" + ", ".join(map(str, values)) + "}"
        t.setup(f"int[] {source} = {lit if rng.random() < 0.5 else 'new int[]' + lit};",
                f"int[] {out} = {recv}.{method}({source});")
        expected = fn(values)
    k = pick_n_checks(rng)
    t.int_array(expected, out)
    if k >= 2:
        t.eq(str(len(expected)), f"{out}.length")
    if k == 3 and source is not None:
        t.not_same(source, out)  # a fresh array, never the caller's
    return t.case(focal, pick_test_name(rng, method))


# --------------------------------------------------------------------------- objects

ENTITIES = {
    "Person": [("name", "String"), ("age", "int"), ("email", "String"), ("active", "boolean")],
    "Product": [("title", "String"), ("price", "double"), ("quantity", "int"), ("available", "boolean")],
    "Account": [("owner", "String"), ("balance", "long"), ("locked", "boolean")],
    "Book": [("title", "String"), ("author", "String"), ("pages", "int")],
    "Employee": [("name", "String"), ("salary", "double"), ("department", "String"), ("manager", "boolean")],
    "Car": [("model", "String"), ("year", "int"), ("mileage", "long"), ("electric", "boolean")],
    "Task": [("description", "String"), ("priority", "int"), ("done", "boolean")],
}


def _field_value(rng: random.Random, typ: str) -> tuple[str, object]:
    """A literal for a field of `typ`, with its value."""
    if typ == "String":
        v = rng.choice([rng.choice(PEOPLE), random_text(rng), f"{rng.choice(PEOPLE).lower()}@example.com"])
        return jstr(v), v
    if typ == "int":
        v = rng.randint(0, 2000)
        return str(v), v
    if typ == "long":
        v = rng.randint(0, 10**11)
        return f"{v}L", v
    if typ == "double":
        v = rng.randint(0, 100_000) / 100
        return f"{v:.2f}", v
    v = rng.random() < 0.5
    return ("true" if v else "false"), v


def _getter(field: str, typ: str) -> str:
    return ("is" if typ == "boolean" else "get") + cap_first(field)


def _check_field(t: TestBuilder, typ: str, value: object, lit: str, actual: str) -> None:
    if typ == "boolean":
        t.truth(bool(value), actual)
    elif typ == "double":
        t.close(float(value), actual)  # type: ignore[arg-type]
    elif typ == "long":
        t.eq(int_literal(int(value), "long", t.rng), actual)  # type: ignore[call-overload]
    else:
        t.eq(lit, actual)


def shape_accessor(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    cls = rng.choice(list(ENTITIES))
    field, typ = rng.choice(ENTITIES[cls])
    getter = _getter(field, typ)
    setter = "set" + cap_first(field)
    var = rng.choice([cls[0].lower() + cls[1:], cls[0].lower() + cls[1:], "entity", "obj"])
    t.setup(f"{cls} {var} = new {cls}();")
    is_setter = rng.random() < 0.5
    other = (f"public {typ} {getter}() {{\n{INDENT}return {field};\n}}" if is_setter
             else f"public void {setter}({typ} {field}) {{\n{INDENT}this.{field} = {field};\n}}")
    t.context(cls, (f"private {typ} {field};", other))
    if is_setter:
        focal = java_template("""
            public void $setter($typ $field) {
                this.$field = $field;
            }
        """, setter=setter, typ=typ, field=field)
    else:
        body = f"return this.{field};" if rng.random() < 0.3 else f"return {field};"
        focal = f"public {typ} {getter}() {{\n{INDENT}{body}\n}}"
    method = setter if is_setter else getter
    k = pick_n_checks(rng)
    if typ == "String" and rng.random() < 0.15:
        # Setting null must read back as null.
        t.setup(f"{var}.{setter}(null);")
        t.null(f"{var}.{getter}()")
        return t.case(focal, pick_test_name(rng, method, ("AcceptsNull",)))
    lit, value = _field_value(rng, typ)
    t.setup(f"{var}.{setter}({lit});")
    if typ in ("String",) and k >= 2:
        t.not_null(f"{var}.{getter}()")
    _check_field(t, typ, value, lit, f"{var}.{getter}()")
    if k == 3:
        # Overwriting: the getter reflects the latest set.
        lit2, value2 = _field_value(rng, typ)
        t.setup(f"{var}.{setter}({lit2});")
        _check_field(t, typ, value2, lit2, f"{var}.{getter}()")
    return t.case(focal, pick_test_name(rng, method))


BUILDERS = {
    "RequestBuilder": [("timeout", "int"), ("url", "String"), ("retries", "int"), ("secure", "boolean")],
    "QueryBuilder": [("limit", "int"), ("table", "String"), ("distinct", "boolean")],
    "EmailBuilder": [("subject", "String"), ("recipient", "String"), ("priority", "int")],
    "PizzaBuilder": [("size", "int"), ("cheese", "boolean"), ("topping", "String")],
    "ReportBuilder": [("title", "String"), ("pageCount", "int"), ("landscape", "boolean")],
    "UserBuilder": [("name", "String"), ("age", "int"), ("admin", "boolean")],
}


def shape_fluent(rng: random.Random) -> Case:
    """Builder-style setters that return this; the natural assertion is assertSame."""
    t = TestBuilder(rng)
    cls = rng.choice(list(BUILDERS))
    field, typ = rng.choice(BUILDERS[cls])
    method = rng.choice(["with" + cap_first(field), "set" + cap_first(field), field])
    focal = java_template("""
        public $cls $method($typ $field) {
            this.$field = $field;
            return this;
        }
    """, cls=cls, method=method, typ=typ, field=field)
    var = rng.choice(["builder", cls[0].lower() + cls[1:]])
    t.setup(f"{cls} {var} = new {cls}();")
    t.context(cls, (f"private {typ} {field};",
                    f"public {typ} {_getter(field, typ)}() {{\n{INDENT}return {field};\n}}"))
    lit, value = _field_value(rng, typ)
    out = rng.choice(["returned", "result", "chained", "self"])
    t.setup(f"{cls} {out} = {var}.{method}({lit});")
    k = pick_n_checks(rng)
    if k == 3:
        t.not_null(out)
    t.same(var, out)
    if k >= 2:
        _check_field(t, typ, value, lit, f"{var}.{_getter(field, typ)}()")
    return t.case(focal, pick_test_name(rng, method, ("ReturnsSameInstance", "IsChainable")))


def shape_cached(rng: random.Random) -> Case:
    """Methods that hand back one shared instance: lazy fields, singletons, memo caches."""
    t = TestBuilder(rng)
    kind = rng.choice(["lazy", "singleton", "memo", "intern"])
    k = pick_n_checks(rng)
    if kind == "lazy":
        typ = rng.choice(["Config", "Connection", "Settings", "Session", "Client"])
        field = typ[0].lower() + typ[1:]
        method = rng.choice([f"get{typ}", typ[0].lower() + typ[1:] + "Instance", f"load{typ}"])
        focal = java_template("""
            public $typ $method() {
                if ($field == null) {
                    $field = new $typ();
                }
                return $field;
            }
        """, typ=typ, method=method, field=field)
        owner = rng.choice([f"{typ}Provider", f"{typ}Factory", f"{typ}Holder"])
        recv, _ = t.receiver(owner, static_ok=False)
        t.context(members=(f"private {typ} {field};",), support=(f"class {typ} {{\n}}",))
        first, second = f"{recv}.{method}()", f"{recv}.{method}()"
    elif kind == "singleton":
        typ = rng.choice(["Registry", "EventBus", "AppContext", "Metrics", "IdGenerator"])
        method = "getInstance"
        focal = java_template("""
            public static synchronized $typ getInstance() {
                if (instance == null) {
                    instance = new $typ();
                }
                return instance;
            }
        """, typ=typ)
        first = second = f"{typ}.getInstance()"
        t.context(typ, (f"private static {typ} instance;",))
    elif kind == "memo":
        typ, factory, key = rng.choice([("Pattern", "Pattern::compile", rng.choice(["\\d+", "[a-z]+", "^\\s*$", "a|b"])),
                                        ("DateTimeFormatter", "DateTimeFormatter::ofPattern",
                                         rng.choice(["yyyy-MM-dd", "HH:mm", "dd/MM/yyyy"]))])
        method = rng.choice(["compile", "cached", "forPattern", "get"])
        focal = java_template("""
            public $typ $method(String pattern) {
                return cache.computeIfAbsent(pattern, $factory);
            }
        """, typ=typ, method=method, factory=factory)
        recv, _ = t.receiver(rng.choice([f"{typ}Cache", "Cache", "Memo"]), static_ok=False)
        first = second = f"{recv}.{method}({jstr(key)})"
        t.context(members=(f"private final Map<String, {typ}> cache = new HashMap<>();",))
    else:
        typ, method = "String", rng.choice(["intern", "canonical", "dedupe"])
        focal = java_template("""
            public String $method(String value) {
                return pool.computeIfAbsent(value, v -> v);
            }
        """, method=method)
        recv, _ = t.receiver(rng.choice(["Interner", "StringPool", "NamePool"]), static_ok=False)
        t.context(members=("private final Map<String, String> pool = new HashMap<>();",))
        w = rng.choice(WORDS)
        first = f"{recv}.{method}(new String({jstr(w)}))"
        second = f"{recv}.{method}({jstr(w)})"
    a, b = rng.choice([("first", "second"), ("a", "b"), ("one", "two"), ("initial", "again")])
    t.setup(f"{typ} {a} = {first};", f"{typ} {b} = {second};")
    if k >= 2:
        t.not_null(a)
    t.same(a, b)
    if k == 3:
        if kind == "intern":
            t.eq(b, a)
        else:
            t.not_null(b)
    return t.case(focal, pick_test_name(rng, method, ("ReturnsSameInstance", "ReturnsCachedInstance")))
