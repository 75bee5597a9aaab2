"""The synthetic corpus written out as a Java source tree, for the miner's round-trip test and
its speed benchmark: records → Maven-layout files that `trident data mine` reads back.

Record i becomes package `synth.r<i>` with `src/main/java/.../<Class>.java` (the focal method)
and `src/test/java/.../<Class>Test.java` (the test with its assertions put back), where <Class>
is the class the test instantiates.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Iterable

from trident import java
from trident.data.synth.writer import unmask


def _indent(text: str, spaces: int = 4) -> str:
    return textwrap.indent(text, " " * spaces)


def focal_class_name(test_source: str, method: str | None = None) -> str:
    """The class of a static call to `method` (`Foo.method(...)`: the miner takes no other class's
    method as the focal one), else the first class the test instantiates (`new Foo(...)`), else
    the first capitalised call receiver."""
    tree = java.parse(b"class __T {\n" + test_source.encode("utf-8") + b"\n}")
    stack, receiver, created = [tree.root_node], None, None
    while stack:
        node = stack.pop()
        if method and node.type == "method_invocation" and node.child_by_field_name("name").text.decode() == method:
            obj = node.child_by_field_name("object")
            if obj is not None and obj.type == "identifier" and obj.text[:1].isupper():
                return obj.text.decode()
        if node.type == "object_creation_expression":
            t = node.child_by_field_name("type")
            if t is not None and t.type == "type_identifier" and created is None:
                created = t.text.decode()
        if receiver is None and node.type == "method_invocation":
            obj = node.child_by_field_name("object")
            if obj is not None and obj.type == "identifier" and obj.text[:1].isupper():
                receiver = obj.text.decode()
        stack.extend(reversed(node.children))
    return created or receiver or "Focal"


def write_java_tree(records: Iterable[dict], root: str | Path) -> int:
    """Write each record as a focal class and a test class under `root`; returns the file count."""
    root = Path(root)
    files = 0
    for i, r in enumerate(records):
        test = unmask(r["test_method_masked"], r["assertions"])
        called = re.search(r"(\w+)\s*\(", r["focal_method"])
        name = focal_class_name(test, called.group(1) if called else None)
        package = f"synth.r{i:06d}"
        rel = Path(*package.split("."))
        main = root / "src/main/java" / rel / f"{name}.java"
        tests = root / "src/test/java" / rel / f"{name}Test.java"
        main.parent.mkdir(parents=True, exist_ok=True)
        tests.parent.mkdir(parents=True, exist_ok=True)
        main.write_text(f"package {package};\n\nimport java.util.*;\n\npublic class {name} {{\n\n"
                        f"{_indent(r['focal_method'])}\n}}\n", encoding="utf-8")
        tests.write_text(f"package {package};\n\nimport static org.junit.jupiter.api.Assertions.*;\n\n"
                         f"import java.util.*;\nimport org.junit.jupiter.api.Test;\n\n"
                         f"class {name}Test {{\n\n{_indent(test)}\n}}\n", encoding="utf-8")
        files += 2
    return files
