"""Java sources for running a record's test: the focal class and the test class around the masked
test method, with a list of assertions put where the placeholders are.

An executable record carries `executable`: {"class_name": the focal class, "members": [the Java
members it needs besides the focal method: fields, constructors, helper methods], "support":
[package-private top-level classes it uses]}. The focal class is those members and the focal
method. The test class holds the test method with the static imports of JUnit 5, AssertJ and
Hamcrest, and imports tridentexec.Assert (JUnit 4's Assert) and tridentexec.Assertions (JUnit 5's
plus AssertJ's entry points), so the unqualified and the `Assert.`/`Assertions.`-qualified forms of
all of them compile. Each example gets its own package, so a whole batch compiles side by side.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

from trident.data.records import PLACEHOLDER, Record

FOCAL_IMPORTS = ("java.util.*", "java.util.function.*", "java.util.regex.*", "java.util.stream.*", "java.time.*",
                 "java.time.format.*")
TEST_IMPORTS = (*FOCAL_IMPORTS, "org.junit.jupiter.api.Test", "tridentexec.Assert", "tridentexec.Assertions")
# All three libraries' statics on demand: AssertJ's assertThat(x) and Hamcrest's assertThat(x, m)
# differ in arity. `fail`, the one name JUnit and AssertJ share with the same signatures, is
# imported by name from JUnit, which hides AssertJ's.
TEST_STATIC_IMPORTS = ("org.junit.jupiter.api.Assertions.*", "org.assertj.core.api.Assertions.*",
                       "org.hamcrest.Matchers.*", "org.hamcrest.MatcherAssert.*",
                       "org.junit.jupiter.api.Assertions.fail")


@dataclass(frozen=True)
class Executable:
    class_name: str
    members: tuple[str, ...] = ()  # fields, constructors, other methods of the focal class
    support: tuple[str, ...] = ()  # package-private top-level classes the focal class uses

    @staticmethod
    def of(record: Record) -> "Executable | None":
        spec = record.extra.get("executable")
        if not isinstance(spec, dict) or not spec.get("class_name") or not isinstance(spec["class_name"], str):
            return None
        return Executable(spec["class_name"], tuple(spec.get("members") or ()), tuple(spec.get("support") or ()))


def _indent(text: str) -> str:
    return textwrap.indent(text.strip("\n"), "    ")


def focal_class(package: str, exe: Executable, focal_method: str) -> tuple[str, int]:
    """The focal class's source, and the line the focal method starts on (it comes last)."""
    imports = "".join(f"import {i};\n" for i in FOCAL_IMPORTS)
    members = "".join(_indent(m) + "\n\n" for m in exe.members)
    head = f"package {package};\n\n{imports}\npublic class {exe.class_name} {{\n\n{members}"
    support = "".join(f"\n{c.strip()}\n" for c in exe.support)
    return f"{head}{_indent(focal_method)}\n}}\n{support}", head.count("\n") + 1


def predicted_lines(prediction: str) -> list[str]:
    """The statements of a prediction: its non-empty lines."""
    return [line.strip() for line in prediction.split("\n") if line.strip()]


def fill(test_method_masked: str, assertions: list[str]) -> str:
    """The test with the i-th assertion at the i-th placeholder. A placeholder with no assertion
    left becomes an empty statement; assertions beyond the last placeholder follow it."""
    parts = test_method_masked.split(PLACEHOLDER)
    if len(parts) == 1:
        return test_method_masked
    holes = len(parts) - 1
    fills = list(assertions[:holes]) + [";"] * max(0, holes - len(assertions))
    if len(assertions) > holes:
        fills[-1] = "\n".join([fills[-1], *assertions[holes:]])
    out = [parts[0]]
    for text, rest in zip(fills, parts[1:]):
        out += [text, rest]
    return "".join(out)


def test_class(package: str, name: str, *test_methods: str) -> str:
    imports = "".join(f"import {i};\n" for i in TEST_IMPORTS)
    imports += "".join(f"import static {i};\n" for i in TEST_STATIC_IMPORTS)
    body = "\n\n".join(_indent(m) for m in test_methods)
    return f"package {package};\n\n{imports}\npublic class {name} {{\n\n{body}\n}}\n"
