"""`Case` (one focal method and its masked test) and `TestBuilder`, which writes the test's
arrange/act lines and records each assertion with the placeholder that replaces it.
"""
from __future__ import annotations

import random
from typing import Callable, NamedTuple

from trident.data.synth.literals import INT_MAX, INT_MIN, PLACEHOLDER, jdouble, jint_array, jlist
from trident.data.synth.vocabulary import INSTANCE_VARS, RESULT_VARS


class Case(NamedTuple):
    focal_method: str
    body: list[str]  # test statements, PLACEHOLDER where each assertion stood
    assertions: list[str]  # aligned with the PLACEHOLDER lines of `body`
    test_name: str
    # What running the test needs besides the focal method (never drawn from the rng, so the
    # corpus' text does not depend on it): the focal class's name, its other members (fields,
    # the accessor the test also calls, ...) and package-private top-level classes it uses.
    class_name: str = ""
    members: tuple[str, ...] = ()
    support: tuple[str, ...] = ()


# --------------------------------------------------------------------------- test builder


class TestBuilder:
    """Accumulates a test body; assertion helpers keep placeholders and assertions aligned."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.body: list[str] = []
        self.assertions: list[str] = []
        self.class_name = ""
        self.members: list[str] = []
        self.support: list[str] = []

    def setup(self, *statements: str) -> None:
        self.body.extend(statements)

    def receiver(self, cls: str, static_ok: bool = True) -> tuple[str, bool]:
        """Expression to call the focal method on; instance tests first construct the class."""
        self.class_name = cls
        if static_ok and self.rng.random() < 0.3:
            return cls, True
        var = cls[0].lower() + cls[1:] if self.rng.random() < 0.6 else self.rng.choice(INSTANCE_VARS)
        self.setup(f"{cls} {var} = new {cls}();")
        return var, False

    def context(self, class_name: str | None = None, members: tuple[str, ...] = (), support: tuple[str, ...] = ()) -> None:
        """What the focal class needs to run the test (see Case); draws nothing from the rng."""
        if class_name:
            self.class_name = class_name
        self.members.extend(members)
        self.support.extend(support)

    def case(self, focal: str, test_name: str) -> Case:
        return Case(focal, self.body, self.assertions, test_name, self.class_name, tuple(self.members),
                    tuple(self.support))

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


def int_literal(v: int, typ: str, rng: random.Random | None = None) -> str:
    """Java literal of an integer result; longs outside int range need the L suffix."""
    if typ == "long" and (v < INT_MIN or v > INT_MAX or (rng is not None and rng.random() < 0.3)):
        return f"{v}L"
    return str(v)
