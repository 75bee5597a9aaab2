"""Shapes whose methods throw: argument validation, tested with assertThrows and its messages.
"""
from __future__ import annotations

import math
import random
from typing import Callable

from trident.data.synth.literals import java_template, jstr
from trident.data.synth.vocabulary import CHECK, PEOPLE, WORDS, cap_first, modifiers, pick_class_name, pick_n_checks
from trident.data.synth.builder import Case, int_literal, TestBuilder
from trident.data.synth.shapes_text import java_trim


# --------------------------------------------------------------------------- throwing methods


def shape_validation(rng: random.Random) -> Case:
    """Methods that reject bad input; tests pair assertThrows with a valid call."""
    t = TestBuilder(rng)
    op = rng.choice(["sqrt", "factorial", "setAge", "repeat", "divide", "normalize", "parsePort", "elementAt"])
    if op == "setAge":  # a setter needs an instance
        cls = rng.choice(["Person", "Employee", "Member", "Customer", "Patient"])
        recv, static = t.receiver(cls, static_ok=False)
    else:
        recv, static = t.receiver(pick_class_name(rng, CHECK))
    mods = modifiers(rng, static)
    valid: list[tuple[str, str]] = []  # (call, expected literal)
    bad: Callable[[], str]  # a fresh rejected call each time
    if op == "sqrt":
        method, exc = rng.choice(["sqrt", "squareRoot", "isqrt"]), "IllegalArgumentException"
        focal = java_template("""
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
        focal = java_template("""
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
        valid = [(f"{recv}.{method}({x})", int_literal(math.factorial(x), "long", rng))]
    elif op == "setAge":
        method, exc = "setAge", "IllegalArgumentException"
        focal = java_template("""
            ${mods}void setAge(int age) {
                if (age < 0 || age > 150) {
                    throw new IllegalArgumentException("Invalid age: " + age);
                }
                this.age = age;
            }
        """, mods=mods)
        bad = lambda: f"{recv}.setAge({rng.choice([-1, -rng.randint(2, 99), rng.randint(151, 999)])})"  # noqa: E731
        t.context(members=("private int age;",))
    elif op == "repeat":
        method, exc = rng.choice(["repeat", "times"]), "IllegalArgumentException"
        focal = java_template("""
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
        focal = java_template("""
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
        focal = java_template("""
            ${mods}String $method(String input) {
                Objects.requireNonNull(input, "input must not be null");
                return input.trim().toLowerCase();
            }
        """, mods=mods, method=method)
        bad = lambda: f"{recv}.{method}(null)"  # noqa: E731
        w = rng.choice([" Hello ", "WORLD", "  Java\t", rng.choice(PEOPLE[:-1])])
        valid = [(f"{recv}.{method}({jstr(w)})", jstr(java_trim(w).lower()))]
    elif op == "parsePort":
        method = rng.choice(["parsePort", "toPort"])
        focal = java_template("""
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
        focal = java_template("""
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
    k = pick_n_checks(rng)
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
    # Not pick_test_name: its generic "WithValidInput" would contradict a test about bad input.
    suffix = rng.choice(["", f"Throws{exc}", "RejectsInvalidInput", "InvalidInput"])
    return t.case(focal, f"test{cap_first(method)}{suffix}")
