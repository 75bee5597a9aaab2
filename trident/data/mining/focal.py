"""Test method → focal class → focal method, methods2test-style, within one repository.

Focal class: the test class's top-level name without its `Test`/`Tests`/`TestCase`/`IT` suffix or
`Test` prefix (`FooTest`, `FooTests`, `FooTestCase`, `FooIT`, `TestFoo` → `Foo`; a suite split by
topic, `TestFoo_Parsing`, falls back to the part before the `_`), looked up among the repository's
classes, interfaces included, that are not tests: in the test's own package first, then the one the
test file imports (by name or by a wildcard import of its package), then the only class of that
name anywhere; at each step, several candidates are told apart by module (a test under
`X/src/test/java` takes the class under `X/src/main/java`).

Focal method: a method of the focal class the test calls (on a receiver of the focal class's type,
read through chains such as `Foo.of(1).plus(2)`, or on no receiver), not private, and with a body;
an inherited one is named by the repository class that declares it (a name the focal class or a
nearer supertype declares hides the farther ones); for an abstract or interface method, its only
implementation among the focal class's subtypes. Or a constructor of the focal class (`new Foo(…)`,
not an anonymous subclass), recorded with `focal_method_name` `<init>`.
Factories and builders (static methods, or ones named `builder`, `newBuilder`, `getInstance`,
`create…`, `of`, `valueOf`, `newInstance`…, returning the focal class or a builder) are setup:
rules 2-6 pass over them when the test calls any other focal-class method. Setters (`setX(v)`) are
setup too when the test calls a focal-class method other than setters and accessors. The first
rule that gives a name wins, and the record says which (`focal_rule`):
1. `test_name`: the test's name without its `test`/`should` prefix, whole or up to its first `_`
   (`testAdd`, `testAdd_overflow` → `add`); a name starting `Constructor`/`Ctor`
   (`testConstructor_int`) names the constructor when the test calls one;
2. `effect_before_assertion`: the last call before the first assertion that is a statement of its
   own, its result dropped (called for its effect, which the assertions observe), accessors aside;
3. `assertion`: the outermost call, not an accessor such as `getX()`, `isX()`, `size()`, inside the
   first assertion that calls one; else a constructor inside it (`assertThrows(…, () -> new Foo(x))`);
   when that assertion calls only accessors, they read a result, and the focal method is what made it:
4. `result_before_assertion`: the last non-accessor call before the first assertion whose result
   the test keeps (`Foo moved = foo.shift(2); assertEquals(3, moved.getStart())`);
5. `constructor`: else the last constructor before the first assertion, when the test calls no
   other method on a Foo (nor one Foo declares, on another receiver) but accessors; else, when a
   builder made the object, no record (`built_by_builder`); else the accessor (rule `assertion`);
6. `only_call`: the only method the test calls; no record (`result_used_by_another_class`) when its
   result each time only feeds another class's method (`pool.getConnection().close()`);
7. `last_before_assertion`: the last call before the first assertion (the last of a chain);
8. `factory`: rules 2-7 over the factories and builders, when the test calls nothing else.
Overloads of that name are told apart by the test's calls to it: argument counts, then the
argument types the test shows (literals, `new Foo()`, casts, declared variables).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from trident.data.mining.javafile import CONSTRUCTOR, Call, ClassDecl, JavaFile, MethodDecl, TestMethod

_PREFIX = re.compile(r"^(?:test|should)_*", re.IGNORECASE)
FOCAL_RULES = ("test_name", "effect_before_assertion", "assertion", "result_before_assertion", "constructor",
               "only_call", "last_before_assertion", "factory")
_CONSTRUCTOR_NAME = re.compile(r"^(?:constructor|ctor)", re.IGNORECASE)
_FACTORY_NAMES = frozenset({"builder", "newBuilder", "getInstance", "newInstance", "instance", "of", "valueOf", "from"})
_ACCESSOR = re.compile(r"^(?:get|is|has)[A-Z0-9_]")
_SETTER = re.compile(r"^set[A-Z0-9_]")
_ACCESSOR_NAMES = frozenset({"toString", "hashCode", "size", "length", "isEmpty"})


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
    rule: str | None = None  # which of FOCAL_RULES chose the method


def focal_class_names(test_class: str) -> list[str]:
    names = []
    for suffix in ("TestCase", "Tests", "Test", "IT"):
        if test_class.endswith(suffix) and len(test_class) > len(suffix):
            names.append(test_class[: -len(suffix)])
    if test_class.startswith("Test") and test_class[4:5].isupper():
        names.append(test_class[4:])
    # Suites split by topic, `TestDateTime_Basics` / `DateTime_ParseTest`: the class before the `_`.
    names += [n.split("_")[0] for n in names if "_" in n and n.split("_")[0]]
    return names


_SOURCE_ROOTS = frozenset({"src", "test", "tests", "main"})


def module(path: str) -> str:
    """The module a source file belongs to: the folders above its `src` (or plain `test/`)
    folder, so `x/src/test/java/…` and `x/src/main/java/…` (and `x/test/…`, `x/src/…`) are both `x`."""
    parts = path.split("/")[:-1]
    cut = next((i for i, p in enumerate(parts) if p in _SOURCE_ROOTS), len(parts))
    return "/".join(parts[:cut])


class ClassIndex:
    """The repository's non-test classes by simple name."""

    def __init__(self, files: list[JavaFile], is_test_file) -> None:
        self.by_name: dict[str, list[FocalClass]] = {}
        self.subtypes: dict[str, list[FocalClass]] = {}  # simple name → classes extending or implementing it
        for f in files:
            if f.error or is_test_file(f):
                continue
            for c in f.classes:
                self.by_name.setdefault(c.name, []).append(FocalClass(c, f))
                for parent in {c.superclass, *c.interfaces} - {None, c.name}:
                    self.subtypes.setdefault(parent, []).append(FocalClass(c, f))

    def implementation(self, focal: FocalClass, method: MethodDecl) -> tuple[FocalClass, MethodDecl] | None:
        """The only method with a body overriding `method` (abstract) among the focal class's
        subtypes in the repository, searched through the whole hierarchy below it; None when
        there is none or several."""
        found, seen, todo, scanned = [], {focal.decl.name}, [focal.decl.name], set()
        while todo:
            for sub in self.subtypes.get(todo.pop(), []):
                key = (sub.file.path, sub.decl.name, sub.decl.top_level)
                if key in scanned:  # reached through two parents (implements A, extends B implementing A)
                    continue
                scanned.add(key)
                for m in sub.decl.methods:
                    if (m.name == method.name and m.body and not m.private and not m.constructor
                            and m.params == method.params and all(
                                a == b or a is None or b is None for a, b in zip(m.param_types, method.param_types))):
                        found.append((sub, m))
                if sub.decl.name not in seen:
                    seen.add(sub.decl.name)
                    todo.append(sub.decl.name)
        return found[0] if len(found) == 1 else None

    def supertypes(self, focal: FocalClass) -> list[FocalClass]:
        """The repository's classes and interfaces above `focal`, nearest first (breadth first); a
        parent's simple name names one class, or one in the child's package or imported by its file,
        or it is left out (a JDK or library class is not in the index)."""
        out, seen, todo = [], {(focal.file.path, focal.decl.name)}, [focal]
        while todo:
            child = todo.pop(0)
            for parent in (child.decl.superclass, *child.decl.interfaces):
                found = self.by_name.get(parent or "", [])
                if len(found) > 1:
                    found = [c for c in found if c.file.package == child.file.package] or \
                            [c for c in found if f"{c.file.package}.{parent}" in child.file.imports]
                if len(found) == 1 and (found[0].file.path, found[0].decl.name) not in seen:
                    seen.add((found[0].file.path, found[0].decl.name))
                    out.append(found[0])
                    todo.append(found[0])
        return out

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
            imported = [c for c in found if f"{c.file.package}.{name}" in test_file.imports
                        or f"{c.file.package}.*" in test_file.imports]
            for step in (same_package, imported, found):
                if len(step) > 1:  # the same class in sibling modules: the test's own module decides
                    step = [c for c in step if module(c.file.path) == module(test_file.path)]
                if len(step) == 1:
                    return step[0], None
                if step:
                    break
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


