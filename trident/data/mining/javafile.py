"""One Java file, parsed once, summarised as plain dataclasses: its classes with their methods,
constructors and fields, and its test methods already split into masked test and assertions.

This runs in the miner's worker processes, so everything it returns pickles and nothing here
needs another file: linking tests to focal classes across the repository happens afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter as ts

from trident import java
from trident.data.mining.assertions import method_assertions, node_text, parse_member, split_test

# Annotations that make a method a test (JUnit 4/5, TestNG). @TestFactory builds tests at run
# time (dynamic tests): it is not a test method with assertions of its own, and is counted apart.
TEST_ANNOTATIONS = frozenset({"Test", "ParameterizedTest", "RepeatedTest"})
FACTORY_ANNOTATIONS = frozenset({"TestFactory"})
# Interfaces are classes here too: their default methods and their implementations are focal methods.
_CLASS_TYPES = ("class_declaration", "enum_declaration", "record_declaration", "interface_declaration")
_COMMENTS = frozenset({"line_comment", "block_comment"})
# The name a constructor call (`new Foo(…)`) has among a test's calls, and a constructor's in a
# record's focal_method_name: the JVM's name for it, which no method can have.
CONSTRUCTOR = "<init>"


@dataclass(frozen=True)
class MethodDecl:
    name: str
    params: int
    varargs: bool
    constructor: bool
    public: bool
    source: str  # full source, annotations dropped (Javadoc is a comment outside the node)
    signature: str  # modifiers, type, name and parameters on one line, no annotations
    line: int
    param_types: tuple[str | None, ...] = ()  # see type_name; a varargs parameter is its element type
    body: bool = True  # False for an abstract or interface method without a default body
    private: bool = False
    static: bool = False
    returns: str | None = None  # the return type as type_name reads it, "void" for void; None for constructors

    def accepts(self, args: int) -> bool:
        return args == self.params or (self.varargs and args >= self.params - 1)

    def param_type(self, i: int) -> str | None:
        """The type the i-th argument must have (varargs arguments past the last parameter included)."""
        if not self.param_types:
            return None
        return self.param_types[min(i, len(self.param_types) - 1)]


@dataclass(frozen=True)
class ClassDecl:
    name: str
    top_level: str  # the enclosing top-level class (itself when it is one)
    superclass: str | None  # simple name
    methods: tuple[MethodDecl, ...]
    fields: tuple[str, ...]  # declarations on one line
    kind: str = "class"  # class, interface, enum, record
    interfaces: tuple[str, ...] = ()  # simple names of the implemented (or, for an interface, extended) interfaces


@dataclass(frozen=True)
class Call:
    name: str  # CONSTRUCTOR for `new Foo(…)`
    args: int
    receiver_type: str | None  # simple type name of the receiver when it can be read off the test
    before_first_assertion: bool
    arg_types: tuple[str | None, ...] = ()  # each argument's type where the test shows it (type_name form)
    assertion: int | None = None  # index of the assertion statement the call is part of
    receiver_call: int | None = None  # index (in TestMethod.calls) of the call whose result is the receiver
    end: int = 0  # end byte of the call: of two nested or chained calls, the outer one ends last
    statement: bool = False  # a statement of its own: its result, if any, is dropped (called for its effect)
    unqualified: bool = False  # `f(x)`, no receiver written: the test class's own method or a static import

    @property
    def in_assertion(self) -> bool:
        return self.assertion is not None


@dataclass(frozen=True)
class TestMethod:
    name: str
    line: int
    class_name: str  # the class declaring it
    top_level: str
    framework: str  # junit5, junit4, testng, junit (annotation of unknown origin), junit3
    masked: str
    assertions: tuple[str, ...]
    kinds: tuple[str, ...]
    multiline_literal: bool
    calls: tuple[Call, ...]
    own_methods: frozenset[str] = frozenset()  # names of the test class's methods (helpers an unqualified call reaches)


@dataclass
class JavaFile:
    path: str  # relative to the repository root, with forward slashes
    package: str = ""
    imports: tuple[str, ...] = ()
    classes: list[ClassDecl] = field(default_factory=list)
    tests: list[TestMethod] = field(default_factory=list)
    # junit3 candidates: `public void testX()` without annotations, kept with their class's
    # superclass; whether the class is a TestCase is only known once every file is read.
    junit3: list[TestMethod] = field(default_factory=list)
    test_factories: int = 0
    error: str | None = None  # why the file was not used (unreadable, not UTF-8, parse error at line N)


def _text(node: ts.Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def _simple_type(node: ts.Node | None) -> str | None:
    """`Foo`, `a.b.Foo`, `Foo<T>`, `Foo[]` → `Foo`; primitives and `var` → None."""
    if node is None:
        return None
    if node.type == "generic_type":
        return _simple_type(node.named_children[0] if node.named_child_count else None)
    if node.type == "scoped_type_identifier":
        return _text(node.named_children[-1]) if node.named_child_count else None
    if node.type == "type_identifier":
        name = _text(node)
        return None if name == "var" else name
    return None


_PRIMITIVE_NODES = frozenset({"integral_type", "floating_point_type", "boolean_type"})


def type_name(node: ts.Node | None) -> str | None:
    """A declared type as overload matching compares it: primitives as written, class types by
    simple name without type arguments, arrays with `[]`; None for `var` and what cannot be read."""
    if node is None:
        return None
    if node.type in _PRIMITIVE_NODES:
        return _text(node)
    if node.type == "array_type":
        element = type_name(node.child_by_field_name("element"))
        return element + "[]" if element else None
    return _simple_type(node)


_LITERAL_TYPES = {"string_literal": "String", "character_literal": "char", "true": "boolean", "false": "boolean",
                  "null_literal": "null", "class_literal": "Class", "decimal_floating_point_literal": "double",
                  "hex_floating_point_literal": "double"}
_INTEGER_LITERALS = frozenset({"decimal_integer_literal", "hex_integer_literal", "octal_integer_literal",
                               "binary_integer_literal"})


def expression_type(node: ts.Node, types: dict[str, str]) -> str | None:
    """The static type of an argument where the test shows it: a literal, `new Foo(…)`, a cast,
    `Foo.class`, or a variable declared in the test; None otherwise."""
    if node.type in _INTEGER_LITERALS:
        return "long" if _text(node)[-1:] in "lL" else "int"
    if node.type == "decimal_floating_point_literal" and _text(node)[-1:] in "fF":
        return "float"
    if node.type in _LITERAL_TYPES:
        return _LITERAL_TYPES[node.type]
    if node.type == "object_creation_expression":
        return _simple_type(node.child_by_field_name("type"))
    if node.type == "cast_expression":
        return type_name(node.child_by_field_name("type"))
    if node.type == "identifier":
        return types.get(_text(node))
    if node.type == "parenthesized_expression" and node.named_child_count == 1:
        return expression_type(node.named_children[0], types)
    return None


def _annotations(node: ts.Node) -> list[ts.Node]:
    mods = next((c for c in node.children if c.type == "modifiers"), None)
    return [c for c in (mods.children if mods is not None else []) if c.type in ("annotation", "marker_annotation")]


def _annotation_name(node: ts.Node) -> str:
    name = node.child_by_field_name("name")
    return _text(name).rsplit(".", 1)[-1]


def _modifier_words(node: ts.Node) -> set[str]:
    mods = next((c for c in node.children if c.type == "modifiers"), None)
    return {_text(c) for c in (mods.children if mods is not None else []) if c.type not in ("annotation", "marker_annotation")}


def _annotation_cuts(node: ts.Node, source: bytes) -> list[tuple[int, int, str]]:
    """Byte ranges of the node's annotations, each with the whitespace after it."""
    cuts = []
    for ann in _annotations(node):
        end = ann.end_byte
        while end < len(source) and source[end:end + 1] in (b" ", b"\t", b"\n", b"\r"):
            end += 1
        cuts.append((ann.start_byte, end, ""))
    return cuts


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _method(node: ts.Node, source: bytes, in_interface: bool = False) -> MethodDecl:
    params = node.child_by_field_name("parameters")
    plist = [p for p in (params.named_children if params is not None else []) if p.type in ("formal_parameter", "spread_parameter")]
    body = node.child_by_field_name("body")
    cuts = _annotation_cuts(node, source)
    head_end = body.start_byte if body is not None else node.end_byte
    head = source[node.start_byte:head_end]
    for start, end, _ in reversed(cuts):  # annotations are at the start of the head
        head = head[:start - node.start_byte] + head[end - node.start_byte:]
    signature = _one_line(head.decode("utf-8", "replace")).rstrip(";").strip()
    param_types = tuple(type_name(p.child_by_field_name("type") if p.type == "formal_parameter"
                                  else next((c for c in p.named_children if c.type != "modifiers"), None))
                        for p in plist)
    words = _modifier_words(node)
    rtype = node.child_by_field_name("type")
    return MethodDecl(param_types=param_types,
        name=_text(node.child_by_field_name("name")), params=len(plist),
        varargs=any(p.type == "spread_parameter" for p in plist),
        constructor=node.type in ("constructor_declaration", "compact_constructor_declaration"),
        # An interface's methods are public unless declared private.
        public="public" in words or (in_interface and "private" not in words),
        body=body is not None, private="private" in words, static="static" in words,
        returns=None if rtype is None else ("void" if rtype.type == "void_type" else type_name(rtype)),
        source=node_text(node, source, cuts), signature=signature, line=node.start_point[0] + 1)


