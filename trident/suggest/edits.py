"""Putting suggestions into the files: which suggestion, where its lines go, the diff, the write.

A method gets the best-ranked suggestion whose every line parses as a Java statement; when none
does, the method is left as it was and reported, so no file is made unparsable. Lines go to the
method's spots in order: placeholder k gets line k, and the lines past the last placeholder
follow it, one per line; a placeholder the suggestion has no line for stays, and is reported. For
a test that asserted nothing, every line goes after its last statement. Each line is indented
like the statement it replaces or follows, with the file's own line ending. The edited file is
parsed again (placeholders left read as statements) and, should it not parse, not changed.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from trident import java
from trident.data.mining.javafile import summarise
from trident.io import atomic_write_text
from trident.suggest.suggestions import Suggestion
from trident.suggest.targets import MARKER, STAND_IN, Problem, SourceFile, Spot, Target


@dataclass(frozen=True)
class Choice:
    """What a method gets: the suggestion used (its rank) and the text for each spot."""

    target: Target
    rank: int | None  # index among the suggestions; None: none usable
    fills: tuple[tuple[Spot, str], ...]
    problem: Problem | None = None


def valid(s: Suggestion) -> bool:
    return bool(s.lines) and all(java.is_valid_statement(line) for line in s.lines)


def choose(target: Target, suggestions: list[Suggestion]) -> Choice:
    where = (target.file.display, target.test.line)
    rank = next((i for i, s in enumerate(suggestions) if valid(s)), None)
    if rank is None:
        best = suggestions[0].text if suggestions else ""
        return Choice(target, None, (), Problem(*where, f"no suggestion parses as Java statements (best: {best!r}): "
                                                  "left as it was", target.test.name))
    lines = suggestions[rank].lines
    nl = target.file.newline
    spots = target.spots
    if spots[0].insert:
        spot = spots[0]
        return Choice(target, rank, ((spot, "".join(nl + spot.indent + line for line in lines)),))
    fills = [(spot, line) for spot, line in zip(spots, lines)]
    if len(lines) > len(spots):
        last, text = fills[-1]
        fills[-1] = (last, text + "".join(nl + last.indent + line for line in lines[len(spots):]))
    problem = None
    if len(lines) < len(spots):
        problem = Problem(*where, f"the suggestion has {len(lines)} assertion(s) for {len(spots)} placeholders: "
                                  f"the last {len(spots) - len(lines)} left as they were", target.test.name)
    return Choice(target, rank, tuple(fills), problem)


def apply(source: bytes, fills: list[tuple[Spot, str]]) -> bytes:
    """`source` with each spot's bytes replaced (or, for an insertion point, followed) by its text."""
    out, pos = [], 0
    for spot, text in sorted(fills, key=lambda f: f[0].start):
        out += [source[pos:spot.start], text.encode("utf-8")]
        pos = spot.end
    out.append(source[pos:])
    return b"".join(out)


def parse_error(source: bytes) -> str | None:
    """Why the Java grammar cannot read `source` (placeholders read as statements), as the miner
    says it ("parse error at line N"), or None."""
    return summarise(source.replace(MARKER, STAND_IN), "edited").error


@dataclass(frozen=True)
class Edited:
    file: SourceFile
    text: str  # the new text, as it would be on disk
    problem: Problem | None = None  # the edited text would not parse: the file keeps its text


def edit_file(f: SourceFile, choices: list[Choice]) -> Edited:
    fills = [fill for c in choices for fill in c.fills]
    new = apply(f.source, fills)
    error = parse_error(new)
    if error is not None:  # a guard: each line parsed alone, which does not prove the file does
        line = int(error.rsplit(" ", 1)[1]) if error.startswith("parse error at line") else 1
        return Edited(f, f.text, Problem(f.display, line, f"the edited file would not parse ({error}): not changed"))
    return Edited(f, ("\ufeff" if f.bom else "") + new.decode("utf-8"))


def unified_diff(f: SourceFile, new_text: str) -> str:
    old = f.text.splitlines(keepends=True)
    new = new_text.splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, fromfile=f"a/{f.display}", tofile=f"b/{f.display}"))


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".orig")


def write_file(f: SourceFile, new_text: str, backup: bool) -> Problem | None:
    """Replace the file atomically (same permissions), after copying it to `<file>.orig` when
    `backup`. An existing backup is never overwritten: the file is then left alone and reported."""
    if backup:
        orig = backup_path(f.path)
        if orig.exists():
            return Problem(f.display, 1, f"{orig} already exists: not overwritten, and the file not changed "
                                         "(move the backup away, or pass --no-backup)")
        atomic_write_text(orig, f.text)
    mode = f.path.stat().st_mode & 0o7777
    atomic_write_text(f.path, new_text)
    os.chmod(f.path, mode)
    return None