def _overload(candidates: list[MethodDecl], test: TestMethod, focal_name: str,
              only: list[Call] | None = None) -> list[MethodDecl]:
    """The overloads some call of the test can be: argument count first, then the argument types
    the test shows (a literal, `new Foo()`, a declared variable); when several remain, those whose
    parameter types the arguments match exactly at the most positions. `only`: the calls to read
    (a constructor's: the one `new` the rule chose), instead of the test's calls of that name."""
    if len(candidates) <= 1:
        return candidates
    name = candidates[0].name
    calls = only or [c for c in test.calls if c.name == name and c.receiver_type in (None, focal_name)] \
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


def _is_accessor(call: Call) -> bool:
    return call.args == 0 and (bool(_ACCESSOR.match(call.name)) or call.name in _ACCESSOR_NAMES)


def _is_setter(call: Call) -> bool:
    return call.args == 1 and bool(_SETTER.match(call.name))


def focal_method(test: TestMethod, focal: FocalClass, index: ClassIndex | None = None) -> Linked:
    """The focal method of `test` in `focal` (see the module's rules); `index` finds the
    implementation of an abstract method among the focal class's subtypes."""
    name_ = focal.decl.name
    by_name: dict[str, list[MethodDecl]] = {}
    for m in focal.decl.methods:
        if not m.constructor and not m.private:
            by_name.setdefault(m.name, []).append(m)
    # Inherited methods, by the class that declares them (`AbstractPartial.getField` for a
    # TimeOfDay): a name the focal class (or a nearer supertype) declares hides the farther ones.
    owners: dict[int, FocalClass] = {}
    for sup in (index.supertypes(focal) if index is not None else []):
        inherited: dict[str, list[MethodDecl]] = {}
        for m in sup.decl.methods:
            if not m.constructor and not m.private and m.name not in by_name:
                inherited.setdefault(m.name, []).append(m)
                owners[id(m)] = sup
        by_name.update(inherited)
    # Return types of the focal file's classes (the focal class and, say, its nested Builder), to
    # follow a chain: `Foo.builder().name("x").build().render()` calls render on a Foo.
    returns: dict[tuple[str, str], set] = {}
    for c in focal.file.classes:
        for m in c.methods:
            if not m.constructor:
                returns.setdefault((c.name, m.name), set()).add(m.returns)
    memo: dict[int, str | None] = {}

    def receiver(i: int) -> str | None:
        if i in memo:
            return memo[i]
        call = test.calls[i]
        memo[i] = call.receiver_type
        if call.receiver_type is None and call.receiver_call is not None:
            inner = test.calls[call.receiver_call]
            owner = receiver(call.receiver_call) or (name_ if inner.name in by_name and inner.receiver_type is None
                                                     and inner.receiver_call is None else None)
            kinds = returns.get((owner, inner.name), set()) if owner else set()
            memo[i] = next(iter(kinds)) if len(kinds) == 1 else None
        return memo[i]

    def on_focal(i: int) -> bool:
        call = test.calls[i]
        if call.name not in by_name or not any(m.accepts(call.args) for m in by_name[call.name]):
            return False
        if call.unqualified and call.name in test.own_methods:  # the test class's own helper, `toString(taco)`
            return False
        got = receiver(i)
        # No receiver (`reverse(x)`, statically imported) or one whose type the test does not show: it may be ours.
        return got is None or got == name_

    def setup(call_name: str) -> bool:
        """A factory or builder: static or named like one, returning the focal class or a builder."""
        return all((m.static or m.name in _FACTORY_NAMES or m.name.startswith("create"))
                   and (m.returns == name_ or (m.returns or "").endswith("Builder")) for m in by_name[call_name])

    usable_names: dict[str, bool] = {}

    def usable(call_name: str) -> bool:
        if call_name not in usable_names:
            usable_names[call_name] = any(m.body or (index is not None and index.implementation(focal, m) is not None)
                                          for m in by_name[call_name])
        return usable_names[call_name]

    calls = [i for i in range(len(test.calls)) if on_focal(i) and usable(test.calls[i].name)]
    real = [i for i in calls if not setup(test.calls[i].name)]
    # A factory is the focal method only when nothing else is called; a builder never is: the
    # test checks what is built, by methods of the builder or the built object.
    builders = [i for i in calls if all((m.returns or "").endswith("Builder") for m in by_name[test.calls[i].name])]
    pool = real or calls

    def rule(name: str) -> str:
        return name if real else "factory"

    def pick(method_name: str, rule: str) -> Linked:
        fitting = _overload(by_name[method_name], test, name_)
        if len(fitting) != 1:
            return Linked(focal, reason="focal_method_overload_ambiguous", rule=rule)
        m = fitting[0]
        if m.body:
            return Linked(owners.get(id(m), focal), m, rule=rule)
        impl = index.implementation(focal, m) if index is not None else None
        if impl is None:
            return Linked(focal, reason="focal_method_abstract", rule=rule)
        return Linked(impl[0], impl[1], rule=rule)

    # Constructors: `new Foo(…)` of the focal class itself, when Foo declares a constructor to show.
    ctors = [m for m in focal.decl.methods if m.constructor and not m.private]
    made = [i for i, c in enumerate(test.calls) if ctors and c.name == CONSTRUCTOR and c.receiver_type == name_]

    def pick_constructor(i: int, rule: str) -> Linked:
        call = test.calls[i]
        fitting = [m for m in _overload(ctors, test, name_, only=[call]) if m.accepts(call.args)]
        if len(fitting) != 1:
            return Linked(focal, reason="focal_method_overload_ambiguous", rule=rule)
        return Linked(focal, fitting[0], rule=rule)

    def consumed(i: int) -> bool:
        """The call's result is only the receiver of a call that is not the focal class's."""
        users = [j for j, c in enumerate(test.calls) if c.receiver_call == i]
        return bool(users) and not any(on_focal(j) for j in users)

    def outermost(found: list[int]) -> int:
        return max(found, key=lambda i: test.calls[i].end)

    made_before = [i for i in made if test.calls[i].before_first_assertion and not test.calls[i].in_assertion]
    # A method call on a Foo that the rules cannot take (inherited, private) or that Foo declares
    # but is made on a receiver typed as a supertype: the test exercises that method, so the
    # constructor is not its focal method.
    exercised = any(c.name != CONSTRUCTOR and not _is_accessor(c) and (receiver(i) == name_ or c.name in by_name)
                    for i, c in enumerate(test.calls))
    stripped = _PREFIX.sub("", test.name)
    if stripped and stripped != test.name:
        # `testPlusMonths_int_overflow` → plusMonths: the part before a `_` names the method too.
        for part in dict.fromkeys([stripped, stripped.split("_")[0]]):
            wanted = part[:1].lower() + part[1:]
            if wanted and any(test.calls[i].name == wanted for i in calls):
                return pick(wanted, "test_name")
        # `testConstructor_int_int`, `constructorRejectsNull`: the test names the constructor.
        if made and _CONSTRUCTOR_NAME.match(stripped):
            return pick_constructor(made_before[-1] if made_before else made[0], "test_name")
    before = [i for i in pool if test.calls[i].before_first_assertion and not test.calls[i].in_assertion]
    # Setters (`setMaxTotal(1)`) configure the object under test: they are its focal method only
    # when the test calls no other method of the focal class but accessors.
    configures = any(not _is_accessor(test.calls[i]) and not _is_setter(test.calls[i]) for i in pool)
    if configures:
        before = [i for i in before if not _is_setter(test.calls[i])]
    effect = [i for i in before if test.calls[i].statement and not _is_accessor(test.calls[i])]
    if effect:
        return pick(test.calls[outermost(effect)].name, rule("effect_before_assertion"))
    inside = [i for i in pool if test.calls[i].in_assertion]
    made_inside = [i for i in made if test.calls[i].in_assertion]
    if inside or made_inside:
        first_assertion = min(test.calls[j].assertion for j in inside + made_inside)
        first = [i for i in inside if test.calls[i].assertion == first_assertion]
        checked = [i for i in first if not _is_accessor(test.calls[i])]
        if checked:
            return pick(test.calls[outermost(checked)].name, rule("assertion"))
        # `assertThrows(…, () -> new Foo(null))`, `assertEquals(2, new Foo(1, 1).size())`: the
        # assertion checks what the constructor does; a getter in it only reads the result.
        new_inside = [i for i in made_inside if test.calls[i].assertion == first_assertion]
        if new_inside:
            return pick_constructor(new_inside[0], "assertion")
        # The first assertion only reads the object through accessors (`getYear()`): the call
        # that made what they read is the focal method, a method of the focal class whose result
        # the test keeps, or else the constructor; the accessor only when the test has neither.
        results = [i for i in before if real and not _is_accessor(test.calls[i])]
        if results:
            return pick(test.calls[outermost(results)].name, "result_before_assertion")
        if made_before and not exercised:
            return pick_constructor(made_before[-1], "constructor")
        if builders and not made_before:  # what the accessors read was built by a builder
            return Linked(focal, reason="built_by_builder")
        return pick(test.calls[outermost(first)].name, rule("assertion"))
    names = {test.calls[i].name for i in pool}
    if len(names) == 1:
        name = names.pop()
        # `pool.getPooledConnection().getConnection()`, each time: what the assertions check is
        # what another class's method returns, so the only call is not their focal method.
        if real and all(consumed(i) for i in pool):
            return Linked(focal, reason="result_used_by_another_class")
        return pick(name, rule("only_call"))
    if before:
        return pick(test.calls[outermost(before)].name, rule("last_before_assertion"))
    if any(on_focal(i) for i in range(len(test.calls))):  # it calls only abstract methods without one implementation
        return Linked(focal, reason="focal_method_abstract")
    return Linked(focal, reason="no_focal_method")


def format_class_context(name: str, superclass: str | None, fields, constructors, methods, keyword: str = "class") -> str:
    """methods2test's FM_FC_MS context, one item per line: the class name (and superclass), its
    fields, its constructors' signatures, its public methods' signatures. `keyword` is `interface`
    for an interface, `enum`, `record`."""
    head = f"{keyword} {name}" + (f" extends {superclass}" if superclass else "") + " {"
    body = [*fields, *(f"{s};" for s in constructors), *(f"{s};" for s in methods)]
    return "\n".join([head, *(f"    {line}" for line in body), "}"])


def class_signatures(focal: FocalClass) -> str:
    """The context of a mined focal class (see format_class_context)."""
    decl = focal.decl
    return format_class_context(decl.name, decl.superclass, decl.fields,
                                [m.signature for m in decl.methods if m.constructor],
                                [m.signature for m in decl.methods if not m.constructor and m.public],
                                "interface" if decl.kind == "interface" else "class")
