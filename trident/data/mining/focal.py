"""Test method → focal class → focal method, methods2test-style, within one repository.

Focal class: the test class's top-level name without its `Test`/`Tests` suffix or `Test` prefix
(`FooTest`, `FooTests`, `TestFoo` → `Foo`; a suite split by topic, `TestFoo_Parsing`, falls back
to the part before the `_`), looked up among the repository's classes that are
not tests: in the test's own package first, then the one the test file imports (by name or by a
wildcard import of its package), then the only class of that name anywhere.

Focal method, the first rule that gives one name:
1. a method named like the test without its `test`/`should` prefix (`testAdd`, `shouldAdd` → `add`);
2. the only method of the focal class the test calls;
3. the last call before the first assertion whose receiver is of the focal class's type.
Overloads of that name are told apart by the test's calls to it: argument counts, then the
argument types the test shows (literals, `new Foo()`, casts, declared variables).
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
    # Suites split by topic, `TestDateTime_Basics` / `DateTime_ParseTest`: the class before the `_`.
    names += [n.split("_")[0] for n in names if "_" in n and n.split("_")[0]]
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


_PRIMITIVES = frozenset({"int", "long", "double", "float", "boolean", "char", "byte", "short"})
_BOXED = {"int": "Integer", "long": "Long", "double": "Double", "float": "Float", "boolean": "Boolean",
          "char": "Character", "byte": "Byte", "short": "Short"}
_WIDENS_TO = {"byte": {"short", "int", "long", "float", "double"}, "short": {"int", "long", "float", "double"},
              "char": {"int", "long", "float", "double"}, "int": {"long", "float", "double"},
              "long": {"float", "double"}, "float": {"double"}}
# Supertypes of the final JDK types a literal can have; any other class's hierarchy is unknown here.
_KNOWN_SUPERTYPES = {
    "String": {"Object", "CharSequence", "Comparable", "Serializable", "Constable", "ConstantDesc"},
    "Class": {"Object", "Type", "GenericDeclaration", "AnnotatedElement", "Serializable"},
    **{boxed: {"Object", "Comparable", "Serializable", "Number"} for boxed in _BOXED.values()},
}


def _exact(arg: str | None, param: str | None) -> bool:
    return arg is not None and (arg == param or _BOXED.get(arg) == param or _BOXED.get(param or "") == arg)


def _compatible(arg: str | None, param: str | None) -> bool:
    """False only when the argument certainly cannot be passed as the parameter."""
    if arg is None or param is None or _exact(arg, param):
        return True
    if len(param) == 1 and param.isupper():  # a type variable
        return True
    if arg == "null":
        return param not in _PRIMITIVES
    if arg in _PRIMITIVES:
        return param in _WIDENS_TO.get(arg, ()) or param in ("Object", "Number", "Comparable", "Serializable")
    if param in _PRIMITIVES:
        return _BOXED.get(param) == arg or any(_BOXED.get(p) == arg for p in _PRIMITIVES if param in _WIDENS_TO.get(p, ()))
    if arg in _KNOWN_SUPERTYPES:
        return param in _KNOWN_SUPERTYPES[arg]
    if param in _KNOWN_SUPERTYPES:  # String, Class and the boxed types are final: no other class is one
        return False
    return True


def _overload(candidates: list[MethodDecl], test: TestMethod, focal_name: str) -> list[MethodDecl]:
    """The overloads some call of the test can be: argument count first, then the argument types
    the test shows (a literal, `new Foo()`, a declared variable); when several remain, those whose
    parameter types the arguments match exactly at the most positions."""
    if len(candidates) <= 1:
        return candidates
    name = candidates[0].name
    calls = [c for c in test.calls if c.name == name and c.receiver_type in (None, focal_name)] \
        or [c for c in test.calls if c.name == name]

    def fits(m: MethodDecl, c) -> bool:
        return m.accepts(c.args) and all(_compatible(t, m.param_type(i)) for i, t in enumerate(c.arg_types))

    fitting = [m for m in candidates if any(fits(m, c) for c in calls)]
    if any(not m.varargs for m in fitting):  # Java tries fixed-arity methods before varargs ones
        fitting = [m for m in fitting if not m.varargs]
    if len(fitting) <= 1:
        return fitting

    def score(m: MethodDecl) -> int:
        return max(sum(_exact(t, m.param_type(i)) for i, t in enumerate(c.arg_types)) for c in calls if fits(m, c))

    best = max(score(m) for m in fitting)
    return [m for m in fitting if score(m) == best]


def focal_method(test: TestMethod, focal: FocalClass) -> Linked:
    methods = [m for m in focal.decl.methods if not m.constructor]
    by_name: dict[str, list[MethodDecl]] = {}
    for m in methods:
        by_name.setdefault(m.name, []).append(m)

    def pick(name: str) -> Linked:
        fitting = _overload(by_name[name], test, focal.decl.name)
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
