"""A small fixed set of mutants of a focal method, made by tree-sitter edits.

One mutant per operator at most, at the operator's first site in source order:
- relational: `<`→`<=`, `<=`→`<`, `>`→`>=`, `>=`→`>`, `==`→`!=`, `!=`→`==`
- arithmetic: `+`→`-`, `-`→`+`, `*`→`/`, `/`→`*`, `%`→`*`
- negate_condition: the condition of the first `if`, `while` or `?:` becomes `!(…)`
- return_constant: the first `return e;` returns 0, 0.0, false, '\\0' or null by the declared type
  (the next return when `e` already is that constant)
- remove_call: the first statement that is only a method call is removed
- remove_assignment: the first statement that is only an assignment is removed (setters, caches)

All mutants of a method are compiled at once, as a mutant schema: the method's original body and
each mutant's become methods `name$v0`, `name$v1`, … with the method's own header, and the method
itself dispatches on `tridentexec.Mutant.active`, which the runner sets. One class per example
serves every variant. A mutant that no reference assertion kills is dropped by the runner
(equivalent, or not observable by the test), as is one the test kills before its first assertion.
"""
from __future__ import annotations

from dataclasses import dataclass

import tree_sitter as ts

from trident import java

_RELATIONAL = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
_ARITHMETIC = {"+": "-", "-": "+", "*": "/", "/": "*", "%": "*"}
_CONSTANTS = {"int": "0", "long": "0", "short": "0", "byte": "0", "double": "0.0", "float": "0.0f",
              "boolean": "false", "char": "'\\0'"}
OPERATORS = ("relational", "arithmetic", "negate_condition", "return_constant", "remove_call", "remove_assignment")
_PREFIX = b"class __M {\n"
_SUFFIX = b"\n}"


@dataclass(frozen=True)
class Mutant:
    operator: str
    line: int  # 1-based line of the edit within the focal method
    source: str  # the mutated focal method


def _nodes(root: ts.Node) -> list[ts.Node]:
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(node.children))
    return out


def _operator(node: ts.Node) -> ts.Node | None:
    op = node.child_by_field_name("operator")
    return op if op is not None else (node.children[1] if node.child_count == 3 else None)


def _concatenates(node: ts.Node) -> bool:
    """A `+` with a string literal on either side (at any depth of a `+` chain) joins strings: its
    `-` would not compile."""
    for side in (node.child_by_field_name("left"), node.child_by_field_name("right")):
        if side is None:
            continue
        if side.type in ("string_literal", "text_block"):
            return True
        if side.type == "binary_expression" and (_operator(side) is not None and _operator(side).text == b"+") \
                and _concatenates(side):
            return True
    return False


def _sites(method: ts.Node) -> dict[str, tuple[int, int, bytes]]:
    """operator → (start byte, end byte, replacement) of its first site."""
    ret_type = method.child_by_field_name("type")
    constant = _CONSTANTS.get(ret_type.text.decode() if ret_type is not None else "", "null").encode()
    found: dict[str, tuple[int, int, bytes]] = {}
    for node in _nodes(method.child_by_field_name("body") or method):
        if node.type == "binary_expression":
            op = _operator(node)
            text = op.text.decode() if op is not None else ""
            if text in _RELATIONAL and "relational" not in found:
                found["relational"] = (op.start_byte, op.end_byte, _RELATIONAL[text].encode())
            elif text in _ARITHMETIC and "arithmetic" not in found and not (text == "+" and _concatenates(node)):
                found["arithmetic"] = (op.start_byte, op.end_byte, _ARITHMETIC[text].encode())
        elif node.type in ("if_statement", "while_statement", "ternary_expression") and "negate_condition" not in found:
            cond = node.child_by_field_name("condition")
            if cond is not None:
                inner = cond.named_children[0] if cond.type == "parenthesized_expression" and cond.named_child_count else cond
                found["negate_condition"] = (inner.start_byte, inner.end_byte, b"!(" + inner.text + b")")
        elif node.type == "return_statement" and node.named_child_count and "return_constant" not in found:
            expr = node.named_children[0]
            if expr.text != constant:
                found["return_constant"] = (expr.start_byte, expr.end_byte, constant)
        elif node.type == "expression_statement" and node.named_child_count == 1:
            kind = node.named_children[0].type
            if kind == "method_invocation" and "remove_call" not in found:
                found["remove_call"] = (node.start_byte, node.end_byte, b";")
            elif kind == "assignment_expression" and "remove_assignment" not in found:
                found["remove_assignment"] = (node.start_byte, node.end_byte, b";")
    return found


