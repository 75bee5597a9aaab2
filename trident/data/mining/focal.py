"""Test method → focal class → focal method, methods2test-style, within one repository.

Focal class: the test class's top-level name without its `Test`/`Tests` suffix or `Test` prefix
(`FooTest`, `FooTests`, `TestFoo` → `Foo`), looked up among the repository's classes that are
not tests: in the test's own package first, then the one the test file imports (by name or by a
wildcard import of its package), then the only class of that name anywhere.

Focal method, the first rule that gives one name:
1. a method named like the test without its `test`/`should` prefix (`testAdd`, `shouldAdd` → `add`);
2. the only method of the focal class the test calls;
3. the last call before the first assertion whose receiver is of the focal class's type.
Overloads of that name are told apart by the argument counts of the test's calls to it.
Constructors are never focal methods.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from trident.data.mining.javafile import ClassDecl, JavaFile, MethodDecl, TestMethod

_PREFIX = re.compile(r"^(?:test|should)_*", re.IGNORECASE)


@dataclass(frozen=True)
class FocalClass:
    decl: ClassDecl
    file: JavaFile


@dataclass(frozen=True)
class Linked:
    """A focal method found for a test, or why there is none (`reason`)."""

    focal: FocalClass | None = None
    method: MethodDecl | None = None
    reason: str | None = None


def focal_class_names(test_class: str) -> list[str]:
    names = []
    for suffix in ("Tests", "Test"):
        if test_class.endswith(suffix) and len(test_class) > len(suffix):
            names.append(test_class[: -len(suffix)])
    if test_class.startswith("Test") and test_class[4:5].isupper():
        names.append(test_class[4:])
    return names


class ClassIndex:
    """The repository's non-test classes by simple name."""

    def __init__(self, files: list[JavaFile], is_test_file) -> None:
        self.by_name: dict[str, list[FocalClass]] = {}
        for f in files:
            if f.error or is_test_file(f):
                continue
            for c in f.classes:
                self.by_name.setdefault(c.name, []).append(FocalClass(c, f))

    def find(self, test_file: JavaFile, test_class: str) -> tuple[FocalClass | None, str | None]:
        names = focal_class_names(test_class)
        if not names:
            return None, "test_class_not_named_for_a_class"
        ambiguous = False
        for name in names:
            found = self.by_name.get(name, [])
            if not found:
                continue
            same_package = [c for c in found if c.file.package == test_file.package]
            if len(same_package) == 1:
                return same_package[0], None
            imported = [c for c in found if f"{c.file.package}.{name}" in test_file.imports
                        or f"{c.file.package}.*" in test_file.imports]
            if len(imported) == 1:
                return imported[0], None
            if len(found) == 1:
                return found[0], None
            ambiguous = True
        return None, "focal_class_ambiguous" if ambiguous else "no_focal_class"


def _by_arg_count(candidates: list[MethodDecl], test: TestMethod) -> list[MethodDecl]:
    """Overloads narrowed to those some call of the test could be (by argument count)."""
    if len(candidates) <= 1:
        return candidates
    counts = {c.args for c in test.calls if c.name == candidates[0].name}
    fitting = [m for m in candidates if any(m.accepts(n) for n in counts)]
    return fitting


def focal_method(test: TestMethod, focal: FocalClass) -> Linked:
    methods = [m for m in focal.decl.methods if not m.constructor]
    by_name: dict[str, list[MethodDecl]] = {}
    for m in methods:
        by_name.setdefault(m.name, []).append(m)

    def pick(name: str) -> Linked:
        fitting = _by_arg_count(by_name[name], test)
        if len(fitting) == 1:
            return Linked(focal, fitting[0])
        return Linked(focal, reason="focal_method_overload_ambiguous")

    stripped = _PREFIX.sub("", test.name)
    if stripped and stripped != test.name:
        name = stripped[0].lower() + stripped[1:]
        if name in by_name:
            return pick(name)
    called = {c.name for c in test.calls if c.name in by_name}
    if len(called) == 1:
        return pick(called.pop())
    before = [c for c in test.calls if c.before_first_assertion and c.receiver_type == focal.decl.name and c.name in by_name]
    if before:
        return pick(before[-1].name)
    return Linked(focal, reason="no_focal_method")


def format_class_context(name: str, superclass: str | None, fields, constructors, methods) -> str:
    """methods2test's FM_FC_MS context, one item per line: the class name (and superclass), its
    fields, its constructors' signatures, its public methods' signatures."""
    head = f"class {name}" + (f" extends {superclass}" if superclass else "") + " {"
    body = [*fields, *(f"{s};" for s in constructors), *(f"{s};" for s in methods)]
    return "\n".join([head, *(f"    {line}" for line in body), "}"])


def class_signatures(focal: FocalClass) -> str:
    """The context of a mined focal class (see format_class_context)."""
    decl = focal.decl
    return format_class_context(decl.name, decl.superclass, decl.fields,
                                [m.signature for m in decl.methods if m.constructor],
                                [m.signature for m in decl.methods if not m.constructor and m.public])
