"""A repository's files at its pinned commit, from a local copy (`--from DIR`) or a URL.

A URL is fetched into a new bare repository: a shallow `git fetch` of exactly the pinned commit
(a full fetch when the server refuses a commit by SHA). A local copy, a checkout or a bare
repository, is read in place and never changed; it may be at any commit, or dirty. Either way only
what mining reads is written out from the pinned commit's tree: the .java files and the licence
files at the root (git ls-tree + cat-file), so resources, binaries and symlinks cost no disk, and
a blob the repository lacks (a partial copy) is listed instead of failing the build.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from trident.data.corpus.licences import LICENCE_FILE
from trident.data.corpus.list import CorpusEntry
from trident.errors import ConfigError, DataError

DEFAULT_URL = "https://github.com/{repo}.git"
# A network git must fail, not ask for a password: a private or missing repository asks one.
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "GCM_INTERACTIVE": "never"}
_FILE_MODES = ("100644", "100755")  # not symlinks (120000) nor submodules (160000)


def local_candidates(entry: CorpusEntry, source: Path) -> list[Path]:
    """Where `--from DIR` may hold the repository, in the order they are tried."""
    owner, name = entry.repo.split("/")
    return [source / owner / name, source / entry.folder_name, source / owner / f"{name}.git",
            source / f"{entry.folder_name}.git"]


def _is_git(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def local_copy(entry: CorpusEntry, source: Path) -> Path:
    """`entry`'s checkout or bare repository under `source`; a DataError naming the places looked at."""
    for path in local_candidates(entry, source):
        if _is_git(path):
            return path
    looked = ", ".join(str(p) for p in local_candidates(entry, source)[:2])
    raise DataError(f"{entry.repo}: no git checkout or bare repository in --from {source} (looked for {looked}, "
                    "and the same with .git)")


def remote_url(entry: CorpusEntry, template: str) -> str:
    owner, name = entry.repo.split("/")
    try:
        return template.format(repo=entry.repo, owner=owner, name=name)
    except (KeyError, IndexError) as exc:
        raise ConfigError(f"--url {template!r}: {exc} is not a placeholder it can fill "
                          "(use {repo}, {owner}, {name}; double a literal brace)") from None
    except ValueError as exc:
        raise ConfigError(f"--url {template!r}: {exc}") from None


def _git(repo: Path, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True,
                          env={**os.environ, **_GIT_ENV}, check=False)


def _last_line(result: subprocess.CompletedProcess) -> str:
    text = (result.stderr or result.stdout).decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"


def fetch(entry: CorpusEntry, url: str, dest: Path) -> Path:
    """A new bare repository at `dest` holding `entry`'s commit from `url`; a one-line DataError."""
    dest.mkdir(parents=True)
    init = _git(dest, ["init", "-q", "--bare"])
    if init.returncode:
        raise DataError(f"{entry.repo}: git init failed: {_last_line(init)}")
    fetched = _git(dest, ["fetch", "-q", "--depth", "1", url, entry.commit])
    if fetched.returncode:  # servers that refuse a bare SHA: fetch every ref, then look for it
        fetched = _git(dest, ["fetch", "-q", url, "+refs/*:refs/remotes/src/*"])
        if fetched.returncode:
            raise DataError(f"{entry.repo}: git fetch from {url} failed: {_last_line(fetched)}")
    return dest


def _wanted(path: str) -> bool:
    return path.endswith(".java") or ("/" not in path and bool(LICENCE_FILE.fullmatch(path)))


def extract(entry: CorpusEntry, repo: Path, dest: Path) -> list[str]:
    """Write the .java files and root licence files of `entry.commit` in `repo` under `dest`;
    return the paths whose content `repo` lacks (not written)."""
    found = _git(repo, ["cat-file", "-e", f"{entry.commit}^{{commit}}"])
    if found.returncode:
        raise DataError(f"{entry.repo}: commit {entry.commit} is not in {repo}")
    tree = _git(repo, ["ls-tree", "-r", "-z", "--full-tree", entry.commit])
    if tree.returncode:
        raise DataError(f"{entry.repo}: cannot list commit {entry.commit} in {repo}: {_last_line(tree)}")
    blobs = []
    for item in tree.stdout.split(b"\0"):
        if not item:
            continue
        meta, _, raw_path = item.partition(b"\t")
        mode, kind, oid = meta.decode().split()
        path = raw_path.decode("utf-8", "surrogateescape")
        if kind == "blob" and mode in _FILE_MODES and _wanted(path):
            blobs.append((oid, path))
    batch = _git(repo, ["cat-file", "--batch"], stdin="".join(f"{oid}\n" for oid, _ in blobs).encode())
    if batch.returncode:
        raise DataError(f"{entry.repo}: reading files of {entry.commit} failed: {_last_line(batch)}")
    out, pos, missing = batch.stdout, 0, []
    for oid, path in blobs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if header[-1] == b"missing":
            missing.append(path)
            continue
        size = int(header[2])
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(out[pos:pos + size])
        pos += size + 1  # the content, then a newline
    dest.mkdir(parents=True, exist_ok=True)
    return missing