def _declared_types(method: ts.Node, class_fields: dict[str, str]) -> dict[str, str]:
    """Variable name → simple type name for the test's fields, parameters and locals."""
    types = dict(class_fields)
    params = method.child_by_field_name("parameters")
    for p in (params.named_children if params is not None else []):
        t = type_name(p.child_by_field_name("type"))
        name = p.child_by_field_name("name")
        if t and name is not None:
            types[_text(name)] = t
    stack = [method.child_by_field_name("body")]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if node.type == "local_variable_declaration":
            declared = type_name(node.child_by_field_name("type"))
            for d in node.children_by_field_name("declarator"):
                value = d.child_by_field_name("value")
                t = declared or (_simple_type(value.child_by_field_name("type"))
                                 if value is not None and value.type == "object_creation_expression" else None)
                if t:
                    types[_text(d.child_by_field_name("name"))] = t
        elif node.type == "resource" and node.child_by_field_name("name") is not None:  # try (Foo out = …)
            t = type_name(node.child_by_field_name("type"))
            if t:
                types[_text(node.child_by_field_name("name"))] = t
        stack.extend(node.children)
    return types


def _receiver_type(obj: ts.Node | None, types: dict[str, str]) -> str | None:
    if obj is None:
        return None
    if obj.type == "identifier":
        name = _text(obj)
        # Not a variable: a capitalised name is a class, the receiver of a static call.
        return types.get(name) or (name if name[:1].isupper() else None)
    if obj.type == "object_creation_expression":
        return _simple_type(obj.child_by_field_name("type"))
    if obj.type == "parenthesized_expression" and obj.named_child_count == 1:
        return _receiver_type(obj.named_children[0], types)
    return None


