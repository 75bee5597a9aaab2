"""`trident data mine`: Java source trees → train/val/test records, stats.json and a summary.

Each file is read and parsed once, in worker processes (javafile.summarise); linking tests to
focal methods, filtering, de-duplication and the split happen afterwards in this process, where
the whole repository is known.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from trident.data.mining.focal import ClassIndex, class_signatures, focal_method
from trident.data.mining.javafile import CONSTRUCTOR, JavaFile, TestMethod, read_and_summarise
from trident.data.mining.splits import SPLITS, assign
from trident.errors import ConfigError
from trident.io import atomic_write_json, atomic_write_jsonl, replacing_folder

# Build output and tool folders: generated or copied sources there would duplicate the real ones.
MINED_FILES = frozenset({"train.jsonl", "val.jsonl", "test.jsonl", "stats.json"})  # what --out holds after a mining
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "target", "build", "out", "node_modules", ".gradle", ".idea"})
# A path part that marks a test source root (Maven/Gradle src/test/java, plain test/ or tests/ trees).
TEST_DIRS = frozenset({"test", "tests", "androidTest", "testFixtures", "integrationTest"})
GROUP_BY = ("auto", "repo", "package", "class", "focal-class")
_TESTCASE_BASES = frozenset({"TestCase"})


@dataclass(frozen=True)
class MineOptions:
    min_assertions: int = 1
    max_assertions: int = 5
    max_chars: int = 10_000  # focal method + masked test + assertions; 0 = no limit
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    workers: int = 0  # 0 = one per CPU core
    max_file_bytes: int = 4_000_000  # larger .java files are skipped (generated code, data), and counted
    group_by: str = "auto"  # auto: repo with several roots, else focal-class

    def __post_init__(self) -> None:
        if not 0 <= self.min_assertions <= self.max_assertions:
            raise ConfigError(f"--min-assertions ({self.min_assertions}) must be between 0 and "
                              f"--max-assertions ({self.max_assertions})")
        if self.max_chars < 0 or self.workers < 0 or self.max_file_bytes < 0:
            raise ConfigError("--max-chars, --workers and --max-file-bytes must be non-negative")
        if self.group_by not in GROUP_BY:
            raise ConfigError(f"--group-by must be one of {', '.join(GROUP_BY)}, got {self.group_by!r}")


@dataclass
class MineStats:
    roots: list[str]
    group_by: str
    java_files: int = 0
    files_over_max_bytes: int = 0  # skipped for --max-file-bytes (also named in unusable_files)
    unusable_files: list[dict] = field(default_factory=list)  # {"file", "error"}: parse errors, not UTF-8, unreadable
    test_methods: int = 0
    test_factories: int = 0  # @TestFactory methods, not test methods with assertions of their own
    records: dict = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    groups: dict = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    skipped: dict = field(default_factory=dict)
    assertion_kinds: dict = field(default_factory=dict)
    frameworks: dict = field(default_factory=dict)
    focal_rules: dict = field(default_factory=dict)  # records per focal-method rule (focal.FOCAL_RULES)
    parse_failures: dict = field(default_factory=dict)  # repo → files the Java grammar could not parse
    seconds: float = 0.0
    files_per_second: float = 0.0
    records_per_second: float = 0.0


def java_files(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".java"))
    return out


def in_test_root(rel: str) -> bool:
    return any(part in TEST_DIRS for part in rel.split("/")[:-1])


def _repo_names(roots: list[Path]) -> list[str]:
    names, seen = [], Counter()
    for r in roots:
        base = r.resolve().name or "repo"
        seen[base] += 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


def _summaries(jobs: list[tuple[Path, str]], workers: int, progress: bool) -> list[JavaFile]:
    bar = tqdm(total=len(jobs), unit="file", desc="parsing", disable=not progress, leave=False)
    try:
        if workers == 1 or len(jobs) < 64:
            out = []
            for path, rel in jobs:
                out.append(read_and_summarise(path, rel))
                bar.update()
            return out
        with ProcessPoolExecutor(max_workers=workers) as pool:
            out = []
            chunk = max(1, min(64, len(jobs) // (workers * 8)))
            for summary in pool.map(read_and_summarise, [p for p, _ in jobs], [r for _, r in jobs], chunksize=chunk):
                out.append(summary)
                bar.update()
            return out
    finally:
        bar.close()


def junit3_classes(files: list[JavaFile]) -> set[str]:
    """Simple names of classes whose superclass chain (within the repository) reaches TestCase."""
    parent = {c.name: c.superclass for f in files for c in f.classes}
    out = set()
    for name in parent:
        seen, cur = set(), name
        while cur is not None and cur not in seen:
            seen.add(cur)
            cur = parent.get(cur) if cur not in _TESTCASE_BASES else None
            if cur in _TESTCASE_BASES:
                out.add(name)
                break
    return out


def tests_of(f: JavaFile, junit3: set[str]) -> list[TestMethod]:
    """The file's test methods in line order: annotated ones, and JUnit 3 candidates whose class is in `junit3`."""
    return sorted([*f.tests, *(t for t in f.junit3 if t.class_name in junit3)], key=lambda t: t.line)


