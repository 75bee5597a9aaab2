"""Java literals and source templates: how Python values are written as Java (strings with
every escape, chars, doubles without float noise, lists, int arrays), and the integer bounds.
"""
from __future__ import annotations

import textwrap
from string import Template
from typing import Callable


PLACEHOLDER = "<AssertPlaceHolder>;"
INDENT = "    "
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# --------------------------------------------------------------------------- Java literals

_STR_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def jstr(s: str | None) -> str:
    """Java string literal for `s` (`null` for None)."""
    if s is None:
        return "null"
    out = []
    for ch in s:
        if ch in _STR_ESCAPES:
            out.append(_STR_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            # \\uXXXX would be decoded before lexing and could break the literal; never generate these.
            raise ValueError(f"unsupported control character {ord(ch):#x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def jchar(c: str) -> str:
    if c == "'":
        return "'\\''"
    if c == "\\":
        return "'\\\\'"
    return f"'{c}'"


def jdouble(x: float, tolerance: float = 1e-7) -> str:
    """Shortest fixed-point literal within `tolerance` of x, always with a decimal point."""
    for places in range(1, 10):
        if abs(round(x, places) - x) <= tolerance:
            break
    s = f"{x:.{places}f}".rstrip("0")
    if s.endswith("."):
        s += "0"
    return "0.0" if s == "-0.0" else s


def jlist(values: list, lit: Callable = str, style: str = "Arrays.asList") -> str:
    return f"{style}({', '.join(lit(v) for v in values)})"


def jint_array(values: list[int]) -> str:
    return "new int[]{" + ", ".join(map(str, values)) + "}"


def java_template(template: str, **names: str) -> str:
    """Dedented Java from a `$name` template; `$` never occurs in the Java we generate."""
    return Template(textwrap.dedent(template).strip("\n")).substitute(names)
