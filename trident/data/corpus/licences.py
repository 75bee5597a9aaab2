"""A repository's licence as an SPDX id, from the text of its LICENSE / COPYING file.

Each licence has a phrase that its text states near the top (its title, or for the short
licences a sentence of their grant). The licence whose phrase comes first in the file wins, so
a LICENSE that appends third-party notices (an Apache-2.0 file quoting an MIT notice) is the
licence it opens with. Texts are compared lower-cased with runs of white space as one space.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# (SPDX id, phrase). Versioned families capture the version; see _spdx.
_PHRASES: list[tuple[str, str]] = [
    ("Apache-2.0", r"apache license,? version 2\.0"),
    ("Apache-1.1", r"the apache software license,? version 1\.1"),
    ("EPL", r"eclipse public license,? ?-? ?v(?:ersion)? ?\.? ?([12])\.0"),
    ("MPL-2.0", r"mozilla public license,? (?:version|v\.?) ?2\.0"),
    ("AGPL-3.0", r"gnu affero general public license"),
    ("LGPL", r"gnu (?:lesser|library) general public license,? version (2\.1|2|3)"),
    ("GPL", r"gnu general public license,? version ([23])"),
    ("MIT", r"permission is hereby granted, free of charge, to any person obtaining a copy"),
    ("ISC", r"permission to use, copy, modify, and(?:/or)? distribute this software for any purpose with or "
            r"without fee is hereby granted"),
    ("BSD", r"redistribution and use in source and binary forms, with or without modification, are permitted"),
    ("Unlicense", r"this is free and unencumbered software released into the public domain"),
]
_COMPILED = [(spdx, re.compile(phrase)) for spdx, phrase in _PHRASES]
# The BSD licences differ by their third clause: no endorsement using the authors' names.
_BSD_THIRD_CLAUSE = re.compile(r"neither the name|may not be used to endorse or promote|be used to endorse or promote")
# Looked for in the repository root, case-insensitively, in this order.
LICENCE_FILE = re.compile(r"(?:licen[cs]e|copying)(?:[-._][\w.-]*)?", re.IGNORECASE)


@dataclass(frozen=True)
class Licence:
    spdx: str | None  # None: no file, or no phrase recognised
    file: str | None  # the file it was read from (relative to the root)


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def _spdx(family: str, match: re.Match, text: str) -> str:
    if family == "EPL":
        return f"EPL-{match.group(1)}.0"
    if family in ("LGPL", "GPL"):
        version = match.group(1)
        return f"{family}-{version if '.' in version else version + '.0'}"
    if family == "BSD":
        return "BSD-3-Clause" if _BSD_THIRD_CLAUSE.search(text, match.end()) else "BSD-2-Clause"
    return family


def detect_text(text: str) -> str | None:
    """The SPDX id of a licence text, or None when no phrase of the table is in it."""
    norm = _normalise(text)
    found = [(m.start(), spdx, m) for spdx, pattern in _COMPILED if (m := pattern.search(norm))]
    if not found:
        return None
    _, family, match = min(found, key=lambda f: f[0])
    return _spdx(family, match, norm)


def _order(path: Path) -> tuple[int, str]:
    name = path.name.lower()
    stem = name.split(".")[0]
    # COPYING.LESSER beside COPYING: the LGPL is the repository's licence, COPYING the GPL it refers to.
    # LICENSE-asm.txt, licence-header-template.txt: a bundled library's or a template, read last.
    rank = 0 if stem in ("license", "licence") else 1 if stem == "copying" and "lesser" in name else \
        2 if stem == "copying" else 3
    return rank, name


def detect(root: str | Path) -> Licence:
    """The licence of the repository checked out at `root`: the first licence file whose text is
    recognised, in the order LICENSE / LICENCE (any extension), COPYING.LESSER, COPYING, then
    other names starting so (LICENSE-asm.txt)."""
    files = sorted((p for p in Path(root).iterdir() if p.is_file() and LICENCE_FILE.fullmatch(p.name)), key=_order)
    for path in files:
        spdx = detect_text(path.read_text(encoding="utf-8", errors="replace"))
        if spdx:
            return Licence(spdx, path.name)
    return Licence(None, files[0].name if files else None)