def _qualified(package: str, name: str) -> str:
    return f"{package}.{name}" if package else name


def mine(roots: list[str | Path], out_dir: str | Path, options: MineOptions = MineOptions(),
         progress: bool = True) -> MineStats:
    """Mine `roots` into `out_dir`/{train,val,test}.jsonl and stats.json; returns the stats."""
    roots = [Path(r) for r in roots]
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError(f"--out {out_dir} is a file, not a folder")
    if Path(out_dir).is_dir():  # it is replaced whole: it may hold an earlier mining, and nothing else
        foreign = sorted(p.name for p in Path(out_dir).iterdir() if p.name not in MINED_FILES)
        if foreign:
            raise ConfigError(f"--out {out_dir} holds other files than a mining's ({', '.join(foreign[:3])}"
                              f"{', …' if len(foreign) > 3 else ''}): give a new or empty folder")
    for r in roots:
        if not r.is_dir():
            raise ConfigError(f"{r}: not a folder (give the root of a Java source tree)")
    started = time.perf_counter()
    repos = _repo_names(roots)
    # A test class maps to one focal class, so focal-class groups keep test classes whole too, and
    # also keep two test classes of one focal class (FooTest, Foo_ParsingTest) on the same side.
    group_by = options.group_by if options.group_by != "auto" else ("repo" if len(roots) > 1 else "focal-class")
    stats = MineStats(roots=[str(r) for r in roots], group_by=group_by)
    found = [(p, repo, p.relative_to(root).as_posix()) for root, repo in zip(roots, repos) for p in java_files(root)]
    if not found:
        raise ConfigError(f"no .java files under {', '.join(map(str, roots))}: nothing to mine (give the root of a "
                          "Java source tree)")
    jobs = []
    for p, repo, rel in found:
        size = p.stat().st_size if options.max_file_bytes else 0
        if size > options.max_file_bytes:
            stats.files_over_max_bytes += 1
            stats.unusable_files.append({"file": f"{repo}/{rel}",
                                         "error": f"{size} bytes, over --max-file-bytes={options.max_file_bytes}"})
        else:
            jobs.append((p, repo, rel))
    stats.java_files = len(found)
    workers = options.workers or os.cpu_count() or 1
    summaries = _summaries([(p, rel) for p, _, rel in jobs], workers, progress)
    by_repo: dict[str, list[JavaFile]] = {repo: [] for repo in repos}
    for (_, repo, _), summary in zip(jobs, summaries):
        by_repo[repo].append(summary)

    skipped: Counter = Counter()
    kinds: Counter = Counter()
    frameworks: Counter = Counter()
    rules: Counter = Counter()
    seen: set = set()
    rows: list[tuple[str, dict]] = []  # (group, record)
    for repo, files in by_repo.items():
        for f in files:
            if f.error:
                stats.unusable_files.append({"file": f"{repo}/{f.path}", "error": f.error})
        stats.parse_failures[repo] = sum(1 for f in files if (f.error or "").startswith("parse error"))
        usable = [f for f in files if not f.error]
        junit3 = junit3_classes(usable)
        tests = {f.path: tests_of(f, junit3) for f in usable}
        index = ClassIndex(usable, lambda f: in_test_root(f.path) or bool(tests[f.path]))
        for f in usable:
            stats.test_factories += f.test_factories
            for t in tests[f.path]:
                stats.test_methods += 1
                reason, record, mapped = _record(repo, f, t, index, options, seen)
                if reason:
                    skipped[reason] += 1
                    continue
                kinds.update(t.kinds)
                frameworks[t.framework] += 1
                rules[record["focal_rule"]] += 1
                group = {"repo": repo, "package": f"{repo}:{f.package}", "class": f"{repo}:{record['test_class']}",
                         "focal-class": f"{repo}:{mapped}"}[group_by]
                rows.append((group, record))

    sizes = Counter(g for g, _ in rows)
    where = assign(dict(sizes), options.ratios, options.seed)
    stats.skipped = dict(sorted(skipped.items()))
    stats.assertion_kinds = dict(sorted(kinds.items()))
    stats.frameworks = dict(sorted(frameworks.items()))
    stats.focal_rules = dict(sorted(rules.items()))
    # The whole folder is written aside and renamed into place: a kill leaves the earlier mining whole.
    with replacing_folder(out_dir) as tmp:
        for split in SPLITS:
            records = [r for g, r in rows if where[g] == split]
            atomic_write_jsonl(tmp / f"{split}.jsonl", records)
            stats.records[split] = len(records)
            stats.groups[split] = sum(1 for g in sizes if where[g] == split)
        stats.seconds = round(time.perf_counter() - started, 3)
        stats.files_per_second = round(stats.java_files / max(stats.seconds, 1e-9), 1)
        stats.records_per_second = round(len(rows) / max(stats.seconds, 1e-9), 1)
        atomic_write_json(tmp / "stats.json", {**asdict(stats), "options": asdict(options)})
    return stats