def _calls(method: ts.Node, types: dict[str, str], asserts: list[ts.Node]) -> tuple[Call, ...]:
    """The method's calls in source order; `asserts` are its assertion statements."""
    body = method.child_by_field_name("body")
    if body is None:
        return ()
    first = asserts[0].start_byte if asserts else body.end_byte
    spans = [(a.start_byte, a.end_byte) for a in asserts]
    nodes = []
    stack = [body]
    while stack:
        node = stack.pop()
        # `new Foo(…)` is a call of Foo's constructor; `new Foo() {…}` makes a subclass, so it is not one.
        if node.type == "method_invocation" or (node.type == "object_creation_expression"
                                                 and not any(c.type == "class_body" for c in node.children)):
            nodes.append(node)
        stack.extend(node.children)
    # Source order of the method names: in a chain `a.b().c()` both calls start at `a`, b's name comes first.
    nodes.sort(key=lambda n: (n.child_by_field_name("name") or n).start_byte)
    index = {(n.start_byte, n.end_byte): i for i, n in enumerate(nodes)}
    out = []
    for node in nodes:
        args = node.child_by_field_name("arguments")
        arg_nodes = [a for a in (args.named_children if args is not None else []) if a.type not in _COMMENTS]
        creation = node.type == "object_creation_expression"
        obj = None if creation else node.child_by_field_name("object")
        out.append(Call(
            name=CONSTRUCTOR if creation else _text(node.child_by_field_name("name")),
            args=len(arg_nodes), arg_types=tuple(expression_type(a, types) for a in arg_nodes),
            # A constructor call's "receiver" is the class it makes.
            receiver_type=_simple_type(node.child_by_field_name("type")) if creation else _receiver_type(obj, types),
            before_first_assertion=node.start_byte < first,
            assertion=next((k for k, (s, e) in enumerate(spans) if s <= node.start_byte and node.end_byte <= e), None),
            receiver_call=index.get((obj.start_byte, obj.end_byte)) if obj is not None and obj.type == "method_invocation" else None,
            end=node.end_byte, unqualified=obj is None and not creation, statement=node.parent is not None and node.parent.type == "expression_statement"))
    return tuple(out)


