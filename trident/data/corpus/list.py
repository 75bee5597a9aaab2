"""The corpus list: one repository a line, `owner/name  commit  licence` (tab- or space-separated).

Blank lines and lines starting with `#` are passed over. The commit is a full 40-hex SHA so the
corpus is pinned: a branch or tag could move. The licence is the SPDX id the list's author
expects; the build compares it with the one detected in the repository's licence file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from trident.errors import DataError

_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-f]{40}")
_SPDX = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")


@dataclass(frozen=True)
class CorpusEntry:
    repo: str  # owner/name
    commit: str  # full SHA, lower case
    license: str  # SPDX id the list declares
    line: int  # where in the list, for messages

    @property
    def folder_name(self) -> str:
        """owner+name: one path part, unique per repository."""
        return self.repo.replace("/", "+")


def parse_list(text: str, source: str) -> list[CorpusEntry]:
    out: list[CorpusEntry] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{lineno}"
        parts = line.split()
        if len(parts) != 3:
            raise DataError(f"{where}: expected 3 fields (owner/name, commit, licence), got {len(parts)}: {line!r}")
        repo, commit, license = parts
        if not _REPO.fullmatch(repo) or ".." in repo:
            raise DataError(f"{where}: {repo!r} is not a repository name like owner/name")
        if not _SHA.fullmatch(commit.lower()):
            raise DataError(f"{where}: {commit!r} is not a full 40-hex commit SHA (pin the commit, not a branch or tag)")
        if not _SPDX.fullmatch(license):
            raise DataError(f"{where}: {license!r} is not an SPDX licence id like Apache-2.0 or MIT")
        if repo.lower() in seen:
            raise DataError(f"{where}: {repo} is listed twice (first at line {seen[repo.lower()]})")
        seen[repo.lower()] = lineno
        out.append(CorpusEntry(repo, commit.lower(), license, lineno))
    if not out:
        raise DataError(f"{source}: lists no repositories")
    return out


def read_list(path: str | Path) -> list[CorpusEntry]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such list file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_list(text, str(path))
