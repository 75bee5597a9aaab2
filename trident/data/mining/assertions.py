"""Assertion statements of a test method: found with tree-sitter-java, cut out, normalised.

The miner and the methods2test importer both split a test method here, so a test means the same
thing whichever way it enters trident.

An assertion statement is Java's `assert` statement or an expression statement whose call is
named `assert…` or `fail`, qualified or not, as the outermost or the innermost call of a chain:
`assertEquals(a, b)`, `Assert.fail("x")`, `Assertions.assertThrows(E.class, () -> f())`,
`assertThat(x).isEqualTo(y)`, `assertThatThrownBy(() -> f()).isInstanceOf(E.class)`,
`assertThat(x, is(y))`. Statements are found at any depth (inside loops, try blocks, lambdas),
but not inside another assertion. Each becomes `<AssertPlaceHolder>;` in the masked method, in
source order; its text, with comments dropped and line breaks folded, is one line.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass

import tree_sitter as ts

from trident import java
from trident.data.records import PLACEHOLDER

_COMMENTS = frozenset({"line_comment", "block_comment"})
_ATOMIC = frozenset({"string_literal", "character_literal", "text_block"})
_NO_SPACE_AFTER = frozenset({"(", "[", ".", "::", "@"})
_NO_SPACE_BEFORE = frozenset({")", "]", ".", ",", ";", "::"})

KINDS = ("junit", "fail", "assertj", "truth", "hamcrest", "java_assert")


@dataclass(frozen=True)
class SplitTest:
    """A test method with its assertions taken out."""

    masked: str  # the method with each assertion statement replaced by the placeholder
    assertions: tuple[str, ...]  # one line each, in source order
    kinds: tuple[str, ...]  # one of KINDS per assertion
    multiline_literal: bool  # an assertion holds a text block, which cannot be one line


def _kind(node: ts.Node, truth: bool) -> str:
    if node.type == "assert_statement":
        return "java_assert"
    call = node.named_children[0]
    names = java.call_names(call)
    if names[-1] == "fail" and len(names) == 1:
        return "fail"
    if len(names) > 1 and names[-1].startswith("assert"):  # a fluent chain on assertThat(...) & co
        return "truth" if truth else "assertj"
    if names[0] == "assertThat":
        args = call.child_by_field_name("arguments")
        return "hamcrest" if args is not None and args.named_child_count >= 2 else ("truth" if truth else "assertj")
    return "junit"


def assertion_statements(body: ts.Node) -> list[ts.Node]:
    """The assertion statements under `body`, in source order, none inside another."""
    out: list[ts.Node] = []
    stack = [body]
    while stack:
        node = stack.pop()
        if java.is_assertion_node(node):
            out.append(node)
            continue
        stack.extend(reversed(node.children))
    return out


def one_line(node: ts.Node, source: bytes) -> str:
    """The statement's text on one line: comments dropped; a gap between two tokens that held a
    line break or a comment becomes one space, or nothing next to brackets, dots and commas;
    spaces within a line are collapsed to one. Literals are kept byte for byte."""
    leaves = java.leaves(node)
    parts: list[str] = []
    for i, leaf in enumerate(leaves):
        text = source[leaf.start_byte:leaf.end_byte].decode("utf-8", "replace")
        if i:
            prev = leaves[i - 1]
            gap = source[prev.end_byte:leaf.start_byte]
            if gap:
                folded = b"\n" in gap or b"\r" in gap or b"/" in gap
                prev_text = source[prev.start_byte:prev.end_byte].decode("utf-8", "replace")
                if folded and (prev_text in _NO_SPACE_AFTER or text in _NO_SPACE_BEFORE):
                    pass
                else:
                    parts.append(" ")
        parts.append(text)
    return "".join(parts)


def _has_text_block(node: ts.Node) -> bool:
    """A text block (tree-sitter reads one as a string_literal) or any other literal spanning lines."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in _ATOMIC:
            if n.type == "text_block" or n.start_point[0] != n.end_point[0]:
                return True
            continue
        stack.extend(n.children)
    return False


def node_text(node: ts.Node, source: bytes, cuts: list[tuple[int, int, str]] = ()) -> str:
    """The node's source with each (start, end, text) byte range of `cuts` (sorted, inside the
    node) replaced by `text`, dedented as it stood in the file: the indentation of the line the
    node starts on counts as its first line's."""
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    prefix = source[line_start:node.start_byte]
    chunks, pos = [prefix if not prefix.strip() else b""], node.start_byte
    for start, end, text in cuts:
        chunks += [source[pos:start], text.encode("utf-8")]
        pos = end
    chunks.append(source[pos:node.end_byte])
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return textwrap.dedent(text).strip("\n")


def method_assertions(method: ts.Node) -> list[ts.Node]:
    """The assertion statements of a method's body (see assertion_statements)."""
    body = method.child_by_field_name("body")
    return assertion_statements(body) if body is not None else []


def split_test(method: ts.Node, source: bytes, truth: bool = False, found: list[ts.Node] | None = None) -> SplitTest:
    """Split a parsed test method (a method_declaration node of `source`). `truth` says the file
    imports Google Truth, whose `assertThat(x).isEqualTo(y)` reads like AssertJ's; `found` is the
    method's assertion statements when the caller already has them."""
    found = method_assertions(method) if found is None else found
    return SplitTest(
        masked=node_text(method, source, [(n.start_byte, n.end_byte, PLACEHOLDER) for n in found]),
        assertions=tuple(one_line(n, source) for n in found),
        kinds=tuple(_kind(n, truth) for n in found),
        multiline_literal=any(_has_text_block(n) for n in found),
    )


_WRAP_PREFIX = b"class __T {\n"
_WRAP_SUFFIX = b"\n}"


def parse_member(code: str) -> tuple[bytes, ts.Node] | None:
    """A method or constructor given as text (cut from a file, so only the lines after its first
    carry the class's indentation), parsed inside a class: the wrapped source and the member's
    node. None when it does not parse cleanly as exactly one member."""
    first, _, rest = code.strip("\n").partition("\n")
    text = first.strip() + ("\n" + textwrap.dedent(rest) if rest else "")
    source = _WRAP_PREFIX + text.encode("utf-8") + _WRAP_SUFFIX
    root = java.parse(source).root_node
    if root.has_error or not root.named_child_count:
        return None
    body = root.named_children[0].child_by_field_name("body")
    members = [m for m in (body.named_children if body is not None else []) if m.type not in _COMMENTS]
    return (source, members[0]) if len(members) == 1 else None


def split_test_source(code: str, truth: bool = False) -> SplitTest | None:
    """Split a test method given as source text (an importer's test case body). None when it does
    not parse cleanly as one method."""
    parsed = parse_member(code)
    if parsed is None or parsed[1].type != "method_declaration":
        return None
    return split_test(parsed[1], parsed[0], truth)
