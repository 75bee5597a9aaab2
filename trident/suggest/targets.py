"""Where assertions go in a user's Java test file.

A test file may hold the records' placeholder statement, `<AssertPlaceHolder>;`, where the
user wants an assertion. That is not Java, so before parsing each marker is replaced by a call
of the same byte length, `assertPlaceHolder()`: the file then parses, every offset and line
stays where it was, and the miner (javafile.summarise) reads the call as an assertion statement
(its name is `assert…`), so the test is summarised exactly as the miner summarises a test whose
assertions stood there. The file's own bytes are what edits apply to; the stand-in text never
leaves this module.

Targets: a test method holding placeholders (each one a spot, replaced), and, when asked, a test
method with no assertion at all but calls (a spot after its last statement, where assertions are
inserted). The text the model reads is the method with only the placeholders masked: assertions
the user already wrote stay as context.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter as ts

from trident import java
from trident.data.mining.assertions import node_text
from trident.data.mining.javafile import JavaFile, TestMethod, read_source, summarise
from trident.data.records import PLACEHOLDER

MARKER = PLACEHOLDER.rstrip(";").encode()  # b"<AssertPlaceHolder>"
STAND_IN_NAME = "assertPlaceHolder"
STAND_IN = f"{STAND_IN_NAME}()".encode()
assert len(STAND_IN) == len(MARKER)  # the substitution keeps every byte offset
PLACEHOLDER_KIND, MISSING_KIND = "placeholder", "missing"
_COMMENTS = frozenset({"line_comment", "block_comment"})


@dataclass(frozen=True)
class Problem:
    """Something reported instead of generated for: a file or a method, with its line."""

    file: str  # the path as the user gave it (or as found under a folder they gave)
    line: int
    message: str
    method: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: " + (f"{self.method}: " if self.method else "") + self.message


@dataclass(frozen=True)
class Spot:
    """Where assertions go: a placeholder statement's bytes (start < end, replaced), or a point
    after a test's last statement (start == end, inserted on new lines)."""

    start: int  # byte offsets in SourceFile.source
    end: int
    indent: str  # the indentation of the statement's line, for the lines written there

    @property
    def insert(self) -> bool:
        return self.start == self.end


@dataclass
class SourceFile:
    path: Path
    display: str  # how messages and diffs name it
    rel: str  # the miner's path for it: relative to the common folder of every input, with /
    source: bytes = b""  # the file's bytes, a UTF-8 byte order mark dropped (bom says so)
    bom: bool = False
    summary: JavaFile | None = None  # of the stand-in text
    problem: Problem | None = None  # why it is not used
    tree: ts.Tree | None = field(default=None, repr=False)  # of the stand-in text

    @property
    def newline(self) -> str:
        return "\r\n" if b"\r\n" in self.source else "\n"

    @property
    def text(self) -> str:
        """The file's text as on disk (byte order mark included)."""
        return ("\ufeff" if self.bom else "") + self.source.decode("utf-8")


@dataclass(frozen=True)
class Target:
    file: SourceFile
    test: TestMethod
    kind: str  # PLACEHOLDER_KIND or MISSING_KIND
    spots: tuple[Spot, ...]
    masked: str  # the test method as the model reads it (placeholders in the records' form)

    @property
    def where(self) -> str:
        return f"{self.file.display}:{self.test.line}"


def read_java(path: Path, display: str, rel: str, stand_ins: bool) -> SourceFile:
    """Read and summarise one file; with `stand_ins`, placeholders are read as assertions. A file
    that cannot be read or parsed carries its Problem (file:line) and no summary."""
    out = SourceFile(path=path, display=display, rel=rel)
    data, error = read_source(path)
    if data is None:
        line = int(error.rsplit("line ", 1)[1].rstrip(")")) if "line " in error else 1
        out.problem = Problem(display, line, f"not used: {error}")
        return out
    out.source, out.bom = data, path.read_bytes().startswith(b"\xef\xbb\xbf")
    parsed = data.replace(MARKER, STAND_IN) if stand_ins else data
    summary = summarise(parsed, rel)
    if summary.error:
        line = int(summary.error.rsplit(" ", 1)[1]) if summary.error.startswith("parse error at line") else 1
        out.problem = Problem(display, line, f"does not parse ({summary.error})"
                                             + (": skipped, nothing written to it" if stand_ins else ""))
        return out
    out.summary, out.tree = summary, java.parse(parsed)
    return out


def _methods(tree: ts.Tree) -> dict[tuple[int, str], ts.Node]:
    """Method declarations by (1-based start line, name): how TestMethod names its method."""
    out, stack = {}, [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "method_declaration":
            name = node.child_by_field_name("name")
            out[(node.start_point[0] + 1, name.text.decode("utf-8") if name is not None else "")] = node
        stack.extend(node.children)
    return out


def _is_stand_in(node: ts.Node) -> bool:
    if node.type != "expression_statement" or node.named_child_count != 1:
        return False
    call = node.named_children[0]
    args = call.child_by_field_name("arguments")
    return (call.type == "method_invocation" and call.child_by_field_name("object") is None
            and java.call_names(call) == [STAND_IN_NAME] and args is not None and args.named_child_count == 0)


def _stand_ins(method: ts.Node) -> list[ts.Node]:
    out, stack = [], [method.child_by_field_name("body")]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if _is_stand_in(node):
            out.append(node)
            continue
        stack.extend(reversed(node.children))
    return sorted(out, key=lambda n: n.start_byte)


def _indent(source: bytes, at: int) -> str:
    start = source.rfind(b"\n", 0, at) + 1
    line = source[start:at]
    return line[:len(line) - len(line.lstrip(b" \t"))].decode("utf-8")


def _after(source: bytes, end: int) -> int:
    """Where lines go after a statement ending at `end`: past a `// comment` on the rest of its
    line, which belongs to the statement; otherwise right after it."""
    stop = source.find(b"\n", end)
    rest = source[end:len(source) if stop < 0 else stop].rstrip(b"\r")
    return end + len(rest) if rest.strip().startswith(b"//") else end


def find_targets(f: SourceFile, tests: list[TestMethod], missing: bool) -> list[Target]:
    """The file's tests that get assertions: those with placeholders, and with `missing`, those
    that assert nothing but call something (whether they call the code under test is the focal
    rules' answer, in linking)."""
    if f.summary is None or f.tree is None:
        return []
    parsed = f.source.replace(MARKER, STAND_IN)
    nodes = _methods(f.tree)
    out = []
    for t in tests:
        node = nodes.get((t.line, t.name))
        if node is None:  # cannot happen for a test summarise found in this tree
            raise AssertionError(f"{f.display}:{t.line}: method {t.name} not found again")
        marks = _stand_ins(node)
        if marks:
            spots = tuple(Spot(n.start_byte, n.end_byte, _indent(parsed, n.start_byte)) for n in marks)
            masked = node_text(node, parsed, [(n.start_byte, n.end_byte, PLACEHOLDER) for n in marks])
            out.append(Target(f, t, PLACEHOLDER_KIND, spots, masked))
        elif missing and not t.assertions and t.calls:
            body = node.child_by_field_name("body")
            statements = [c for c in body.named_children if c.type not in _COMMENTS]
            last = statements[-1]
            at = _after(parsed, last.end_byte)
            indent = _indent(parsed, last.start_byte)
            masked = node_text(node, parsed, [(at, at, "\n" + indent + PLACEHOLDER)])
            out.append(Target(f, t, MISSING_KIND, (Spot(at, at, indent),), masked))
    return out