def _parse(method: str, kinds: tuple[str, ...] = ("method_declaration",),
           strict: bool = True) -> tuple[bytes, ts.Node | None]:
    """The method wrapped in a class, and its node: None when it is not one of `kinds`, or (when
    `strict`) does not parse cleanly."""
    data = _PREFIX + method.encode("utf-8") + _SUFFIX
    root = java.parse(data).root_node
    if strict and root.has_error:
        return data, None
    body = root.named_children[0].child_by_field_name("body")
    return data, next((m for m in body.named_children if m.type in kinds), None)


def _unwrap(data: bytes) -> str:
    return data[len(_PREFIX):-len(_SUFFIX)].decode("utf-8")


def mutants(focal_method: str) -> list[Mutant]:
    """The mutants of one focal method, in OPERATORS order; none when it does not parse."""
    data, method = _parse(focal_method, ("method_declaration", "constructor_declaration"))
    if method is None:
        return []
    sites = _sites(method)
    out, seen = [], {focal_method}
    for operator in OPERATORS:
        if operator not in sites:
            continue
        start, end, text = sites[operator]
        source = _unwrap(data[:start] + text + data[end:])
        if source not in seen:
            seen.add(source)
            line = data[len(_PREFIX):start].count(b"\n") + 1
            out.append(Mutant(operator, line, source))
    return out


def _header_and_params(method: ts.Node, data: bytes) -> tuple[bytes, bytes, list[str], bool]:
    """(text before the name, text from the parameters to the body, parameter names, returns void)."""
    name = method.child_by_field_name("name")
    body = method.child_by_field_name("body")
    params = method.child_by_field_name("parameters")
    names = []
    for p in params.named_children if params is not None else []:
        if p.type == "formal_parameter":
            names.append(p.child_by_field_name("name").text.decode())
        elif p.type == "spread_parameter":
            decl = next(c for c in p.named_children if c.type == "variable_declarator")
            names.append(decl.child_by_field_name("name").text.decode())
    ret = method.child_by_field_name("type")
    return (data[method.start_byte:name.start_byte], data[name.end_byte:body.start_byte], names,
            ret is not None and ret.type == "void_type")


@dataclass(frozen=True)
class Schema:
    source: str  # the dispatching method and one method per variant
    lines: tuple[tuple[int, int], ...]  # 1-based first and last line of each variant's method in `source`

    def variant_at(self, line: int) -> int | None:
        return next((k for k, (a, b) in enumerate(self.lines) if a <= line <= b), None)


def schema(focal_method: str, variants: list[str]) -> Schema | None:
    """One method standing for the original (`variants[0]`) and its mutants: see the module doc.
    None when the method cannot be dispatched (it does not parse, or is not a method with a body)."""
    data, method = _parse(focal_method)
    if method is None or method.child_by_field_name("body") is None:
        return None
    head, tail, params, void = _header_and_params(method, data)
    name = method.child_by_field_name("name").text.decode()
    args = ", ".join(params)
    out = []
    for k, source in enumerate(variants):
        v_body = _parse(source)[1].child_by_field_name("body").text.decode("utf-8")
        out.append(f"{head.decode()}{name}$v{k}{tail.decode()}{v_body}")
    cases = "\n".join(f"        case {k}: {'' if void else 'return '}{name}$v{k}({args});{' return;' if void else ''}"
                      for k in range(1, len(variants)))
    dispatch = (f"{head.decode()}{name}{tail.decode()}{{\n    switch (tridentexec.Mutant.active) {{\n{cases}\n"
                f"        default: {'' if void else 'return '}{name}$v0({args});\n    }}\n}}")
    lines, at = [], dispatch.count("\n") + 3  # the first variant starts after the dispatcher and a blank line
    for text in out:
        lines.append((at, at + text.count("\n")))
        at += text.count("\n") + 2
    return Schema("\n\n".join([dispatch, *out]), tuple(lines))


def rename_method(method: str, name: str) -> str:
    """The method with its name replaced (two copies of a test method in one class)."""
    data, node = _parse(method, strict=False)  # javac, not tree-sitter, judges the test
    if node is None:
        return method
    at = node.child_by_field_name("name")
    return _unwrap(data[:at.start_byte] + name.encode() + data[at.end_byte:])
