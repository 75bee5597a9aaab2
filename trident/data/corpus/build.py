"""`trident data corpus build LIST --out DIR`: every listed repository at its pinned commit, mined
with `trident data mine`'s rules, near-duplicates across repositories removed (the first in
list order is kept), each record labelled with its repository's licence, split by repository.

Repositories are fetched, written out (their .java and licence files only) and mined one at a
time in a work folder beside DIR, each removed before the next: the disk holds one repository at a
time. The records are kept in memory until all are mined; DIR is written aside and renamed into place.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from trident.data.corpus.dedup import HASHING, Dedup
from trident.data.corpus.fetch import DEFAULT_URL, extract, fetch, local_copy, remote_url
from trident.data.corpus.licences import detect
from trident.data.corpus.list import CorpusEntry, read_list
from trident.data.mining.miner import MINED_FILES, MineOptions, mine
from trident.data.mining.splits import SPLITS, assign
from trident.errors import ConfigError, DataError, TridentError
from trident.io import atomic_write_json, atomic_write_jsonl, replacing_folder


@dataclass(frozen=True)
class CorpusOptions:
    mine: MineOptions = MineOptions()  # its ratios and seed split the corpus by repository
    source: Path | None = None  # --from: local copies instead of the URL
    url: str = DEFAULT_URL  # {repo}, {owner}, {name}


@dataclass
class RepoStats:
    repo: str
    commit: str
    license: str  # what the records carry: the detected id, or the declared one when none is recognised
    license_declared: str
    license_detected: str | None
    license_file: str | None
    java_files: int = 0
    test_methods: int = 0
    mined: int = 0  # records the miner wrote for this repository alone
    duplicates_removed: int = 0  # of those, near-duplicates of an earlier record (this or an earlier repository)
    duplicates_of: dict = field(default_factory=dict)  # repository that kept the record → count
    records: int = 0  # what the corpus holds
    split: str | None = None
    skipped: dict = field(default_factory=dict)  # the miner's reasons
    unusable_files: int = 0
    missing_files: list = field(default_factory=list)  # in the tree, but the copy lacks their content: not mined


@dataclass
class CorpusStats:
    list_file: str
    repositories: list[RepoStats]
    records: dict = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    duplicates_removed: int = 0
    warnings: list[str] = field(default_factory=list)
    hashing: str = HASHING
    seconds: float = 0.0


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"--out {out_dir} is a file, not a folder")
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in MINED_FILES)
        if foreign:
            raise ConfigError(f"--out {out_dir} holds other files than a corpus' ({', '.join(foreign[:3])}"
                              f"{', …' if len(foreign) > 3 else ''}): give a new or empty folder")


def _licence_warning(s: RepoStats) -> str | None:
    if s.license_detected is None:
        what = f"{s.license_file} is not a licence text trident recognises" if s.license_file else "no LICENSE or COPYING file"
        return f"{s.repo}: {what}; its records carry the listed {s.license_declared}"
    if s.license_detected != s.license_declared:
        return f"{s.repo}: the list says {s.license_declared}, {s.license_file} is {s.license_detected} (records carry {s.license_detected})"
    return None


def _missing_warning(s: RepoStats) -> str | None:
    if not s.missing_files:
        return None
    more = f" and {len(s.missing_files) - 3} more" if len(s.missing_files) > 3 else ""
    return (f"{s.repo}: {len(s.missing_files)} files in the commit's tree are not in the copy, not mined: "
            f"{', '.join(s.missing_files[:3])}{more}")


def _mine_one(entry: CorpusEntry, local: Path | None, url: str, work: Path, options: MineOptions,
              progress: bool) -> tuple[RepoStats, list[dict]]:
    fetched = fetch(entry, url, work / f"{entry.folder_name}.git") if local is None else None
    root = work / entry.folder_name
    missing = extract(entry, local if local is not None else fetched, root)
    if fetched is not None:
        shutil.rmtree(fetched)
    licence = detect(root)
    stats = RepoStats(entry.repo, entry.commit, licence.spdx or entry.license, entry.license, licence.spdx, licence.file)
    mined_dir = work / f"{entry.folder_name}.mined"
    # One group and every record in train: the corpus splits by repository afterwards.
    try:
        mined = mine([root], mined_dir, replace(options, ratios=(1.0, 0.0, 0.0), group_by="repo"), progress=progress)
    except TridentError as exc:  # e.g. no .java files at that commit: say which repository
        raise DataError(f"{entry.repo}: {exc}") from None
    stats.java_files, stats.test_methods = mined.java_files, mined.test_methods
    stats.skipped, stats.unusable_files = mined.skipped, len(mined.unusable_files)
    stats.missing_files = missing
    records = []
    prefix = f"{root.name}/"
    for split in SPLITS:
        with (mined_dir / f"{split}.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                # The miner names a repository by its folder (owner+name); the corpus by owner/name.
                r["id"] = entry.repo + "/" + r["id"][len(prefix):] if r["id"].startswith(prefix) else r["id"]
                r["repo"] = entry.repo
                r["license"] = stats.license
                records.append(r)
    stats.mined = len(records)
    shutil.rmtree(root)
    shutil.rmtree(mined_dir)
    return stats, records


def build_corpus(list_path: str | Path, out_dir: str | Path, options: CorpusOptions = CorpusOptions(),
                 progress: bool = True, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> CorpusStats:
    """Build the corpus of `list_path` into `out_dir`/{train,val,test}.jsonl and stats.json."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    entries = read_list(list_path)
    _check_out_dir(out_dir)
    if options.source is not None and not options.source.is_dir():
        raise ConfigError(f"--from {options.source}: not a folder")
    # Every local copy is found before the first is fetched: a missing one is said at once.
    locals_ = [local_copy(e, options.source) if options.source is not None else None for e in entries]
    urls = [remote_url(e, options.url) for e in entries]  # a bad --url template is said before any work
    stats = CorpusStats(list_file=str(list_path), repositories=[])
    dedup = Dedup()
    kept: dict[str, list[dict]] = {}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.work-") as work:
        for i, (entry, local, url) in enumerate(zip(entries, locals_, urls), start=1):
            repo_stats, records = _mine_one(entry, local, url, Path(work), options.mine, progress)
            kept[entry.repo] = [r for r in records if dedup.keep(entry.repo, r)]
            repo_stats.records = len(kept[entry.repo])
            repo_stats.duplicates_removed = dedup.removed[entry.repo]
            repo_stats.duplicates_of = dict(dedup.removed_as.get(entry.repo, {}))
            stats.repositories.append(repo_stats)
            stats.warnings += [w for w in (_licence_warning(repo_stats), _missing_warning(repo_stats)) if w]
            log(f"[{i}/{len(entries)}] {entry.repo} @ {entry.commit[:12]}: {repo_stats.records} records "
                f"({repo_stats.duplicates_removed} duplicates removed), {repo_stats.license}")
    where = assign({repo: len(rs) for repo, rs in kept.items() if rs}, options.mine.ratios, options.mine.seed)
    for s in stats.repositories:
        s.split = where.get(s.repo)
    stats.duplicates_removed = sum(s.duplicates_removed for s in stats.repositories)
    with replacing_folder(out_dir) as tmp:
        for split in SPLITS:
            rows = [r for e in entries if where.get(e.repo) == split for r in kept[e.repo]]
            atomic_write_jsonl(tmp / f"{split}.jsonl", rows)
            stats.records[split] = len(rows)
        stats.seconds = round(time.perf_counter() - started, 3)
        atomic_write_json(tmp / "stats.json", {**asdict(stats), "options": {
            "mine": asdict(options.mine), "from": str(options.source) if options.source else None, "url": options.url}})
    return stats


def format_stats(stats: CorpusStats, out_dir: str | Path) -> str:
    """The console summary."""
    repos = stats.repositories
    lines = [f"{len(repos)} repositories, {sum(s.mined for s in repos)} records mined, "
             f"{stats.duplicates_removed} near-duplicates removed, in {stats.seconds:.1f} s",
             "records: " + ", ".join(f"{s} {stats.records[s]} ({sum(1 for r in repos if r.split == s)} repositories)"
                                     for s in SPLITS)]
    empty = [r.repo for r in repos if not r.records]
    if empty:
        lines.append(f"no records from {len(empty)}: {', '.join(empty[:5])}{', …' if len(empty) > 5 else ''}")
    lines += [f"warning: {w}" for w in stats.warnings]
    lines.append(f"written: {Path(out_dir) / 'train.jsonl'} (and val, test, stats.json)")
    return "\n".join(lines)
