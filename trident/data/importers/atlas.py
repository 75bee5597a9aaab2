"""ATLAS (Watson et al., 2020): parallel text files, one case per line.

Layout: SOURCE/{Training,Eval,Testing}/ (or train/val/test), each with `testMethods.txt` and
`assertLines.txt`. Line N of testMethods.txt is a test method whose assertion was replaced by
`"<AssertPlaceHolder>"`, followed by its focal method, on one line of space-separated tokens;
line N of assertLines.txt is that assertion.

The input is cut where the test method ends: at the `}` that closes its first `{`, counting
braces outside string and character literals. What follows is the focal method. The quoted
placeholder (with its `;`) becomes trident's `<AssertPlaceHolder>;`, and an assertion without a
final `;` gets one. The tokens keep ATLAS's spacing; trident's metrics compare Java tokens, so
the spacing does not change a score.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from trident.data.importers.registry import ImportOptions, Imported, Item
from trident.data.records import PLACEHOLDER
from trident.errors import BadRecord, DataError

SPLIT_DIRS = (("Training", "train"), ("Eval", "val"), ("Testing", "test"), ("train", "train"), ("val", "val"),
              ("test", "test"))
_QUOTED = re.compile(r'"<AssertPlaceHolder>"\s*;?')


def end_of_test_method(text: str) -> int | None:
    """Index just after the `}` closing the first `{`, outside literals; None if it never closes."""
    depth, i, opened = 0, 0, False
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i += 1
            while i < len(text) and text[i] != c:
                i += 2 if text[i] == "\\" else 1
        elif c == "{":
            depth, opened = depth + 1, True
        elif c == "}":
            depth -= 1
            if opened and depth == 0:
                return i + 1
        i += 1
    return None


def split_input(text: str, path: Path, line: int) -> tuple[str, str]:
    """(masked test method, focal method) of one testMethods.txt line."""
    if '"<AssertPlaceHolder>"' not in text:
        raise BadRecord(path, line, "no_placeholder", 'no "<AssertPlaceHolder>" in the test method')
    # Cut on the text with the placeholder already swapped: its quotes would read as a literal.
    masked_all = _QUOTED.sub(PLACEHOLDER, text.strip())
    end = end_of_test_method(masked_all)
    if end is None:
        raise BadRecord(path, line, "unbalanced_braces", "the test method's braces never close")
    test, focal = masked_all[:end].strip(), masked_all[end:].strip()
    if PLACEHOLDER not in test:
        raise BadRecord(path, line, "no_placeholder", "the placeholder is not inside the test method")
    if not focal:
        raise BadRecord(path, line, "no_focal_method", "nothing follows the test method (no focal method)")
    return test, focal


def _lines(path: Path) -> list[str | None]:
    """The file's lines, each decoded alone (None for one that is not UTF-8): one bad line is one
    bad record, skipped and counted under --skip-bad-records like the other importers' lines."""
    raw = path.read_bytes().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    out: list[str | None] = []
    for line in raw:
        try:
            out.append(line.removesuffix(b"\r").decode("utf-8"))
        except UnicodeDecodeError:
            out.append(None)
    return out


def read(source: Path, options: ImportOptions) -> Iterator[Item]:
    dirs = [(source / name, split) for name, split in SPLIT_DIRS if (source / name).is_dir()]
    if not dirs:
        raise DataError(f"{source}: no Training/, Eval/ or Testing/ folder (ATLAS layout)")
    for folder, split in dirs:
        inputs, outputs = folder / "testMethods.txt", folder / "assertLines.txt"
        for f in (inputs, outputs):
            if not f.is_file():
                raise DataError(f"{f}: missing (ATLAS pairs testMethods.txt with assertLines.txt)")
        tests, asserts = _lines(inputs), _lines(outputs)
        if len(tests) != len(asserts):
            # Misaligned files would pair every later test with the wrong assertion: never skip this.
            raise DataError(f"{inputs} has {len(tests)} lines but {outputs} has {len(asserts)}: "
                            "the files must be parallel, line for line")
        for n, (text, assertion) in enumerate(zip(tests, asserts), start=1):
            try:
                for f, value in ((inputs, text), (outputs, assertion)):
                    if value is None:
                        raise BadRecord(f, n, "not_utf8", "not UTF-8 text")
                test, focal = split_input(text, inputs, n)
                if not assertion.strip():
                    raise BadRecord(outputs, n, "empty_assertion", "empty assertion line")
            except BadRecord as bad:
                yield bad
                continue
            assertion = assertion.strip()
            yield Imported(split, {
                "id": f"atlas/{folder.name}:{n}",
                "focal_method": focal,
                "test_method_masked": test,
                "assertions": [assertion if assertion.endswith(";") else assertion + " ;"],
            })