def _fields(body: ts.Node) -> dict[str, str]:
    types = {}
    for member in body.named_children:
        if member.type == "field_declaration":
            t = type_name(member.child_by_field_name("type"))
            for d in member.children_by_field_name("declarator"):
                if t:
                    types[_text(d.child_by_field_name("name"))] = t
    return types


def _framework(annotation: ts.Node, imports: tuple[str, ...]) -> str:
    qualified = _text(annotation.child_by_field_name("name"))
    names = [qualified] if "." in qualified else [i for i in imports if i.rsplit(".", 1)[-1] == qualified]
    if not names:  # no single-type import names it: a wildcard import of its package may (`org.junit.jupiter.api.*`)
        # A capitalised last part is a class, whose static members (Assertions.*) are no annotation.
        names = [i for i in imports if i.endswith(".*") and not i[:-2].rsplit(".", 1)[-1][:1].isupper()]
    for name in names:
        if name.startswith("org.junit.jupiter"):
            return "junit5"
        if name.startswith("org.junit"):
            return "junit4"
        if name.startswith("org.testng"):
            return "testng"
    return "junit"


def _superclass(node: ts.Node) -> str | None:
    sup = node.child_by_field_name("superclass")
    if sup is None:
        return None
    return _simple_type(sup.named_children[0] if sup.named_child_count else None)


def _interfaces(node: ts.Node) -> tuple[str, ...]:
    """`implements A, B<T>` of a class, `extends A, B` of an interface: simple names."""
    clause = node.child_by_field_name("interfaces") or next(
        (c for c in node.children if c.type in ("super_interfaces", "extends_interfaces")), None)
    types = next((c for c in (clause.named_children if clause is not None else []) if c.type == "type_list"), None)
    return tuple(t for t in (_simple_type(c) for c in (types.named_children if types is not None else [])) if t)


def _first_error_line(node: ts.Node) -> int:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            return n.start_point[0] + 1
        stack.extend(reversed([c for c in n.children if c.has_error or c.is_missing]))
    return node.start_point[0] + 1


