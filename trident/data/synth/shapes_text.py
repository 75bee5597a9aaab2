"""Shapes over text: string transforms and measures, and predicates over ints and strings.
"""
from __future__ import annotations

import math
import random

from trident.data.synth.literals import INDENT, java_template, jchar, jstr
from trident.data.synth.vocabulary import (CHECK, NON_ASCII_WORDS, PALINDROMES, PARAM_PAIRS, PEOPLE, RESULT_VARS,
                                           TEXT, WORDS, cap_first, modifiers, pick_class_name, pick_n_checks,
                                           pick_test_name, random_text)
from trident.data.synth.builder import Case, TestBuilder


# --------------------------------------------------------------------------- string shapes


def java_trim(s: str) -> str:
    # String.trim strips every char <= ' ', not Python's notion of whitespace.
    i, j = 0, len(s)
    while i < j and s[i] <= " ":
        i += 1
    while j > i and s[j - 1] <= " ":
        j -= 1
    return s[i:j]


def shape_string_transform(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    op = rng.choice(["reverse", "upper", "lower", "concat", "repeat", "trim", "substring", "capitalize",
                     "join", "removeSpaces"])
    recv, static = t.receiver(pick_class_name(rng, TEXT))
    mods = modifiers(rng, static)
    s = rng.choice(["s", "text", "input", "str", "value"])
    if op == "reverse":
        method = rng.choice(["reverse", "reversed", "reverseString"])
        body = f"return new StringBuilder({s}).reverse().toString();"
        params, fn = f"String {s}", lambda x: x[::-1]
        args = lambda: [random_text(rng)]  # noqa: E731
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
        args = lambda: [random_text(rng), random_text(rng)]  # noqa: E731
    elif op == "repeat":
        method = rng.choice(["repeat", "times", "duplicate"])
        body = f"return {s}.repeat(count);"
        params, fn = f"String {s}, int count", lambda x, k: x * k
        args = lambda: [rng.choice(WORDS[:10] + ["ab", "-", "xy", "*"]), rng.randint(0, 4)]  # noqa: E731
    elif op == "trim":
        method = rng.choice(["trim", "strip", "clean"])
        body = f"return {s}.trim();"
        params, fn = f"String {s}", java_trim
        pads = ["", " ", "  ", "\t", " \n", "   "]
        args = lambda: [rng.choice(pads) + random_text(rng) + rng.choice(pads)]  # noqa: E731
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
        args = lambda: [random_text(rng), random_text(rng), rng.choice([", ", "-", "/", " | ", ""])]  # noqa: E731
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
    extras = pick_n_checks(rng) - 1
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
    return t.case(focal, pick_test_name(rng, method))


def shape_string_measure(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    op = rng.choice(["length", "countChar", "indexOf", "vowels", "wordCount"])
    recv, static = t.receiver(pick_class_name(rng, TEXT))
    mods = modifiers(rng, static)
    s = rng.choice(["s", "text", "input", "str"])
    if op == "length":
        method = rng.choice(["length", "lengthOf", "size"])
        focal = java_template("""
            ${mods}int $method(String $s) {
                return $s == null ? 0 : $s.length();
            }
        """, mods=mods, method=method, s=s)
        sample = lambda: (jstr(x := rng.choice([random_text(rng), None, ""])), 0 if x is None else len(x))  # noqa: E731
    elif op in ("countChar", "indexOf"):
        method = rng.choice(["countChar", "occurrences"] if op == "countChar" else ["indexOf", "positionOf"])
        if op == "countChar":
            focal = java_template("""
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
            focal = java_template("""
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
        focal = java_template("""
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
        sample = lambda: (jstr(x := random_text(rng)), sum(c in "aeiouAEIOU" for c in x))  # noqa: E731
    else:
        method = rng.choice(["wordCount", "countWords"])
        focal = java_template("""
            ${mods}int $method(String $s) {
                String trimmed = $s.trim();
                return trimmed.isEmpty() ? 0 : trimmed.split("\\\\s+").length;
            }
        """, mods=mods, method=method, s=s)

        def sample() -> tuple[str, int]:
            words = rng.sample(WORDS, rng.randint(0, 5))
            x = rng.choice([" ", "  "]).join(words)
            return jstr(rng.choice(["", " "]) + x), len(words)
    calls = [(f"{recv}.{method}({a})", e) for a, e in (sample() for _ in range(pick_n_checks(rng)))]
    t.checks("int", calls, lambda e, act: t.eq(str(e), act))
    return t.case(focal, pick_test_name(rng, method))


# --------------------------------------------------------------------------- predicates


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1))


_PRIMES = [n for n in range(2, 200) if _is_prime(n)]


def shape_int_predicate(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    op = rng.choice(["even", "odd", "positive", "negative", "prime", "divisible", "inRange", "leap"])
    recv, static = t.receiver(pick_class_name(rng, CHECK))
    mods = modifiers(rng, static)
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
        focal = java_template("""
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
        focal = java_template("""
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
        focal = java_template("""
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
        focal = java_template("""
            ${mods}boolean isLeapYear(int year) {
                return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            }
        """, mods=mods)
        sample = lambda: (str(y := rng.choice([1900, 2000, 2024, 2023, 1996, 2100, rng.randint(1800, 2200)])),  # noqa: E731
                          (y % 4 == 0 and y % 100 != 0) or y % 400 == 0)
    calls = [(f"{recv}.{method}({a})", e) for a, e in (sample() for _ in range(pick_n_checks(rng)))]
    t.checks("boolean", calls, lambda e, act: t.truth(e, act))
    scenario = ("ReturnsTrue" if calls[0][1] else "ReturnsFalse") if len(calls) == 1 else ""
    return t.case(focal, pick_test_name(rng, method, (scenario,) if scenario else ()))


def shape_string_predicate(rng: random.Random) -> Case:
    t = TestBuilder(rng)
    op = rng.choice(["palindrome", "nullOrEmpty", "blank", "startsWith", "hasDigit", "equalsIgnoreCase"])
    recv, static = t.receiver(pick_class_name(rng, CHECK))
    mods = modifiers(rng, static)
    s = rng.choice(["s", "text", "input", "str", "word"])
    if op == "palindrome":
        method = "isPalindrome"
        focal = java_template("""
            ${mods}boolean isPalindrome(String $s) {
                return new StringBuilder($s).reverse().toString().equals($s);
            }
        """, mods=mods, s=s)
        sample = lambda: (jstr(x := rng.choice([rng.choice(PALINDROMES), random_text(rng)])), x == x[::-1])  # noqa: E731
    elif op in ("nullOrEmpty", "blank"):
        method = "isNullOrEmpty" if op == "nullOrEmpty" else rng.choice(["isBlank", "isNullOrBlank"])
        cond = f"{s}.isEmpty()" if op == "nullOrEmpty" else f"{s}.trim().isEmpty()"
        focal = f"{mods}boolean {method}(String {s}) {{\n{INDENT}return {s} == null || {cond};\n}}"

        def sample() -> tuple[str, bool]:
            x = rng.choice([None, "", " ", "  \t", rng.choice(WORDS), f" {rng.choice(WORDS)} "])
            if x is None:
                return "null", True
            return jstr(x), (x == "" if op == "nullOrEmpty" else java_trim(x) == "")
    elif op == "startsWith":
        method = rng.choice(["startsWith", "hasPrefix"])
        focal = java_template("""
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
        focal = java_template("""
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
        focal = java_template("""
            ${mods}boolean $method(String $a, String $b) {
                return $a != null && $a.equalsIgnoreCase($b);
            }
        """, mods=mods, method=method, a=a, b=b)

        def sample() -> tuple[str, bool]:
            x = rng.choice(WORDS)
            y = rng.choice([x.upper(), cap_first(x), x, rng.choice(WORDS)])
            return f"{jstr(x)}, {jstr(y)}", x.lower() == y.lower()
    calls = [(f"{recv}.{method}({a})", e) for a, e in (sample() for _ in range(pick_n_checks(rng)))]
    t.checks("boolean", calls, lambda e, act: t.truth(e, act))
    return t.case(focal, pick_test_name(rng, method))
