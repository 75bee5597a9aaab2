"""Shapes over numbers: integer binary and unary operations, number theory, clamping, double math.
"""
from __future__ import annotations

import math
import random
import textwrap
from string import Template
from typing import Callable

from trident.data.synth.literals import INDENT, java_template
from trident.data.synth.vocabulary import (ARITH, PARAM_PAIRS, modifiers, pick_class_name, pick_n_checks,
                                           pick_test_name)
from trident.data.synth.builder import Case, int_literal, TestBuilder


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
    t = TestBuilder(rng)
    names, expr, fn = _INT_BINARY[rng.choice(list(_INT_BINARY))]
    method = rng.choice(names)
    typ = rng.choice(["int", "int", "long"])
    a, b = rng.choice(PARAM_PAIRS)
    recv, static = t.receiver(pick_class_name(rng, ARITH))
    focal = java_template("""
        ${mods}$typ $method($typ $a, $typ $b) {
            return $expr;
        }
    """, mods=modifiers(rng, static), typ=typ, method=method, a=a, b=b,
                  expr=Template(expr).substitute(a=a, b=b))
    # Longs get operands big enough that the product leaves int range.
    bound = 1_000_000 if typ == "long" else 1000
    arg = (lambda v: f"{v}L") if typ == "long" else str
    calls = []
    for _ in range(pick_n_checks(rng)):
        x, y = rng.randint(-bound, bound), rng.randint(-bound, bound)
        calls.append((f"{recv}.{method}({arg(x)}, {arg(y)})", fn(x, y)))
    t.checks(typ, calls, lambda v, act: t.eq(int_literal(v, typ, rng), act))
    return t.case(focal, pick_test_name(rng, method))


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
    t = TestBuilder(rng)
    names, ret, body, fn, sample = _INT_UNARY[rng.choice(list(_INT_UNARY))]
    method = rng.choice(names)
    n = rng.choice(["n", "x", "value", "number", "input"])
    recv, static = t.receiver(pick_class_name(rng, ARITH))
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), INDENT)
    focal = (f"{modifiers(rng, static)}{ret} {method}(int {n}) {{\n"
             + Template(body).substitute(n=n) + "\n}")
    calls = [(f"{recv}.{method}({x})", fn(x)) for x in _distinct(rng, sample, pick_n_checks(rng))]
    t.checks(ret, calls, lambda v, act: t.eq(int_literal(v, ret, rng), act))
    return t.case(focal, pick_test_name(rng, method))


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
    t = TestBuilder(rng)
    op = rng.choice(["gcd", "lcm", "power"])
    recv, static = t.receiver(pick_class_name(rng, ARITH))
    mods = modifiers(rng, static)
    k = pick_n_checks(rng)
    if op == "power":
        method = rng.choice(["power", "pow", "raise"])
        focal = java_template("""
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
        t.checks("long", calls, lambda v, act: t.eq(int_literal(v, "long", rng), act))
        return t.case(focal, pick_test_name(rng, method))
    a, b = rng.choice(PARAM_PAIRS)
    if op == "gcd":
        method = rng.choice(["gcd", "greatestCommonDivisor"])
        focal = java_template("""
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
        focal = java_template("""
            ${mods}int $method(int $a, int $b) {
                return $a / gcd($a, $b) * $b;
            }
        """, mods=mods, method=method, a=a, b=b)
        fn = lambda x, y: x * y // math.gcd(x, y)  # noqa: E731
        t.context(members=("private static int gcd(int a, int b) {\n    return b == 0 ? a : gcd(b, a % b);\n}",))
    args = [(rng.randint(1, 60) * rng.choice([1, 2, 3, 6]), rng.randint(1, 60)) for _ in range(k)]
    calls = [(f"{recv}.{method}({x}, {y})", fn(x, y)) for x, y in args]
    t.checks("int", calls, lambda v, act: t.eq(str(v), act))
    return t.case(focal, pick_test_name(rng, method))


def shape_clamp(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    typ = rng.choice(["int", "int", "double"])
    method = rng.choice(["clamp", "bound", "limit", "constrain"])
    v, lo, hi = rng.choice([("value", "min", "max"), ("x", "lower", "upper"), ("n", "low", "high")])
    recv, static = t.receiver(pick_class_name(rng, ARITH))
    mods = modifiers(rng, static)
    if rng.random() < 0.5:
        focal = java_template("""
            ${mods}$typ $method($typ $v, $typ $lo, $typ $hi) {
                return Math.max($lo, Math.min($hi, $v));
            }
        """, mods=mods, typ=typ, method=method, v=v, lo=lo, hi=hi)
    else:
        focal = java_template("""
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
    for _ in range(pick_n_checks(rng)):
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
    return t.case(focal, pick_test_name(rng, method, (scenario,) * 2 if len(calls) == 1 else ()))


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
    t = TestBuilder(rng)
    names, params, expr, fn = _DOUBLE_OPS[rng.choice(list(_DOUBLE_OPS))]
    method = rng.choice(names)
    recv, static = t.receiver(pick_class_name(rng, ARITH))
    sig = ", ".join(f"double {p}" for p in params)
    focal = java_template("""
        ${mods}double $method($sig) {
            return $expr;
        }
    """, mods=modifiers(rng, static), method=method, sig=sig,
                  expr=Template(expr).substitute({p: p for p in params}))
    calls = []
    for _ in range(pick_n_checks(rng)):
        # Tenths: a literal like 2.3 and Python's 23 / 10 are the same double.
        args = [rng.randint(-1000, 1000) / 10 for _ in params]
        if method in ("divide", "ratio", "quotient") and args[1] == 0:
            args[1] = 2.5
        if len(params) == 1 and rng.random() < 0.5:
            args = [abs(args[0])]
        lits = ", ".join(f"{x:.1f}" for x in args)
        calls.append((f"{recv}.{method}({lits})", fn(*args)))
    t.checks("double", calls, lambda e, act: t.close(e, act))
    return t.case(focal, pick_test_name(rng, method))
