"""The word pools the generator draws from (identifiers, names, cities, class-name parts) and the
small random choices every shape shares: class names, modifiers, test names, how many checks.
"""
from __future__ import annotations

import random


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


def pick_class_name(rng: random.Random, pools: tuple[list[str], list[str]]) -> str:
    stems, suffixes = pools
    return rng.choice(stems) + rng.choice(suffixes)


def cap_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def random_text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.70:
        word = rng.choice(WORDS)
        return cap_first(word) if rng.random() < 0.2 else word
    if r < 0.82:
        return f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
    if r < 0.92:
        return rng.choice(TRICKY_STRINGS)
    return rng.choice(NON_ASCII_WORDS)


def pick_n_checks(rng: random.Random) -> int:
    return rng.choices([1, 2, 3], weights=[55, 33, 12])[0]


def modifiers(rng: random.Random, static: bool = False) -> str:
    # Package-private methods are common in real code; keep a few.
    vis = "public " if rng.random() < 0.9 else ""
    return vis + ("static " if static else "")


def pick_test_name(rng: random.Random, method: str, scenarios: tuple[str, ...] = ()) -> str:
    pool = ("", "", "ReturnsExpectedValue", "WithValidInput", "Works") + scenarios
    return "test" + cap_first(method) + rng.choice(pool)
