"""The user's tests → records, with the miner's own rules: files read and summarised as the
miner reads them (javafile), test methods as it lists them (JUnit 3 classes across all files),
the class index of the source roots, and `miner.link_test` for the focal class and method. A
test whose focal method cannot be found is reported with the miner's skip reason."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from trident.data.mining.focal import ClassIndex
from trident.data.mining.miner import in_test_root, java_files, junit3_classes, link_test, tests_of
from trident.data.records import Record
from trident.errors import ConfigError
from trident.suggest.targets import Problem, SourceFile, Target, find_targets, read_java


@dataclass(frozen=True)
class Job:
    """One method to generate for: where its assertions go and the record the model reads."""

    target: Target
    record: Record


@dataclass
class Linked:
    jobs: list[Job]
    problems: list[Problem]
    test_files: list[SourceFile]  # every test file read, in the order given (parsed or not)
    notes: list[Problem]  # source-root files that could not be read: their classes are not looked up


def _inputs(paths: list[Path]) -> list[Path]:
    """The .java files of the given files and folders (folders walked as the miner walks a
    repository: build and tool folders left out), each once, in the order given."""
    out, seen = [], set()
    for p in paths:
        if p.is_dir():
            found = java_files(p)
        elif p.is_file():
            found = [p]
        else:
            raise ConfigError(f"{p}: no such file or folder")
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                out.append(f)
    return out


def link(tests: list[Path], sources: list[Path], missing: bool) -> Linked:
    """Read the test files (placeholders allowed) and the source roots, and link every target
    test to its focal method."""
    for root in sources:
        if not root.is_dir():
            raise ConfigError(f"--source {root}: not a folder (give a source root, such as src/main/java)")
    test_paths = _inputs(tests)
    if not test_paths:
        raise ConfigError(f"no .java files in {', '.join(map(str, tests))}")
    source_paths = [p for root in sources for p in java_files(root)]
    # The miner's paths are relative to a repository root; here, to the folder holding every
    # input, so that src/test/java and src/main/java read as the miner reads them (test roots,
    # modules) and no folder above the project (say, one named `tests`) counts.
    base = Path(os.path.commonpath([str(p.resolve().parent) for p in [*test_paths, *source_paths]]))

    def rel(p: Path) -> str:
        return p.resolve().relative_to(base).as_posix()

    test_files = [read_java(p, str(p), rel(p), stand_ins=True) for p in test_paths]
    inputs = {p.resolve() for p in test_paths}
    others = [read_java(p, str(p), rel(p), stand_ins=False) for p in dict.fromkeys(source_paths)
              if p.resolve() not in inputs]
    problems = [f.problem for f in test_files if f.problem is not None]
    usable = [f.summary for f in [*test_files, *others] if f.summary is not None]
    junit3 = junit3_classes(usable)
    listed = {id(s): tests_of(s, junit3) for s in usable}
    index = ClassIndex(usable, lambda s: in_test_root(s.path) or bool(listed[id(s)]))
    repo = base.name or "project"
    jobs = []
    for f in test_files:
        if f.summary is None:
            continue
        for target in find_targets(f, listed[id(f.summary)], missing):
            t = target.test
            reason, row, _ = link_test(repo, f.summary, t, index)
            if reason:
                problems.append(Problem(f.display, t.line, f"no focal method found ({reason}): skipped", t.name))
                continue
            extra = {k: v for k, v in row.items() if k not in ("id", "focal_method", "test_method_masked", "assertions")}
            extra["test_file"] = f.display
            jobs.append(Job(target, Record(id=target.where, focal_method=row["focal_method"],
                                           test_method_masked=target.masked, assertions=[], extra=extra)))
    return Linked(jobs, problems, test_files, [f.problem for f in others if f.problem is not None])