def summarise(source: bytes, path: str) -> JavaFile:
    """The summary of one file's bytes; a file that does not parse cleanly is kept with its error."""
    out = JavaFile(path=path)
    tree = java.parse(source)
    root = tree.root_node
    if root.has_error:
        out.error = f"parse error at line {_first_error_line(root)}"
        return out
    imports = []
    for node in root.named_children:
        if node.type == "package_declaration":
            out.package = _text(next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None))
        elif node.type == "import_declaration":
            name = next((c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None)
            wildcard = any(c.type == "asterisk" for c in node.children)
            imports.append(_text(name) + (".*" if wildcard else ""))
    out.imports = tuple(imports)
    truth = any(i.startswith("com.google.common.truth") for i in imports)
    stack = [(n, None) for n in reversed(root.named_children) if n.type in _CLASS_TYPES]
    while stack:
        node, top = stack.pop()
        name = _text(node.child_by_field_name("name"))
        top = top or name
        body = node.child_by_field_name("body")
        if body is None:
            continue
        members = [m for m in body.named_children if m.type not in _COMMENTS]
        if node.type == "enum_declaration":  # constants first, then an enum_body_declarations block
            members = [m for b in members if b.type == "enum_body_declarations" for m in b.named_children]
        fields = _fields(body)
        methods = []
        interface = node.type == "interface_declaration"
        # TestNG's class-level @Test makes every public void method without annotations of its own a test.
        class_test = next((a for a in _annotations(node) if _annotation_name(a) == "Test"), None)
        own = frozenset(_text(m.child_by_field_name("name")) for m in members if m.type == "method_declaration")
        for member in members:
            if member.type in ("method_declaration", "constructor_declaration", "compact_constructor_declaration"):
                methods.append(_method(member, source, interface))
            if member.type != "method_declaration":
                continue
            names = {_annotation_name(a): a for a in _annotations(member)}
            test_ann = next((names[n] for n in names if n in TEST_ANNOTATIONS), None)
            if (test_ann is None and class_test is not None and not names and methods[-1].public
                    and methods[-1].returns == "void" and not methods[-1].static and methods[-1].body):
                test_ann = class_test
            if any(n in FACTORY_ANNOTATIONS for n in names):
                out.test_factories += 1
                continue
            junit3 = (test_ann is None and not names and methods[-1].name.startswith("test") and methods[-1].public
                      and methods[-1].params == 0 and _text(member.child_by_field_name("type")) == "void"
                      and "static" not in _modifier_words(member))
            if test_ann is None and not junit3:
                continue
            asserts = method_assertions(member)
            split = split_test(member, source, truth, asserts)
            test = TestMethod(
                name=methods[-1].name, line=member.start_point[0] + 1, class_name=name, top_level=top,
                framework=_framework(test_ann, out.imports) if test_ann is not None else "junit3",
                masked=split.masked, assertions=split.assertions, kinds=split.kinds,
                multiline_literal=split.multiline_literal, calls=_calls(member, _declared_types(member, fields), asserts),
                own_methods=own)
            (out.junit3 if junit3 else out.tests).append(test)
        field_decls = tuple(_one_line(node_text(m, source, _annotation_cuts(m, source)))
                            for m in members if m.type == "field_declaration")
        out.classes.append(ClassDecl(name=name, top_level=top, superclass=_superclass(node),
                                     methods=tuple(methods), fields=field_decls,
                                     kind=node.type.split("_")[0], interfaces=_interfaces(node)))
        stack.extend((m, top) for m in reversed(members) if m.type in _CLASS_TYPES)
    return out


def read_and_summarise(path: Path, rel: str) -> JavaFile:
    """Worker entry point: read and summarise one file; unreadable or non-UTF-8 files are kept
    with their error, so the miner can name them."""
    data, error = read_source(path)
    return JavaFile(path=rel, error=error) if data is None else summarise(data, rel)


def read_source(path: Path) -> tuple[bytes | None, str | None]:
    """A Java file's bytes without a UTF-8 byte order mark, or None and why it cannot be used
    (unreadable, not UTF-8 text at line N)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return None, f"not UTF-8 text (line {line})"
    return (data[3:] if data.startswith(b"\xef\xbb\xbf") else data), None


def method_source(code: str) -> str | None:
    """A method given as text (an importer's focal method), with its annotations dropped and
    dedented; None when it does not parse cleanly as one method or constructor."""
    parsed = parse_member(code)
    if parsed is None or parsed[1].type not in ("method_declaration", "constructor_declaration"):
        return None
    return _method(parsed[1], parsed[0]).source
