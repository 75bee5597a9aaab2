"""Synthetic focal-method / masked-test records, so the whole pipeline runs without a mined corpus.

Each record pairs a Java production method with a JUnit 5 test whose assertion statements are
replaced by `<AssertPlaceHolder>;`; the model learns to write them back. Expected values in the
assertions are computed here, in Python, from the method's semantics, so a correct model is one
that reasons about the code rather than one that copies a plausible-looking number.

A "shape" is a function `(rng) -> Case` producing one focal method and its test. Adding a shape is
one function plus one line in `SHAPES`. Everything draws from the `random.Random` it is handed, so
a seed fixes the data exactly.
"""
from __future__ import annotations

import json
import math
import os
import random
import tempfile
import textwrap
from pathlib import Path
from string import Template
from typing import Callable, NamedTuple

PLACEHOLDER = "<AssertPlaceHolder>;"
INDENT = "    "
SPLITS = ("train", "val", "test")

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


class Case(NamedTuple):
    focal_method: str
    body: list[str]  # test statements, PLACEHOLDER where each assertion stood
    assertions: list[str]  # aligned with the PLACEHOLDER lines of `body`
    test_name: str


# --------------------------------------------------------------------------- Java literals

_STR_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def jstr(s: str | None) -> str:
    """Java string literal for `s` (`null` for None)."""
    if s is None:
        return "null"
    out = []
    for ch in s:
        if ch in _STR_ESCAPES:
            out.append(_STR_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            # \\uXXXX would be decoded before lexing and could break the literal; never generate these.
            raise ValueError(f"unsupported control character {ord(ch):#x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def jchar(c: str) -> str:
    if c == "'":
        return "'\\''"
    if c == "\\":
        return "'\\\\'"
    return f"'{c}'"


def jdouble(x: float, tolerance: float = 1e-7) -> str:
    """Shortest fixed-point literal within `tolerance` of x, always with a decimal point."""
    for places in range(1, 10):
        if abs(round(x, places) - x) <= tolerance:
            break
    s = f"{x:.{places}f}".rstrip("0")
    if s.endswith("."):
        s += "0"
    return "0.0" if s == "-0.0" else s


def jlist(values: list, lit: Callable = str, style: str = "Arrays.asList") -> str:
    return f"{style}({', '.join(lit(v) for v in values)})"


def jint_array(values: list[int]) -> str:
    return "new int[]{" + ", ".join(map(str, values)) + "}"


def _java(template: str, **names: str) -> str:
    """Dedented Java from a `$name` template; `$` never occurs in the Java we generate."""
    return Template(textwrap.dedent(template).strip("\n")).substitute(names)


# --------------------------------------------------------------------------- vocabulary

WORDS = [
    "apple", "banana", "cherry", "delta", "echo", "falcon", "garden", "harbor", "island", "jungle",
    "kernel", "lemon", "mango", "nectar", "orange", "pixel", "quartz", "river", "sunset", "tiger",
    "violet", "window", "yellow", "zebra", "hello", "world", "java", "coffee", "rocket", "spring",
]
NON_ASCII_WORDS = ["café", "naïve", "über", "señor", "Ωmega", "straße"]
# Characters that must be escaped in a Java literal, so escaping is exercised, not assumed.
TRICKY_STRINGS = ['say "hi"', "C:\\temp", "line1\nline2", "tab\tstop", "it's", "back\\slash", "a\"b\"c"]
PALINDROMES = ["level", "racecar", "noon", "madam", "refer", "kayak", "civic", "rotor", "stats"]
PEOPLE = ["Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy",
          "Oscar", "Peggy", "Trent", "Victor", "Walter", "Zoë"]
CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Oslo", "Vienna", "Lisbon", "Prague", "Dublin"]

PARAM_PAIRS = [("a", "b"), ("x", "y"), ("first", "second"), ("left", "right"), ("lhs", "rhs"), ("m", "n")]
RESULT_VARS = ["result", "actual", "value", "output", "res"]
INSTANCE_VARS = ["sut", "helper", "service", "util", "underTest", "instance"]
LIST_VARS = ["numbers", "values", "scores", "items", "data", "elements"]
WORD_LIST_VARS = ["words", "names", "tokens", "entries", "labels"]

ARITH = (["Math", "Number", "Arithmetic", "Integer", "Calc", "Numeric"],
         ["Utils", "Helper", "Operations", "Service", "Calculator", "Tools"])
TEXT = (["String", "Text", "Word", "Name", "Message", "Label"],
        ["Utils", "Helper", "Formatter", "Processor", "Service", "Transformer"])
CHECK = (["Number", "Input", "Value", "Range", "Parity", "Text", "String"],
         ["Validator", "Checker", "Utils", "Predicates", "Inspector"])
COLLECT = (["List", "Collection", "Number", "Inventory", "Stats", "Score", "Data"],
           ["Utils", "Helper", "Processor", "Analyzer", "Service", "Aggregator"])
LOOKUP = (["Price", "Email", "Capital", "Config", "User", "Stock", "Phone"],
          ["Repository", "Directory", "Registry", "Lookup", "Catalog", "Store"])
ARRAY = (["Array", "Vector", "Buffer", "Sequence", "Int"],
         ["Utils", "Helper", "Operations", "Tools", "Transformer"])


def _class_name(rng: random.Random, pools: tuple[list[str], list[str]]) -> str:
    stems, suffixes = pools
    return rng.choice(stems) + rng.choice(suffixes)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.70:
        word = rng.choice(WORDS)
        return _cap(word) if rng.random() < 0.2 else word
    if r < 0.82:
        return f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    if r < 0.92:
        return rng.choice(TRICKY_STRINGS)
    return rng.choice(NON_ASCII_WORDS)


def _n_checks(rng: random.Random) -> int:
    return rng.choices([1, 2, 3], weights=[55, 33, 12])[0]


def _mods(rng: random.Random, static: bool = False) -> str:
    # Package-private methods are common in real code; keep a few.
    vis = "public " if rng.random() < 0.9 else ""
    return vis + ("static " if static else "")


def _test_name(rng: random.Random, method: str, scenarios: tuple[str, ...] = ()) -> str:
    pool = ("", "", "ReturnsExpectedValue", "WithValidInput", "Works") + scenarios
    return "test" + _cap(method) + rng.choice(pool)


# --------------------------------------------------------------------------- test builder


class _Test:
    """Accumulates a test body; assertion helpers keep placeholders and assertions aligned."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.body: list[str] = []
        self.assertions: list[str] = []

    def setup(self, *statements: str) -> None:
        self.body.extend(statements)

    def receiver(self, cls: str, static_ok: bool = True) -> tuple[str, bool]:
        """Expression to call the focal method on; instance tests first construct the class."""
        if static_ok and self.rng.random() < 0.3:
            return cls, True
        var = cls[0].lower() + cls[1:] if self.rng.random() < 0.6 else self.rng.choice(INSTANCE_VARS)
        self.setup(f"{cls} {var} = new {cls}();")
        return var, False

    def case(self, focal: str, test_name: str) -> Case:
        return Case(focal, self.body, self.assertions, test_name)

    # ---- assertion kinds. Qualified forms (~10%) mirror codebases that avoid static imports.

    def _add(self, assertion: str) -> None:
        self.body.append(PLACEHOLDER)
        self.assertions.append(assertion)

    def _junit(self, name: str) -> str:
        r = self.rng.random()
        if r < 0.07:
            return "Assertions." + name
        if r < 0.10:
            return "Assert." + name
        return name

    def _assertj(self, actual: str) -> str:
        prefix = "Assertions." if self.rng.random() < 0.1 else ""
        return f"{prefix}assertThat({actual})"

    def _use_assertj(self) -> bool:
        return self.rng.random() < 0.2

    def eq(self, expected: str, actual: str) -> None:
        if self._use_assertj():
            self._add(f"{self._assertj(actual)}.isEqualTo({expected});")
            return
        name = self._junit("assertEquals")
        # JUnit 5 takes the message last; JUnit 4's Assert takes it first, so skip it there.
        if not name.startswith("Assert.") and self.rng.random() < 0.05:
            self._add(f'{name}({expected}, {actual}, "unexpected result");')
        else:
            self._add(f"{name}({expected}, {actual});")

    def close(self, expected: float, actual: str) -> None:
        delta = self.rng.choice(["0.001", "0.0001", "0.01", "1e-3", "1e-4"])
        exp = jdouble(expected, float(delta) / 100)
        if self._use_assertj():
            self._add(f"{self._assertj(actual)}.isCloseTo({exp}, within({delta}));")
        else:
            self._add(f"{self._junit('assertEquals')}({exp}, {actual}, {delta});")

    def truth(self, value: bool, actual: str) -> None:
        if self._use_assertj():
            self._add(f"{self._assertj(actual)}.{'isTrue' if value else 'isFalse'}();")
        else:
            self._add(f"{self._junit('assertTrue' if value else 'assertFalse')}({actual});")

    def null(self, actual: str) -> None:
        if self._use_assertj():
            self._add(f"{self._assertj(actual)}.isNull();")
        else:
            self._add(f"{self._junit('assertNull')}({actual});")

    def not_null(self, actual: str) -> None:
        if self._use_assertj():
            self._add(f"{self._assertj(actual)}.isNotNull();")
        else:
            self._add(f"{self._junit('assertNotNull')}({actual});")

    def throws(self, exception: str, call: str) -> None:
        self._add(f"{self._junit('assertThrows')}({exception}.class, () -> {call});")

    def int_array(self, expected: list[int], actual: str) -> None:
        if self._use_assertj():
            tail = f"containsExactly({', '.join(map(str, expected))})" if expected else "isEmpty()"
            self._add(f"{self._assertj(actual)}.{tail};")
        else:
            self._add(f"{self._junit('assertArrayEquals')}({jint_array(expected)}, {actual});")

    def same(self, expected: str, actual: str) -> None:
        if self._use_assertj():
            self._add(f"{self._assertj(actual)}.isSameAs({expected});")
        else:
            self._add(f"{self._junit('assertSame')}({expected}, {actual});")

    def not_same(self, unexpected: str, actual: str) -> None:
        self._add(f"{self._junit('assertNotSame')}({unexpected}, {actual});")

    def int_list(self, expected: list[int], actual: str) -> None:
        if not expected:
            self.truth(True, f"{actual}.isEmpty()")
        elif self._use_assertj():
            self._add(f"{self._assertj(actual)}.containsExactly({', '.join(map(str, expected))});")
        else:
            style = self.rng.choice(["Arrays.asList", "List.of"])
            self._add(f"{self._junit('assertEquals')}({jlist(expected, style=style)}, {actual});")

    def checks(self, typ: str, calls: list[tuple[str, object]], check: Callable[[object, str], None]) -> None:
        """Asserts on each (call, expected); the first result is often kept in a local first."""
        for i, (call, expected) in enumerate(calls):
            if i == 0 and self.rng.random() < 0.65:
                var = self.rng.choice(RESULT_VARS)
                self.setup(f"{typ} {var} = {call};")
                check(expected, var)
            else:
                check(expected, call)


def _int_lit(v: int, typ: str, rng: random.Random | None = None) -> str:
    """Java literal of an integer result; longs outside int range need the L suffix."""
    if typ == "long" and (v < INT_MIN or v > INT_MAX or (rng is not None and rng.random() < 0.3)):
        return f"{v}L"
    return str(v)


# --------------------------------------------------------------------------- arithmetic shapes

# op -> (method names, expression template, semantics)
_INT_BINARY = {
    "add": (["add", "sum", "plus", "addNumbers"], "$a + $b", lambda a, b: a + b),
    "subtract": (["subtract", "minus", "difference"], "$a - $b", lambda a, b: a - b),
    "multiply": (["multiply", "times", "product"], "$a * $b", lambda a, b: a * b),
    "max": (["max", "maximum", "larger"], "Math.max($a, $b)", max),
    "min": (["min", "minimum", "smaller"], "Math.min($a, $b)", min),
    "maxTernary": (["greaterOf", "pickLarger"], "$a >= $b ? $a : $b", max),
}


def shape_int_binary(rng: random.Random) -> Case:
    t = _Test(rng)
    names, expr, fn = _INT_BINARY[rng.choice(list(_INT_BINARY))]
    method = rng.choice(names)
    typ = rng.choice(["int", "int", "long"])
    a, b = rng.choice(PARAM_PAIRS)
    recv, static = t.receiver(_class_name(rng, ARITH))
    focal = _java("""
        ${mods}$typ $method($typ $a, $typ $b) {
            return $expr;
        }
    """, mods=_mods(rng, static), typ=typ, method=method, a=a, b=b,
                  expr=Template(expr).substitute(a=a, b=b))
    # Longs get operands big enough that the product leaves int range.
    bound = 1_000_000 if typ == "long" else 1000
    arg = (lambda v: f"{v}L") if typ == "long" else str
    calls = []
    for _ in range(_n_checks(rng)):
        x, y = rng.randint(-bound, bound), rng.randint(-bound, bound)
        calls.append((f"{recv}.{method}({arg(x)}, {arg(y)})", fn(x, y)))
    t.checks(typ, calls, lambda v, act: t.eq(_int_lit(v, typ, rng), act))
    return t.case(focal, _test_name(rng, method))


def _fib(n: int) -> int:
    prev, curr = 0, 1
    for _ in range(n):
        prev, curr = curr, prev + curr
    return prev


# op -> (names, return type, body template over $n, semantics, input sampler)
_INT_UNARY = {
    "abs": (["abs", "absolute", "magnitude"], "int", "return Math.abs($n);", abs,
            lambda r: r.randint(-1000, 1000)),
    "negate": (["negate", "invert", "flipSign"], "int", "return -$n;", lambda n: -n,
               lambda r: r.randint(-1000, 1000)),
    "square": (["square", "squared"], "int", "return $n * $n;", lambda n: n * n,
               lambda r: r.randint(-1000, 1000)),
    "cube": (["cube", "cubed"], "long", "return (long) $n * $n * $n;", lambda n: n**3,
             lambda r: r.randint(-2000, 2000)),
    "sumTo": (["sumTo", "triangular", "sumUpTo"], "int", "return $n * ($n + 1) / 2;",
              lambda n: n * (n + 1) // 2, lambda r: r.randint(0, 1000)),
    "factorial": (["factorial", "fact"], "long", """
        long result = 1;
        for (int i = 2; i <= $n; i++) {
            result *= i;
        }
        return result;""", math.factorial, lambda r: r.randint(0, 20)),
    "fibonacci": (["fibonacci", "fib", "nthFibonacci"], "int", """
        if ($n < 2) {
            return $n;
        }
        int prev = 0;
        int curr = 1;
        for (int i = 2; i <= $n; i++) {
            int next = prev + curr;
            prev = curr;
            curr = next;
        }
        return curr;""", _fib, lambda r: r.randint(0, 40)),
    "digitSum": (["digitSum", "sumOfDigits"], "int", """
        int sum = 0;
        while ($n > 0) {
            sum += $n % 10;
            $n /= 10;
        }
        return sum;""", lambda n: sum(map(int, str(n))), lambda r: r.randint(0, 999_999)),
}


def shape_int_unary(rng: random.Random) -> Case:
    t = _Test(rng)
    names, ret, body, fn, sample = _INT_UNARY[rng.choice(list(_INT_UNARY))]
    method = rng.choice(names)
    n = rng.choice(["n", "x", "value", "number", "input"])
    recv, static = t.receiver(_class_name(rng, ARITH))
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), INDENT)
    focal = (f"{_mods(rng, static)}{ret} {method}(int {n}) {{\n"
             + Template(body).substitute(n=n) + "\n}")
    calls = [(f"{recv}.{method}({x})", fn(x)) for x in _distinct(rng, sample, _n_checks(rng))]
    t.checks(ret, calls, lambda v, act: t.eq(_int_lit(v, ret, rng), act))
    return t.case(focal, _test_name(rng, method))


def _distinct(rng: random.Random, sample: Callable, k: int) -> list:
    out: list = []
    for _ in range(20 * k):
        if len(out) == k:
            break
        v = sample(rng)
        if v not in out:
            out.append(v)
    return out


def shape_number_theory(rng: random.Random) -> Case:
    t = _Test(rng)
    op = rng.choice(["gcd", "lcm", "power"])
    recv, static = t.receiver(_class_name(rng, ARITH))
    mods = _mods(rng, static)
    k = _n_checks(rng)
    if op == "power":
        method = rng.choice(["power", "pow", "raise"])
        focal = _java("""
            ${mods}long $method(int base, int exponent) {
                long result = 1;
                for (int i = 0; i < exponent; i++) {
                    result *= base;
                }
                return result;
            }
        """, mods=mods, method=method)
        args = [(rng.randint(-9, 12), rng.randint(0, 12)) for _ in range(k)]
        calls = [(f"{recv}.{method}({b}, {e})", b**e) for b, e in args]
        t.checks("long", calls, lambda v, act: t.eq(_int_lit(v, "long", rng), act))
        return t.case(focal, _test_name(rng, method))
    a, b = rng.choice(PARAM_PAIRS)
    if op == "gcd":
        method = rng.choice(["gcd", "greatestCommonDivisor"])
        focal = _java("""
            ${mods}int $method(int $a, int $b) {
                while ($b != 0) {
                    int tmp = $b;
                    $b = $a % $b;
                    $a = tmp;
                }
                return $a;
            }
        """, mods=mods, method=method, a=a, b=b)
        fn = math.gcd
    else:
        method = rng.choice(["lcm", "leastCommonMultiple"])
        focal = _java("""
            ${mods}int $method(int $a, int $b) {
                return $a / gcd($a, $b) * $b;
            }
        """, mods=mods, method=method, a=a, b=b)
        fn = lambda x, y: x * y // math.gcd(x, y)  # noqa: E731
    args = [(rng.randint(1, 60) * rng.choice([1, 2, 3, 6]), rng.randint(1, 60)) for _ in range(k)]
    calls = [(f"{recv}.{method}({x}, {y})", fn(x, y)) for x, y in args]
    t.checks("int", calls, lambda v, act: t.eq(str(v), act))
    return t.case(focal, _test_name(rng, method))


def shape_clamp(rng: random.Random) -> Case:
    t = _Test(rng)
    typ = rng.choice(["int", "int", "double"])
    method = rng.choice(["clamp", "bound", "limit", "constrain"])
    v, lo, hi = rng.choice([("value", "min", "max"), ("x", "lower", "upper"), ("n", "low", "high")])
    recv, static = t.receiver(_class_name(rng, ARITH))
    mods = _mods(rng, static)
    if rng.random() < 0.5:
        focal = _java("""
            ${mods}$typ $method($typ $v, $typ $lo, $typ $hi) {
                return Math.max($lo, Math.min($hi, $v));
            }
        """, mods=mods, typ=typ, method=method, v=v, lo=lo, hi=hi)
    else:
        focal = _java("""
            ${mods}$typ $method($typ $v, $typ $lo, $typ $hi) {
                if ($v < $lo) {
                    return $lo;
                }
                if ($v > $hi) {
                    return $hi;
                }
                return $v;
            }
        """, mods=mods, typ=typ, method=method, v=v, lo=lo, hi=hi)
    calls, scenario = [], ""
    for _ in range(_n_checks(rng)):
        low = rng.randint(-100, 50)
        high = low + rng.randint(1, 100)
        x = rng.randint(low - 50, high + 50)
        expected = max(low, min(high, x))
        if not calls:
            scenario = "BelowRange" if x < low else "AboveRange" if x > high else "WithinRange"
        if typ == "int":
            calls.append((f"{recv}.{method}({x}, {low}, {high})", expected))
        else:  # tenths keep the literals and the arithmetic exact
            calls.append((f"{recv}.{method}({x / 10:.1f}, {low / 10:.1f}, {high / 10:.1f})", expected / 10))
    if typ == "int":
        t.checks(typ, calls, lambda e, act: t.eq(str(e), act))
    else:
        t.checks(typ, calls, lambda e, act: t.close(e, act))
    # A scenario in the name must be true of the test, so it comes from the first call only.
    return t.case(focal, _test_name(rng, method, (scenario,) * 2 if len(calls) == 1 else ()))


# op -> (names, params, return expression, semantics)
_DOUBLE_OPS = {
    "average": (["average", "mean", "avg"], ("a", "b"), "($a + $b) / 2.0", lambda a, b: (a + b) / 2.0),
    "divide": (["divide", "ratio", "quotient"], ("dividend", "divisor"), "$dividend / $divisor",
               lambda a, b: a / b),
    "percentOf": (["percentOf", "applyPercent"], ("amount", "percent"), "$amount * $percent / 100.0",
                  lambda a, p: a * p / 100.0),
    "circleArea": (["circleArea", "areaOfCircle"], ("radius",), "Math.PI * $radius * $radius",
                   lambda r: math.pi * r * r),
    "toFahrenheit": (["celsiusToFahrenheit", "toFahrenheit"], ("celsius",), "$celsius * 9 / 5 + 32",
                     lambda c: c * 9 / 5 + 32),
    "hypotenuse": (["hypotenuse", "distance"], ("dx", "dy"), "Math.sqrt($dx * $dx + $dy * $dy)",
                   lambda x, y: math.sqrt(x * x + y * y)),
}


def shape_double_math(rng: random.Random) -> Case:
    t = _Test(rng)
    names, params, expr, fn = _DOUBLE_OPS[rng.choice(list(_DOUBLE_OPS))]
    method = rng.choice(names)
    recv, static = t.receiver(_class_name(rng, ARITH))
    sig = ", ".join(f"double {p}" for p in params)
    focal = _java("""
        ${mods}double $method($sig) {
            return $expr;
        }
    """, mods=_mods(rng, static), method=method, sig=sig,
                  expr=Template(expr).substitute({p: p for p in params}))
    calls = []
    for _ in range(_n_checks(rng)):
        # Tenths: a literal like 2.3 and Python's 23 / 10 are the same double.
        args = [rng.randint(-1000, 1000) / 10 for _ in params]
        if method in ("divide", "ratio", "quotient") and args[1] == 0:
            args[1] = 2.5
        if len(params) == 1 and rng.random() < 0.5:
            args = [abs(args[0])]
        lits = ", ".join(f"{x:.1f}" for x in args)
        calls.append((f"{recv}.{method}({lits})", fn(*args)))
    t.checks("double", calls, lambda e, act: t.close(e, act))
    return t.case(focal, _test_name(rng, method))


# --------------------------------------------------------------------------- string shapes


def _java_trim(s: str) -> str:
    # String.trim strips every char <= ' ', not Python's notion of whitespace.
    i, j = 0, len(s)
    while i < j and s[i] <= " ":
        i += 1
    while j > i and s[j - 1] <= " ":
        j -= 1
    return s[i:j]


def shape_string_transform(rng: random.Random) -> Case:
    t = _Test(rng)
    op = rng.choice(["reverse", "upper", "lower", "concat", "repeat", "trim", "substring", "capitalize",
                     "join", "removeSpaces"])
    recv, static = t.receiver(_class_name(rng, TEXT))
    mods = _mods(rng, static)
    s = rng.choice(["s", "text", "input", "str", "value"])
    if op == "reverse":
        method = rng.choice(["reverse", "reversed", "reverseString"])
        body = f"return new StringBuilder({s}).reverse().toString();"
        params, fn = f"String {s}", lambda x: x[::-1]
        args = lambda: [_text(rng)]  # noqa: E731
    elif op in ("upper", "lower"):
        method = rng.choice(["toUpper", "upperCase", "shout"] if op == "upper" else ["toLower", "lowerCase", "normalize"])
        body = f"return {s}.{'toUpperCase' if op == 'upper' else 'toLowerCase'}();"
        params, fn = f"String {s}", (str.upper if op == "upper" else str.lower)
        args = lambda: [rng.choice(WORDS + NON_ASCII_WORDS[:5] + PEOPLE[:-1])]  # noqa: E731
    elif op == "concat":
        method = rng.choice(["concat", "combine", "append"])
        a, b = rng.choice(PARAM_PAIRS)
        body = f"return {a} + {b};" if rng.random() < 0.5 else f"return {a}.concat({b});"
        params, fn = f"String {a}, String {b}", lambda x, y: x + y
        args = lambda: [_text(rng), _text(rng)]  # noqa: E731
    elif op == "repeat":
        method = rng.choice(["repeat", "times", "duplicate"])
        body = f"return {s}.repeat(count);"
        params, fn = f"String {s}, int count", lambda x, k: x * k
        args = lambda: [rng.choice(WORDS[:10] + ["ab", "-", "xy", "*"]), rng.randint(0, 4)]  # noqa: E731
    elif op == "trim":
        method = rng.choice(["trim", "strip", "clean"])
        body = f"return {s}.trim();"
        params, fn = f"String {s}", _java_trim
        pads = ["", " ", "  ", "\t", " \n", "   "]
        args = lambda: [rng.choice(pads) + _text(rng) + rng.choice(pads)]  # noqa: E731
    elif op == "substring":
        method = rng.choice(["substring", "slice", "extract"])
        body = f"return {s}.substring(start, end);"
        params, fn = f"String {s}, int start, int end", lambda x, i, j: x[i:j]

        def args() -> list:
            x = rng.choice(WORDS)
            i = rng.randint(0, len(x) - 1)
            return [x, i, rng.randint(i, len(x))]
    elif op == "capitalize":
        method = rng.choice(["capitalize", "capitalizeFirst", "titleCase"])
        body = f"return {s}.isEmpty() ? {s} : Character.toUpperCase({s}.charAt(0)) + {s}.substring(1);"
        params, fn = f"String {s}", lambda x: x[:1].upper() + x[1:]
        args = lambda: [rng.choice(WORDS + ["", "über", "x"])]  # noqa: E731
    elif op == "join":
        method = rng.choice(["joinWith", "join", "glue"])
        body = "return String.join(separator, first, second);"
        params, fn = "String first, String second, String separator", lambda x, y, sep: x + sep + y
        args = lambda: [_text(rng), _text(rng), rng.choice([", ", "-", "/", " | ", ""])]  # noqa: E731
    else:
        method = rng.choice(["removeSpaces", "stripSpaces", "compact"])
        body = f'return {s}.replace(" ", "");'
        params, fn = f"String {s}", lambda x: x.replace(" ", "")
        args = lambda: [f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(WORDS)}"]  # noqa: E731
    focal = f"{mods}String {method}({params}) {{\n{INDENT}{body}\n}}"

    def lit(v: object) -> str:
        return jstr(v) if isinstance(v, str) else str(v)

    first = args()
    # Naming the input is how many real tests read; otherwise the literal goes straight in.
    if len(first) == 1 and rng.random() < 0.3:
        var = rng.choice(["original", "text", "word", "source"])
        t.setup(f"String {var} = {jstr(first[0])};")
        first_lits = var
    else:
        first_lits = ", ".join(map(lit, first))
    out = rng.choice(RESULT_VARS)
    t.setup(f"String {out} = {recv}.{method}({first_lits});")
    expected = fn(*first)
    extras = _n_checks(rng) - 1
    if extras and rng.random() < 0.5:
        t.not_null(out)
        extras -= 1
    t.eq(jstr(expected), out)
    if extras:
        t.eq(str(len(expected)), f"{out}.length()")
        extras -= 1
    if extras:
        more = args()
        t.eq(jstr(fn(*more)), f"{recv}.{method}({', '.join(map(lit, more))})")
    return t.case(focal, _test_name(rng, method))


def shape_string_measure(rng: random.Random) -> Case:
    t = _Test(rng)
    op = rng.choice(["length", "countChar", "indexOf", "vowels", "wordCount"])
    recv, static = t.receiver(_class_name(rng, TEXT))
    mods = _mods(rng, static)
    s = rng.choice(["s", "text", "input", "str"])
    if op == "length":
        method = rng.choice(["length", "lengthOf", "size"])
        focal = _java("""
            ${mods}int $method(String $s) {
                return $s == null ? 0 : $s.length();
            }
        """, mods=mods, method=method, s=s)
        sample = lambda: (jstr(x := rng.choice([_text(rng), None, ""])), 0 if x is None else len(x))  # noqa: E731
    elif op in ("countChar", "indexOf"):
        method = rng.choice(["countChar", "occurrences"] if op == "countChar" else ["indexOf", "positionOf"])
        if op == "countChar":
            focal = _java("""
                ${mods}int $method(String $s, char target) {
                    int count = 0;
                    for (char c : $s.toCharArray()) {
                        if (c == target) {
                            count++;
                        }
                    }
                    return count;
                }
            """, mods=mods, method=method, s=s)
            fn = str.count
        else:
            focal = _java("""
                ${mods}int $method(String $s, char target) {
                    return $s.indexOf(target);
                }
            """, mods=mods, method=method, s=s)
            fn = str.find  # same -1 convention as String.indexOf

        def sample() -> tuple[str, int]:
            x = rng.choice(WORDS + ["it's", "C:\\temp"])
            c = rng.choice(x) if rng.random() < 0.7 else rng.choice("aeioz'\\")
            return f"{jstr(x)}, {jchar(c)}", fn(x, c)
    elif op == "vowels":
        method = rng.choice(["countVowels", "vowelCount"])
        focal = _java("""
            ${mods}int $method(String $s) {
                int count = 0;
                for (int i = 0; i < $s.length(); i++) {
                    if ("aeiouAEIOU".indexOf($s.charAt(i)) >= 0) {
                        count++;
                    }
                }
                return count;
            }
        """, mods=mods, method=method, s=s)
        sample = lambda: (jstr(x := _text(rng)), sum(c in "aeiouAEIOU" for c in x))  # noqa: E731
    else:
        method = rng.choice(["wordCount", "countWords"])
        focal = _java("""
            ${mods}int $method(String $s) {
                String trimmed = $s.trim();
                return trimmed.isEmpty() ? 0 : trimmed.split("\\\\s+").length;
            }
        """, mods=mods, method=method, s=s)

        def sample() -> tuple[str, int]:
            words = rng.sample(WORDS, rng.randint(0, 5))
            x = rng.choice([" ", "  "]).join(words)
            return jstr(rng.choice(["", " "]) + x), len(words)
    calls = [(f"{recv}.{method}({a})", e) for a, e in (sample() for _ in range(_n_checks(rng)))]
    t.checks("int", calls, lambda e, act: t.eq(str(e), act))
    return t.case(focal, _test_name(rng, method))


# --------------------------------------------------------------------------- predicates


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


_PRIMES = [n for n in range(2, 200) if _is_prime(n)]


def shape_int_predicate(rng: random.Random) -> Case:
    t = _Test(rng)
    op = rng.choice(["even", "odd", "positive", "negative", "prime", "divisible", "inRange", "leap"])
    recv, static = t.receiver(_class_name(rng, CHECK))
    mods = _mods(rng, static)
    n = rng.choice(["n", "number", "value", "x"])
    small = lambda: rng.randint(-500, 500)  # noqa: E731
    if op in ("even", "odd", "positive", "negative"):
        method, cond, fn = {
            "even": ("isEven", f"{n} % 2 == 0", lambda v: v % 2 == 0),
            # `n % 2 == 1` is false for negative odds in Java; != 0 is the correct check.
            "odd": ("isOdd", f"{n} % 2 != 0", lambda v: v % 2 != 0),
            "positive": ("isPositive", f"{n} > 0", lambda v: v > 0),
            "negative": ("isNegative", f"{n} < 0", lambda v: v < 0),
        }[op]
        focal = f"{mods}boolean {method}(int {n}) {{\n{INDENT}return {cond};\n}}"
        sample = lambda: (str(v := small()), fn(v))  # noqa: E731
    elif op == "prime":
        method = "isPrime"
        focal = _java("""
            ${mods}boolean isPrime(int $n) {
                if ($n < 2) {
                    return false;
                }
                for (int i = 2; (long) i * i <= $n; i++) {
                    if ($n % i == 0) {
                        return false;
                    }
                }
                return true;
            }
        """, mods=mods, n=n)
        sample = lambda: (str(v := rng.choice([rng.choice(_PRIMES), rng.randint(-5, 200)])), _is_prime(v))  # noqa: E731
    elif op == "divisible":
        method = rng.choice(["isDivisibleBy", "isMultipleOf"])
        focal = _java("""
            ${mods}boolean $method(int $n, int divisor) {
                return divisor != 0 && $n % divisor == 0;
            }
        """, mods=mods, method=method, n=n)

        def sample() -> tuple[str, bool]:
            d = rng.randint(-3, 12)
            v = d * rng.randint(-20, 20) if rng.random() < 0.5 else small()
            return f"{v}, {d}", d != 0 and v % d == 0
    elif op == "inRange":
        method = rng.choice(["isInRange", "isBetween", "within"])
        focal = _java("""
            ${mods}boolean $method(int $n, int low, int high) {
                return $n >= low && $n <= high;
            }
        """, mods=mods, method=method, n=n)

        def sample() -> tuple[str, bool]:
            lo = rng.randint(-50, 50)
            hi = lo + rng.randint(0, 40)
            v = rng.choice([lo, hi, rng.randint(lo - 20, hi + 20)])
            return f"{v}, {lo}, {hi}", lo <= v <= hi
    else:
        method = "isLeapYear"
        focal = _java("""
            ${mods}boolean isLeapYear(int year) {
                return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            }
        """, mods=mods)
        sample = lambda: (str(y := rng.choice([1900, 2000, 2024, 2023, 1996, 2100, rng.randint(1800, 2200)])),  # noqa: E731
                          (y % 4 == 0 and y % 100 != 0) or y % 400 == 0)
    calls = [(f"{recv}.{method}({a})", e) for a, e in (sample() for _ in range(_n_checks(rng)))]
    t.checks("boolean", calls, lambda e, act: t.truth(e, act))
    scenario = ("ReturnsTrue" if calls[0][1] else "ReturnsFalse") if len(calls) == 1 else ""
    return t.case(focal, _test_name(rng, method, (scenario,) if scenario else ()))


def shape_string_predicate(rng: random.Random) -> Case:
    t = _Test(rng)
    op = rng.choice(["palindrome", "nullOrEmpty", "blank", "startsWith", "hasDigit", "equalsIgnoreCase"])
    recv, static = t.receiver(_class_name(rng, CHECK))
    mods = _mods(rng, static)
    s = rng.choice(["s", "text", "input", "str", "word"])
    if op == "palindrome":
        method = "isPalindrome"
        focal = _java("""
            ${mods}boolean isPalindrome(String $s) {
                return new StringBuilder($s).reverse().toString().equals($s);
            }
        """, mods=mods, s=s)
        sample = lambda: (jstr(x := rng.choice([rng.choice(PALINDROMES), _text(rng)])), x == x[::-1])  # noqa: E731
    elif op in ("nullOrEmpty", "blank"):
        method = "isNullOrEmpty" if op == "nullOrEmpty" else rng.choice(["isBlank", "isNullOrBlank"])
        cond = f"{s}.isEmpty()" if op == "nullOrEmpty" else f"{s}.trim().isEmpty()"
        focal = f"{mods}boolean {method}(String {s}) {{\n{INDENT}return {s} == null || {cond};\n}}"

        def sample() -> tuple[str, bool]:
            x = rng.choice([None, "", " ", "  \t", rng.choice(WORDS), f" {rng.choice(WORDS)} "])
            if x is None:
                return "null", True
            return jstr(x), (x == "" if op == "nullOrEmpty" else _java_trim(x) == "")
    elif op == "startsWith":
        method = rng.choice(["startsWith", "hasPrefix"])
        focal = _java("""
            ${mods}boolean $method(String $s, String prefix) {
                return $s.startsWith(prefix);
            }
        """, mods=mods, method=method, s=s)

        def sample() -> tuple[str, bool]:
            x = rng.choice(WORDS)
            p = x[: rng.randint(0, len(x))] if rng.random() < 0.5 else rng.choice(WORDS)[:3]
            return f"{jstr(x)}, {jstr(p)}", x.startswith(p)
    elif op == "hasDigit":
        method = rng.choice(["containsDigit", "hasDigit"])
        focal = _java("""
            ${mods}boolean $method(String $s) {
                for (char c : $s.toCharArray()) {
                    if (Character.isDigit(c)) {
                        return true;
                    }
                }
                return false;
            }
        """, mods=mods, method=method, s=s)

        def sample() -> tuple[str, bool]:
            x = rng.choice([rng.choice(WORDS), f"{rng.choice(WORDS)}{rng.randint(0, 99)}", "r2d2", "abc"])
            return jstr(x), any(c in "0123456789" for c in x)
    else:
        method = rng.choice(["sameIgnoringCase", "matchesIgnoreCase"])
        a, b = rng.choice(PARAM_PAIRS)
        focal = _java("""
            ${mods}boolean $method(String $a, String $b) {
                return $a != null && $a.equalsIgnoreCase($b);
            }
        """, mods=mods, method=method, a=a, b=b)

        def sample() -> tuple[str, bool]:
            x = rng.choice(WORDS)
            y = rng.choice([x.upper(), _cap(x), x, rng.choice(WORDS)])
            return f"{jstr(x)}, {jstr(y)}", x.lower() == y.lower()
    calls = [(f"{recv}.{method}({a})", e) for a, e in (sample() for _ in range(_n_checks(rng)))]
    t.checks("boolean", calls, lambda e, act: t.truth(e, act))
    return t.case(focal, _test_name(rng, method))


# --------------------------------------------------------------------------- collections


def _int_list_setup(t: _Test, values: list[int]) -> str:
    var = t.rng.choice(LIST_VARS)
    t.setup(f"List<Integer> {var} = {jlist(values, style=t.rng.choice(['Arrays.asList', 'List.of']))};")
    return var


def _word_list_setup(t: _Test, words: list[str]) -> str:
    var = t.rng.choice(WORD_LIST_VARS)
    t.setup(f"List<String> {var} = {jlist(words, jstr, t.rng.choice(['Arrays.asList', 'List.of']))};")
    return var


def shape_list_aggregate(rng: random.Random) -> Case:
    t = _Test(rng)
    op = rng.choice(["sum", "max", "countAbove", "countEvens", "average"])
    recv, static = t.receiver(_class_name(rng, COLLECT))
    mods = _mods(rng, static)
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
    if _n_checks(rng) > 1:
        t.eq(str(len(values)), f"{var}.size()")
    return t.case(focal, _test_name(rng, method))


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
    t = _Test(rng)
    names, body, fn = _LIST_TRANSFORMS[rng.choice(list(_LIST_TRANSFORMS))]
    method = rng.choice(names)
    recv, static = t.receiver(_class_name(rng, COLLECT))
    p = rng.choice(LIST_VARS)
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), INDENT)
    focal = (f"{_mods(rng, static)}List<Integer> {method}(List<Integer> {p}) {{\n"
             + Template(body).substitute(p=p) + "\n}")
    values = [rng.randint(-20, 30) for _ in range(rng.randint(0, 7))]
    if method in ("distinct", "removeDuplicates", "unique") and values:
        values.append(rng.choice(values))
    var = _int_list_setup(t, values)
    out = rng.choice(RESULT_VARS)
    t.setup(f"List<Integer> {out} = {recv}.{method}({var});")
    expected = fn(values)
    k = _n_checks(rng)
    if k == 3:
        t.not_null(out)
    if k >= 2 and expected:
        t.eq(str(len(expected)), f"{out}.size()")
    t.int_list(expected, out)
    return t.case(focal, _test_name(rng, method))


def shape_list_query(rng: random.Random) -> Case:
    t = _Test(rng)
    op = rng.choice(["contains", "indexOf", "count", "longest", "join"])
    recv, static = t.receiver(_class_name(rng, COLLECT))
    mods = _mods(rng, static)
    p = rng.choice(WORD_LIST_VARS)
    words = [rng.choice(WORDS[:12]) for _ in range(rng.randint(1, 6))]
    target = rng.choice(words) if rng.random() < 0.6 else rng.choice(WORDS[:14])
    var = _word_list_setup(t, words)
    if op == "contains":
        method = rng.choice(["contains", "hasItem", "includes"])
        focal = _java("""
            ${mods}boolean $method(List<String> $p, String target) {
                return $p.contains(target);
            }
        """, mods=mods, method=method, p=p)
        t.checks("boolean", [(f"{recv}.{method}({var}, {jstr(target)})", target in words)],
                 lambda e, act: t.truth(e, act))
    elif op == "indexOf":
        method = rng.choice(["indexOf", "positionOf", "find"])
        focal = _java("""
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
        focal = _java("""
            ${mods}int $method(List<String> $p, String target) {
                return (int) $p.stream().filter(target::equals).count();
            }
        """, mods=mods, method=method, p=p)
        t.checks("int", [(f"{recv}.{method}({var}, {jstr(target)})", words.count(target))],
                 lambda e, act: t.eq(str(e), act))
    elif op == "longest":
        method = rng.choice(["longest", "longestWord", "findLongest"])
        focal = _java("""
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
        focal = _java("""
            ${mods}String $method(List<String> $p) {
                return String.join($sep, $p);
            }
        """, mods=mods, method=method, p=p, sep=jstr(sep))
        t.checks("String", [(f"{recv}.{method}({var})", sep.join(words))], lambda e, act: t.eq(jstr(e), act))
    if _n_checks(rng) > 1:
        t.eq(str(len(words)), f"{var}.size()")
    return t.case(focal, _test_name(rng, method))


def shape_map_build(rng: random.Random) -> Case:
    t = _Test(rng)
    recv, static = t.receiver(_class_name(rng, COLLECT))
    mods = _mods(rng, static)
    p = rng.choice(WORD_LIST_VARS)
    words = [rng.choice(WORDS[:8]) for _ in range(rng.randint(1, 7))]
    if rng.random() < 0.5:
        method = rng.choice(["wordFrequency", "countWords", "histogram"])
        focal = _java("""
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
        focal = _java("""
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
    for i in sorted(rng.sample(range(len(checks)), _n_checks(rng))):
        checks[i]()
    return t.case(focal, _test_name(rng, method))


# --------------------------------------------------------------------------- nullable lookups


def shape_map_lookup(rng: random.Random) -> Case:
    """Lookups that return null on a miss: assertNull on a missing key, a value on a hit."""
    t = _Test(rng)
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
        focal = (f"{_mods(rng, static)}{vtype} {method}({mtype} {m}, String {key_name}) {{\n"
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
        focal = (f"{_mods(rng)}{vtype} {method}(String {key_name}) {{\n"
                 + textwrap.indent(ret.format(m=m), INDENT) + "\n}")
        adder = rng.choice(["register", "put", "add", "save"])
        t.setup(*(f"{recv}.{adder}({jstr(k)}, {vlit(values[k])});" for k in stored))
        call = lambda k: f"{recv}.{method}({jstr(k)})"  # noqa: E731
    hit = rng.choice(stored)
    miss = rng.choice([k for k in keys if k not in stored] + ["unknown"])
    out = rng.choice(["found", "result", "value", "actual"])
    want_hit = rng.random() < 0.5
    t.setup(f"{vtype} {out} = {call(hit if want_hit else miss)};")
    k = _n_checks(rng)
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
    return t.case(focal, _test_name(rng, method, (scenario,)))


def shape_list_find(rng: random.Random) -> Case:
    t = _Test(rng)
    recv, static = t.receiver(_class_name(rng, COLLECT))
    mods = _mods(rng, static)
    p = rng.choice(WORD_LIST_VARS)
    method = rng.choice(["findFirstStartingWith", "firstWithPrefix", "findByPrefix"])
    focal = _java("""
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
    k = _n_checks(rng)
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
    return t.case(focal, _test_name(rng, method, scenario if k == 1 else ()))


# --------------------------------------------------------------------------- throwing methods


def shape_validation(rng: random.Random) -> Case:
    """Methods that reject bad input; tests pair assertThrows with a valid call."""
    t = _Test(rng)
    op = rng.choice(["sqrt", "factorial", "setAge", "repeat", "divide", "normalize", "parsePort", "elementAt"])
    if op == "setAge":  # a setter needs an instance
        cls = rng.choice(["Person", "Employee", "Member", "Customer", "Patient"])
        recv, static = t.receiver(cls, static_ok=False)
    else:
        recv, static = t.receiver(_class_name(rng, CHECK))
    mods = _mods(rng, static)
    valid: list[tuple[str, str]] = []  # (call, expected literal)
    bad: Callable[[], str]  # a fresh rejected call each time
    if op == "sqrt":
        method, exc = rng.choice(["sqrt", "squareRoot", "isqrt"]), "IllegalArgumentException"
        focal = _java("""
            ${mods}int $method(int n) {
                if (n < 0) {
                    throw new IllegalArgumentException("n must not be negative: " + n);
                }
                return (int) Math.sqrt(n);
            }
        """, mods=mods, method=method)
        bad = lambda: f"{recv}.{method}({-rng.randint(1, 100)})"  # noqa: E731
        x = rng.randint(0, 10_000)
        valid = [(f"{recv}.{method}({x})", str(math.isqrt(x)))]
    elif op == "factorial":
        method, exc = rng.choice(["factorial", "fact"]), "IllegalArgumentException"
        focal = _java("""
            ${mods}long $method(int n) {
                if (n < 0) {
                    throw new IllegalArgumentException("negative input");
                }
                long result = 1;
                for (int i = 2; i <= n; i++) {
                    result *= i;
                }
                return result;
            }
        """, mods=mods, method=method)
        bad = lambda: f"{recv}.{method}({-rng.randint(1, 20)})"  # noqa: E731
        x = rng.randint(0, 15)
        valid = [(f"{recv}.{method}({x})", _int_lit(math.factorial(x), "long", rng))]
    elif op == "setAge":
        method, exc = "setAge", "IllegalArgumentException"
        focal = _java("""
            ${mods}void setAge(int age) {
                if (age < 0 || age > 150) {
                    throw new IllegalArgumentException("Invalid age: " + age);
                }
                this.age = age;
            }
        """, mods=mods)
        bad = lambda: f"{recv}.setAge({rng.choice([-1, -rng.randint(2, 99), rng.randint(151, 999)])})"  # noqa: E731
    elif op == "repeat":
        method, exc = rng.choice(["repeat", "times"]), "IllegalArgumentException"
        focal = _java("""
            ${mods}String $method(String s, int count) {
                if (count < 0) {
                    throw new IllegalArgumentException("count must be >= 0");
                }
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < count; i++) {
                    sb.append(s);
                }
                return sb.toString();
            }
        """, mods=mods, method=method)
        w = rng.choice(WORDS[:10])
        bad = lambda: f"{recv}.{method}({jstr(w)}, {-rng.randint(1, 5)})"  # noqa: E731
        c = rng.randint(0, 3)
        valid = [(f"{recv}.{method}({jstr(w)}, {c})", jstr(w * c))]
    elif op == "divide":
        method = rng.choice(["divide", "safeDivide", "quotient"])
        exc = rng.choice(["ArithmeticException", "IllegalArgumentException"])
        focal = _java("""
            ${mods}int $method(int dividend, int divisor) {
                if (divisor == 0) {
                    throw new $exc("Division by zero");
                }
                return dividend / divisor;
            }
        """, mods=mods, method=method, exc=exc)
        bad = lambda: f"{recv}.{method}({rng.randint(-100, 100)}, 0)"  # noqa: E731
        a, b = rng.randint(-200, 200), rng.choice([i for i in range(-12, 13) if i])
        q = abs(a) // abs(b) * (1 if (a >= 0) == (b > 0) else -1)  # Java truncates toward zero
        valid = [(f"{recv}.{method}({a}, {b})", str(q))]
    elif op == "normalize":
        method, exc = rng.choice(["normalize", "canonicalize", "cleanUp"]), "NullPointerException"
        focal = _java("""
            ${mods}String $method(String input) {
                Objects.requireNonNull(input, "input must not be null");
                return input.trim().toLowerCase();
            }
        """, mods=mods, method=method)
        bad = lambda: f"{recv}.{method}(null)"  # noqa: E731
        w = rng.choice([" Hello ", "WORLD", "  Java\t", rng.choice(PEOPLE[:-1])])
        valid = [(f"{recv}.{method}({jstr(w)})", jstr(_java_trim(w).lower()))]
    elif op == "parsePort":
        method = rng.choice(["parsePort", "toPort"])
        focal = _java("""
            ${mods}int $method(String value) {
                int port = Integer.parseInt(value);
                if (port < 1 || port > 65535) {
                    throw new IllegalArgumentException("Port out of range: " + port);
                }
                return port;
            }
        """, mods=mods, method=method)
        if rng.random() < 0.5:
            exc = "NumberFormatException"
            bad = lambda: f"{recv}.{method}({jstr(rng.choice(['abc', '', '80a', 'port']))})"  # noqa: E731
        else:
            exc = "IllegalArgumentException"
            bad = lambda: f"{recv}.{method}({jstr(str(rng.choice([0, 70000, -1])))})"  # noqa: E731
        port = rng.choice([80, 443, 8080, 22, rng.randint(1, 65535)])
        valid = [(f"{recv}.{method}({jstr(str(port))})", str(port))]
    else:
        method, exc = rng.choice(["elementAt", "getAt", "valueAt"]), "IndexOutOfBoundsException"
        focal = _java("""
            ${mods}int $method(int[] values, int index) {
                if (index < 0 || index >= values.length) {
                    throw new IndexOutOfBoundsException("Index: " + index);
                }
                return values[index];
            }
        """, mods=mods, method=method)
        arr = [rng.randint(-9, 99) for _ in range(rng.randint(1, 5))]
        t.setup(f"int[] values = {{{', '.join(map(str, arr))}}};")
        bad = lambda: f"{recv}.{method}(values, {rng.choice([-1, len(arr), len(arr) + rng.randint(1, 5)])})"  # noqa: E731
        i = rng.randrange(len(arr))
        valid = [(f"{recv}.{method}(values, {i})", str(arr[i]))]
    k = _n_checks(rng)
    rejected = [bad()]
    if k == 3 and (again := bad()) != rejected[0]:  # some ops have only one bad input (null)
        rejected.append(again)
    plan = rejected[:1] + (["valid"] if valid and k >= 2 else []) + rejected[1:]
    if rng.random() < 0.4:
        plan.reverse()
    for step in plan:
        if step == "valid":
            t.eq(valid[0][1], valid[0][0])
        else:
            t.throws(exc, step)
    # Not _test_name: its generic "WithValidInput" would contradict a test about bad input.
    suffix = rng.choice(["", f"Throws{exc}", "RejectsInvalidInput", "InvalidInput"])
    return t.case(focal, f"test{_cap(method)}{suffix}")


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
    t = _Test(rng)
    op = rng.choice(list(_ARRAY_OPS) + ["range"])
    recv, static = t.receiver(_class_name(rng, ARRAY))
    mods = _mods(rng, static)
    out = rng.choice(RESULT_VARS)
    if op == "range":
        method = rng.choice(["range", "sequence", "rangeOf"])
        focal = _java("""
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
    k = _n_checks(rng)
    t.int_array(expected, out)
    if k >= 2:
        t.eq(str(len(expected)), f"{out}.length")
    if k == 3 and source is not None:
        t.not_same(source, out)  # a fresh array, never the caller's
    return t.case(focal, _test_name(rng, method))


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
        v = rng.choice([rng.choice(PEOPLE), _text(rng), f"{rng.choice(PEOPLE).lower()}@example.com"])
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
    return ("is" if typ == "boolean" else "get") + _cap(field)


def _check_field(t: _Test, typ: str, value: object, lit: str, actual: str) -> None:
    if typ == "boolean":
        t.truth(bool(value), actual)
    elif typ == "double":
        t.close(float(value), actual)  # type: ignore[arg-type]
    elif typ == "long":
        t.eq(_int_lit(int(value), "long", t.rng), actual)  # type: ignore[call-overload]
    else:
        t.eq(lit, actual)


def shape_accessor(rng: random.Random) -> Case:
    t = _Test(rng)
    cls = rng.choice(list(ENTITIES))
    field, typ = rng.choice(ENTITIES[cls])
    getter = _getter(field, typ)
    setter = "set" + _cap(field)
    var = rng.choice([cls[0].lower() + cls[1:], cls[0].lower() + cls[1:], "entity", "obj"])
    t.setup(f"{cls} {var} = new {cls}();")
    is_setter = rng.random() < 0.5
    if is_setter:
        focal = _java("""
            public void $setter($typ $field) {
                this.$field = $field;
            }
        """, setter=setter, typ=typ, field=field)
    else:
        body = f"return this.{field};" if rng.random() < 0.3 else f"return {field};"
        focal = f"public {typ} {getter}() {{\n{INDENT}{body}\n}}"
    method = setter if is_setter else getter
    k = _n_checks(rng)
    if typ == "String" and rng.random() < 0.15:
        # Setting null must read back as null.
        t.setup(f"{var}.{setter}(null);")
        t.null(f"{var}.{getter}()")
        return t.case(focal, _test_name(rng, method, ("AcceptsNull",)))
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
    return t.case(focal, _test_name(rng, method))


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
    t = _Test(rng)
    cls = rng.choice(list(BUILDERS))
    field, typ = rng.choice(BUILDERS[cls])
    method = rng.choice(["with" + _cap(field), "set" + _cap(field), field])
    focal = _java("""
        public $cls $method($typ $field) {
            this.$field = $field;
            return this;
        }
    """, cls=cls, method=method, typ=typ, field=field)
    var = rng.choice(["builder", cls[0].lower() + cls[1:]])
    t.setup(f"{cls} {var} = new {cls}();")
    lit, value = _field_value(rng, typ)
    out = rng.choice(["returned", "result", "chained", "self"])
    t.setup(f"{cls} {out} = {var}.{method}({lit});")
    k = _n_checks(rng)
    if k == 3:
        t.not_null(out)
    t.same(var, out)
    if k >= 2:
        _check_field(t, typ, value, lit, f"{var}.{_getter(field, typ)}()")
    return t.case(focal, _test_name(rng, method, ("ReturnsSameInstance", "IsChainable")))


def shape_cached(rng: random.Random) -> Case:
    """Methods that hand back one shared instance: lazy fields, singletons, memo caches."""
    t = _Test(rng)
    kind = rng.choice(["lazy", "singleton", "memo", "intern"])
    k = _n_checks(rng)
    if kind == "lazy":
        typ = rng.choice(["Config", "Connection", "Settings", "Session", "Client"])
        field = typ[0].lower() + typ[1:]
        method = rng.choice([f"get{typ}", typ[0].lower() + typ[1:] + "Instance", f"load{typ}"])
        focal = _java("""
            public $typ $method() {
                if ($field == null) {
                    $field = new $typ();
                }
                return $field;
            }
        """, typ=typ, method=method, field=field)
        owner = rng.choice([f"{typ}Provider", f"{typ}Factory", f"{typ}Holder"])
        recv, _ = t.receiver(owner, static_ok=False)
        first, second = f"{recv}.{method}()", f"{recv}.{method}()"
    elif kind == "singleton":
        typ = rng.choice(["Registry", "EventBus", "AppContext", "Metrics", "IdGenerator"])
        method = "getInstance"
        focal = _java("""
            public static synchronized $typ getInstance() {
                if (instance == null) {
                    instance = new $typ();
                }
                return instance;
            }
        """, typ=typ)
        first = second = f"{typ}.getInstance()"
    elif kind == "memo":
        typ, factory, key = rng.choice([("Pattern", "Pattern::compile", rng.choice(["\\d+", "[a-z]+", "^\\s*$", "a|b"])),
                                        ("DateTimeFormatter", "DateTimeFormatter::ofPattern",
                                         rng.choice(["yyyy-MM-dd", "HH:mm", "dd/MM/yyyy"]))])
        method = rng.choice(["compile", "cached", "forPattern", "get"])
        focal = _java("""
            public $typ $method(String pattern) {
                return cache.computeIfAbsent(pattern, $factory);
            }
        """, typ=typ, method=method, factory=factory)
        recv, _ = t.receiver(rng.choice([f"{typ}Cache", "Cache", "Memo"]), static_ok=False)
        first = second = f"{recv}.{method}({jstr(key)})"
    else:
        typ, method = "String", rng.choice(["intern", "canonical", "dedupe"])
        focal = _java("""
            public String $method(String value) {
                return pool.computeIfAbsent(value, v -> v);
            }
        """, method=method)
        recv, _ = t.receiver(rng.choice(["Interner", "StringPool", "NamePool"]), static_ok=False)
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
    return t.case(focal, _test_name(rng, method, ("ReturnsSameInstance", "ReturnsCachedInstance")))


# --------------------------------------------------------------------------- registry

SHAPES: dict[str, Callable[[random.Random], Case]] = {
    "int_binary": shape_int_binary,
    "int_unary": shape_int_unary,
    "number_theory": shape_number_theory,
    "clamp": shape_clamp,
    "double_math": shape_double_math,
    "string_transform": shape_string_transform,
    "string_measure": shape_string_measure,
    "int_predicate": shape_int_predicate,
    "string_predicate": shape_string_predicate,
    "list_aggregate": shape_list_aggregate,
    "list_transform": shape_list_transform,
    "list_query": shape_list_query,
    "map_build": shape_map_build,
    "map_lookup": shape_map_lookup,
    "list_find": shape_list_find,
    "validation": shape_validation,
    "int_array": shape_int_array,
    "accessor": shape_accessor,
    "fluent": shape_fluent,
    "cached": shape_cached,
}


# --------------------------------------------------------------------------- records


def render_test(rng: random.Random, case: Case) -> str:
    """The masked JUnit 5 test method of a case."""
    lines = list(case.body)
    first = lines.index(PLACEHOLDER)
    # Arrange/act/assert blocks are often separated by a blank line.
    if 0 < first and rng.random() < 0.3:
        lines.insert(first, "")
    header = "@Test\n" + ("public void " if rng.random() < 0.15 else "void ") + case.test_name + "() {"
    return header + "\n" + "\n".join(INDENT + line if line else "" for line in lines) + "\n}"


def unmask(test_method_masked: str, assertions: list[str]) -> str:
    """Puts the assertions back where the placeholders are, in order."""
    parts = test_method_masked.split(PLACEHOLDER)
    if len(parts) - 1 != len(assertions):
        raise ValueError(f"{len(parts) - 1} placeholders but {len(assertions)} assertions")
    out = [parts[0]]
    for assertion, rest in zip(assertions, parts[1:]):
        out += [assertion, rest]
    return "".join(out)


def make_record(rng: random.Random, shape: str, index: int) -> dict:
    case = SHAPES[shape](rng)
    if not 1 <= len(case.assertions) <= 3 or case.body.count(PLACEHOLDER) != len(case.assertions):
        raise AssertionError(f"shape {shape} built a malformed case: {case}")
    return {
        "id": f"synth-{index:06d}",
        "focal_method": case.focal_method,
        "test_method_masked": render_test(rng, case),
        "assertions": list(case.assertions),
    }


def generate_labelled(n: int, seed: int) -> list[tuple[str, dict]]:
    """(shape name, record) pairs; the shape name is for coverage checks, not part of the record."""
    rng = random.Random(seed)
    names = list(SHAPES)
    out = []
    for i in range(n):
        shape = rng.choice(names)
        out.append((shape, make_record(rng, shape, i)))
    return out


def generate_records(n: int, seed: int) -> list[dict]:
    return [record for _, record in generate_labelled(n, seed)]


def split_sizes(n: int) -> dict[str, int]:
    """80/10/10, with any remainder going to train."""
    val = test = n // 10
    return {"train": n - val - test, "val": val, "test": test}


def _write_atomic(path: Path, records: list[dict]) -> None:
    # A reader never sees a half-written split: write beside the target, then rename over it.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; splits are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_splits(out_dir: str | Path, n: int, seed: int) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = generate_records(n, seed)
    # A separate stream, so the split does not shift when generation draws change.
    random.Random(f"trident-split-{seed}").shuffle(records)
    paths: dict[str, Path] = {}
    start = 0
    for name, size in split_sizes(n).items():
        paths[name] = out / f"{name}.jsonl"
        _write_atomic(paths[name], records[start:start + size])
        start += size
    return paths