def _record(repo: str, f: JavaFile, t: TestMethod, index: ClassIndex, options: MineOptions,
            seen: set) -> tuple[str | None, dict | None, str | None]:
    """Why the test is skipped, or its record and the focal class its test class maps to (the
    record's focal class is the implementing one when the mapped class's method is abstract)."""
    n = len(t.assertions)
    if n == 0:
        return "no_assertion", None, None
    if n < options.min_assertions:
        return "too_few_assertions", None, None
    if n > options.max_assertions:
        return "too_many_assertions", None, None
    if t.multiline_literal:
        return "text_block_in_assertion", None, None
    reason, record, mapped = link_test(repo, f, t, index)
    if reason:
        return reason, None, None
    if options.max_chars and any(len(a) > options.max_chars for a in t.assertions):
        return "assertion_too_long", None, None  # say, an assertThrows whose lambda holds the whole test
    if options.max_chars and len(record["focal_method"]) + len(t.masked) + sum(map(len, t.assertions)) > options.max_chars:
        return "too_long", None, None
    key = (record["focal_method"], t.masked, t.assertions)
    if key in seen:
        return "duplicate", None, None
    seen.add(key)
    return None, record, mapped


def link_test(repo: str, f: JavaFile, t: TestMethod, index: ClassIndex) -> tuple[str | None, dict | None, str | None]:
    """The focal-method rules alone, without the miner's filters (assertion counts, lengths,
    duplicates): why the test has no focal method, or its record and the focal class its test
    class maps to. `trident generate` links a user's tests with it, so both read tests alike."""
    focal, reason = index.find(f, t.top_level)
    if focal is None:
        return reason, None, None
    linked = focal_method(t, focal, index)
    if linked.method is None:
        return linked.reason, None, None
    mapped = _qualified(focal.file.package, focal.decl.name)
    focal = linked.focal  # the implementing class when the focal class's method is abstract
    return None, {
        "id": f"{repo}/{f.path}:{t.line}",
        "focal_method": linked.method.source,
        "test_method_masked": t.masked,
        "assertions": list(t.assertions),
        "focal_context": class_signatures(focal),
        "repo": repo,
        "test_file": f.path,
        "test_class": _qualified(f.package, t.top_level),
        "test_name": t.name,
        "focal_file": focal.file.path,
        "focal_class": _qualified(focal.file.package, focal.decl.name),
        "focal_method_name": CONSTRUCTOR if linked.method.constructor else linked.method.name,
        "focal_rule": linked.rule,
        "framework": t.framework,
        "assertion_kinds": list(t.kinds),
    }, mapped


def format_stats(stats: MineStats, out_dir: str | Path) -> str:
    """The console summary."""
    lines = [f"mined {stats.java_files} Java files in {stats.seconds:.2f} s "
             f"({stats.files_per_second:.0f} files/s, {stats.records_per_second:.0f} records/s)",
             f"test methods: {stats.test_methods}"
             + (f" (and {stats.test_factories} @TestFactory methods, not mined)" if stats.test_factories else ""),
             "records: " + ", ".join(f"{s} {stats.records[s]} ({stats.groups[s]} {stats.group_by} groups)" for s in SPLITS)]
    if stats.skipped:
        lines.append("skipped: " + ", ".join(f"{k} {v}" for k, v in stats.skipped.items()))
    if stats.focal_rules:
        lines.append("focal rules: " + ", ".join(f"{k} {v}" for k, v in stats.focal_rules.items()))
    if stats.assertion_kinds:
        lines.append("assertion kinds: " + ", ".join(f"{k} {v}" for k, v in stats.assertion_kinds.items()))
    if stats.unusable_files:
        lines.append(f"files not used: {len(stats.unusable_files)}")
        lines += [f"  {u['file']}: {u['error']}" for u in stats.unusable_files[:10]]
        if len(stats.unusable_files) > 10:
            lines.append(f"  … {len(stats.unusable_files) - 10} more in stats.json")
    empty = [s for s in SPLITS if not stats.records[s]]
    if empty and sum(stats.records.values()):
        lines.append(f"warning: no records in {', '.join(empty)}: too few {stats.group_by} groups for the split")
    lines.append(f"written: {Path(out_dir) / 'train.jsonl'} (and val, test, stats.json)")
    return "\n".join(lines)
