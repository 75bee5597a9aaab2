"""tree-sitter-java helpers shared by the metrics, the data checks and token weighting.

Everything here works on source text; nothing imports torch, so metrics stay cheap to load.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter as ts
import tree_sitter_java as tsj

# String-like literals are one token: their inner fragments are not Java tokens.
_ATOMIC = frozenset({"string_literal", "character_literal", "text_block"})
_COMMENTS = frozenset({"line_comment", "block_comment"})
_ASSERT_QUALIFIERS = frozenset({"Assert", "Assertions"})

# A statement is checked in the smallest context that makes it legal Java.
_METHOD_PREFIX = b"class __T { void __m() {\n"
_METHOD_SUFFIX = b"\n} }"


@lru_cache(maxsize=1)
def language() -> ts.Language:
    return ts.Language(tsj.language())


@lru_cache(maxsize=1)
def _parser() -> ts.Parser:
    return ts.Parser(language())


def parse(code: str | bytes) -> ts.Tree:
    data = code.encode("utf-8") if isinstance(code, str) else code
    return _parser().parse(data)


def has_errors(node: ts.Node) -> bool:
    """True when the subtree holds an ERROR or MISSING node."""
    return node.has_error


@dataclass(frozen=True)
class Token:
    text: str
    kind: str  # tree-sitter node type of the leaf ("identifier", "decimal_integer_literal", "(" ...)
    start: int  # byte offsets into the parsed text
    end: int


def _leaves(node: ts.Node, out: list[ts.Node]) -> None:
    if node.type in _COMMENTS:
        return
    if node.child_count == 0 or node.type in _ATOMIC:
        if node.end_byte > node.start_byte:  # MISSING nodes have no text
            out.append(node)
        return
    for child in node.children:
        _leaves(child, out)


def leaves(node: ts.Node) -> list[ts.Node]:
    """The token leaves under `node` in order: comments left out, a string, character or text-block
    literal one leaf, MISSING nodes (no text) left out."""
    out: list[ts.Node] = []
    _leaves(node, out)
    return out


def _statement_leaves(root: ts.Node, lo: int, hi: int) -> list[tuple[int, int, ts.Node]]:
    """(start, end, node) of the token leaves (as `leaves` defines them) lying within bytes
    [lo, hi], in order. The same leaves as filtering `leaves(root)`, visiting fewer nodes: a
    subtree ending at or before `lo` or starting at or after `hi` can only hold zero-width
    leaves inside the range, which `leaves` drops anyway. Iterative, on kind ids, since this
    walk is most of what lexing a line costs after the parse itself."""
    out: list[tuple[int, int, ts.Node]] = []
    stack = [root]
    pop, push, emit = stack.pop, stack.extend, out.append
    comments, atomic = _kind_ids(_COMMENTS), _kind_ids(_ATOMIC)
    while stack:
        node = pop()
        kind = node.kind_id
        if kind in comments:
            continue
        start, end = node.start_byte, node.end_byte
        if end <= lo or start >= hi:
            continue
        if kind in atomic or not node.child_count:
            if end > start and start >= lo and end <= hi:
                emit((start, end, node))
            continue
        push(reversed(node.children))
    return out


@lru_cache(maxsize=None)
def _kind_ids(kinds: frozenset[str]) -> frozenset[int]:
    # Every symbol id named like one of `kinds` (aliases give one name several ids), so a walk
    # compares ints instead of building each node's type string.
    lang = language()
    return frozenset(i for i in range(lang.node_kind_count) if lang.node_kind_for_id(i) in kinds)


def _parse_statement(data: bytes) -> tuple[ts.Tree, int, int]:
    """`data` parsed inside a method body, and the byte range it occupies in the parsed text."""
    lo = len(_METHOD_PREFIX)
    return parse(_METHOD_PREFIX + data + _METHOD_SUFFIX), lo, lo + len(data)


def tokenize_with_kinds(code: str) -> list[Token]:
    """Java tokens of `code` in order, each with its tree-sitter kind.

    The text is parsed as a statement inside a method body, which is how test
    assertions live; for any other snippet the leaves are still the lexer's tokens.
    """
    data = code.encode("utf-8")
    tree, lo, hi = _parse_statement(data)
    source = _METHOD_PREFIX + data
    return [Token(source[s:e].decode("utf-8", "replace"), node.type, s - lo, e - lo)
            for s, e, node in _statement_leaves(tree.root_node, lo, hi)]


def tokenize(code: str) -> list[str]:
    return list(_tokens(code.encode("utf-8"))[0])


def _tokens(data: bytes) -> tuple[tuple[str, ...], ts.Tree]:
    # The token texts of `data` as a statement, and the tree they came from (for the checks
    # `lex_line` makes on the same parse).
    tree, lo, hi = _parse_statement(data)
    source = _METHOD_PREFIX + data
    return tuple(source[s:e].decode("utf-8", "replace") for s, e, _ in _statement_leaves(_around(tree, lo, hi), lo, hi)), tree


def _around(tree: ts.Tree, lo: int, hi: int) -> ts.Node:
    """The smallest node spanning the statement's bytes and the newlines on either side (most
    often the wrapper method's body block), to walk instead of the root: every token within
    [lo, hi] lies under it (sibling nodes never overlap, so a token inside the span can only
    descend from the node that holds the span). Neither it nor an ancestor is a comment or a
    literal, whose leaves `leaves` would skip: it starts inside the fixed wrapper prefix, which
    holds no quote or slash to open one."""
    return tree.root_node.descendant_for_byte_range(lo - 1, hi + 1)


def canonical_tokens(line: str) -> list[str]:
    """The Java tokens of one assertion line, with an `Assert.` / `Assertions.` qualifier on the
    assert call dropped. A string, character or text-block literal is one token, spaces and all."""
    return list(_unqualified(tuple(tokenize(line.strip()))))


def _unqualified(toks: tuple[str, ...]) -> tuple[str, ...]:
    if len(toks) >= 3 and toks[0] in _ASSERT_QUALIFIERS and toks[1] == ".":
        return toks[2:]
    return toks


def canonical_assertion(line: str) -> str:
    """One assertion line in canonical form: its canonical tokens joined by one space."""
    return " ".join(canonical_tokens(line))


def is_valid_statement(line: str) -> bool:
    """True when `line` parses as statement(s) inside a method body with no ERROR/MISSING node."""
    if not line.strip():
        return False
    tree = parse(_METHOD_PREFIX + line.encode("utf-8") + _METHOD_SUFFIX)
    return not has_errors(tree.root_node)


# A call is an assertion when it is named like JUnit's/TestNG's/Hamcrest's/AssertJ's/Truth's
# entry points: assertX(...) (assertEquals, assertThat, assertWithMessage, ...) or fail(...).
_ASSERT_CALL = re.compile(r"assert[A-Z]\w*|fail")


def call_names(node: ts.Node) -> list[str]:
    """Names of a method_invocation chain, from the outermost call inwards
    (`assertThat(x).isEqualTo(y)` → ["isEqualTo", "assertThat"])."""
    names = []
    call: ts.Node | None = node
    while call is not None and call.type == "method_invocation":
        name = call.child_by_field_name("name")
        names.append(name.text.decode("utf-8", "replace") if name is not None else "")
        call = call.child_by_field_name("object")
    return names


def _is_assertion_call(node: ts.Node) -> bool:
    """`node` is a method_invocation chain whose outermost or innermost call is an assertion:
    `assertEquals(a, b)`, `Assert.fail()`, `assertThat(x).isEqualTo(y)`, `assertWithMessage(m).that(x).isTrue()`."""
    if node.type != "method_invocation":
        return False
    names = call_names(node)
    return any(_ASSERT_CALL.fullmatch(n) for n in (names[0], names[-1]))


def is_assertion_node(node: ts.Node) -> bool:
    """`node` is an assertion statement: Java's `assert` (it states a check as an assertion does,
    and runs with -ea), or an expression statement calling an assertion (see `_is_assertion_call`)."""
    if node.type == "assert_statement":
        return True
    return node.type == "expression_statement" and node.named_child_count == 1 and _is_assertion_call(node.named_children[0])


def _method_body(tree: ts.Tree) -> ts.Node | None:
    """The body block of the wrapper method `__m` the snippet was parsed in."""
    cls = tree.root_node.named_children[0] if tree.root_node.named_child_count else None
    body = cls.child_by_field_name("body") if cls is not None else None
    for member in (body.named_children if body is not None else []):
        if member.type == "method_declaration":
            return member.child_by_field_name("body")
    return None


def is_assertion_statement(line: str) -> bool:
    """True when `line` parses cleanly inside a method body and holds one or more statements,
    each of them an assertion: an expression statement calling an assertion (see
    `_is_assertion_call`) or Java's `assert` statement. Comments are passed over; `;`, `{}`,
    `return;`, declarations and calls of other methods are not assertions."""
    if not line.strip():
        return False
    return _asserts_only(parse(_METHOD_PREFIX + line.encode("utf-8") + _METHOD_SUFFIX))


def _asserts_only(tree: ts.Tree) -> bool:
    # is_assertion_statement's rule on a non-blank line's parse
    if has_errors(tree.root_node):
        return False
    body = _method_body(tree)
    if body is None:
        return False
    statements = [n for n in body.named_children if n.type not in _COMMENTS]
    return bool(statements) and all(is_assertion_node(n) for n in statements)


@dataclass(frozen=True, slots=True)
class LineLex:
    """What the metrics read from one line, all from one parse of the stripped line (`lex_line`)."""

    tokens: tuple[str, ...]  # canonical_tokens(line)
    canonical: str  # canonical_assertion(line): the tokens joined by one space
    valid: bool  # is_valid_statement(line.strip())
    assertion: bool  # is_assertion_statement(line.strip())


_BLANK = LineLex((), "", False, False)


def statement_checks(line: str) -> tuple[bool, bool]:
    """(`is_valid_statement`, `is_assertion_statement`) of `line.strip()` from one parse, without
    the token walk `lex_line` adds: for the validity metrics alone."""
    text = line.strip()
    if not text:
        return False, False
    tree = _parse_statement(text.encode("utf-8"))[0]
    valid = not has_errors(tree.root_node)
    return valid, valid and _asserts_only(tree)


def lex_line(line: str) -> LineLex:
    """`canonical_tokens`, `canonical_assertion`, `is_valid_statement` and
    `is_assertion_statement` of `line.strip()` from a single tree-sitter parse: each of those
    parses the same bytes in the same wrapper, so the tree, and every answer, is the same."""
    text = line.strip()
    if not text:
        return _BLANK
    toks, tree = _tokens(text.encode("utf-8"))
    toks = _unqualified(toks)
    valid = not has_errors(tree.root_node)
    return LineLex(toks, " ".join(toks), valid, valid and _asserts_only(tree))


def parses_as_method(code: str) -> bool:
    """True when `code` is a method declaration that parses cleanly inside a class body."""
    tree = parse(b"class __T {\n" + code.encode("utf-8") + b"\n}")
    return not has_errors(tree.root_node)


_LITERALS = frozenset({
    "decimal_integer_literal", "hex_integer_literal", "octal_integer_literal", "binary_integer_literal",
    "decimal_floating_point_literal", "hex_floating_point_literal", "string_literal", "character_literal",
    "text_block", "true", "false", "null_literal",
})
_COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">="})


def method_name(method: str) -> str | None:
    """Name of the first method declared in `method` (the focal method's name)."""
    tree = parse(b"class __T {\n" + method.encode("utf-8") + b"\n}")
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in ("method_declaration", "constructor_declaration"):
            name = node.child_by_field_name("name")
            return name.text.decode("utf-8") if name is not None else None
        stack.extend(reversed(node.children))
    return None


def critical_spans(code: str, focal_name: str | None = None) -> list[tuple[int, int]]:
    """Character spans of the tokens that decide an assertion, found by their Java token kinds:
    the names of called methods (the assert method, AssertJ's isEqualTo, the focal method),
    the receiver of a call, literals (the expected value), comparison operators, and any
    identifier equal to the focal method's name."""
    data = code.encode("utf-8")
    tree = parse(_METHOD_PREFIX + data + _METHOD_SUFFIX)
    lo, hi = len(_METHOD_PREFIX), len(_METHOD_PREFIX) + len(data)
    picked: list[ts.Node] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.end_byte <= lo or node.start_byte >= hi:
            continue
        if node.type in _LITERALS:
            picked.append(node)
            continue
        if node.type == "method_invocation":
            for field_name in ("name", "object"):
                child = node.child_by_field_name(field_name)
                if child is not None and child.type == "identifier":
                    picked.append(child)
        elif node.type in _COMPARISONS and node.parent is not None and node.parent.type == "binary_expression":
            picked.append(node)
        elif node.type == "identifier" and focal_name and node.text.decode("utf-8", "replace") == focal_name:
            picked.append(node)
        stack.extend(node.children)

    def char(offset: int) -> int:
        return len(data[: offset - lo].decode("utf-8", "ignore"))

    return sorted({(char(n.start_byte), char(n.end_byte)) for n in picked if lo <= n.start_byte and n.end_byte <= hi})
