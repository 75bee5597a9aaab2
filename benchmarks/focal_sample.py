"""Draw the test methods to label for benchmarks/focal_labels.jsonl (see focal_labels.md).

The frame is every test method the miner's parser finds in a checkout (JUnit 3/4/5, TestNG)
with 1–5 assertions, whether or not the miner maps it to a focal method: sampling the miner's
own records would hide the tests it fails to map. Per repository, `random.Random(seed)` draws
`--per-repo` of them from the frame sorted by (file, line).

    python benchmarks/focal_sample.py --checkouts /tmp/labels --per-repo 7 > /tmp/candidates.txt

Each candidate is printed with its coordinates and the test's source lines, for a reader to
judge; nothing is written into the repository.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

from trident.data.mining.javafile import JavaFile, TestMethod, read_and_summarise
from trident.data.mining.miner import java_files

MIN_ASSERTIONS, MAX_ASSERTIONS = 1, 5


def _testcase_classes(files: list[JavaFile]) -> set[str]:
    """Simple names of classes whose superclass chain within the repository reaches TestCase
    (JUnit 3), as the miner counts them."""
    parent = {c.name: c.superclass for f in files for c in f.classes}
    out = set()
    for name in parent:
        seen, cur = set(), parent.get(name)
        while cur is not None and cur not in seen:
            if cur == "TestCase":
                out.add(name)
                break
            seen.add(cur)
            cur = parent.get(cur)
    return out


def frame(checkout: Path) -> list[tuple[JavaFile, TestMethod]]:
    """(file, test) for every test method with 1–5 assertions, sorted by file and line."""
    files = [read_and_summarise(p, p.relative_to(checkout).as_posix()) for p in java_files(checkout)]
    files = [f for f in files if not f.error]
    junit3 = _testcase_classes(files)
    out = []
    for f in sorted(files, key=lambda f: f.path):
        tests = [*f.tests, *(t for t in f.junit3 if t.class_name in junit3)]
        out += [(f, t) for t in sorted(tests, key=lambda t: t.line)
                if MIN_ASSERTIONS <= len(t.assertions) <= MAX_ASSERTIONS]
    return out


def _method_lines(path: Path, line: int) -> list[str]:
    """The test's source from its declaration line to the brace that closes it (a reading aid)."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[line - 1:]
    out, depth, opened = [], 0, False
    for text in lines:
        out.append(text)
        if text.lstrip().startswith("@"):  # an annotation's braces (`@ValueSource(ints = {1})`) open no body
            continue
        depth += text.count("{") - text.count("}")
        opened = opened or "{" in text
        if opened and depth <= 0:
            break
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkouts", required=True, type=Path, help="folder of <owner>+<name> checkouts")
    ap.add_argument("--per-repo", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-lines", type=int, default=24, help="print at most this many lines of each test")
    ap.add_argument("--repos", nargs="*", help="only these <owner>+<name> folders")
    ap.add_argument("--mirrors", type=Path, help="folder of <owner>+<name>/repo bare mirrors the checkouts "
                    "came from (their HEAD is the commit), for checkouts without a .git")
    args = ap.parse_args(argv)
    for checkout in sorted(p for p in args.checkouts.iterdir() if p.is_dir()):
        if args.repos and checkout.name not in args.repos:
            continue
        owner, _, name = checkout.name.partition("+")
        git = ["--git-dir", str(args.mirrors / checkout.name / "repo")] if args.mirrors else ["-C", str(checkout)]
        commit = subprocess.run(["git", *git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip() or None
        tests = frame(checkout)
        for f, t in random.Random(args.seed).sample(tests, min(args.per_repo, len(tests))):
            head = {"repo": f"{owner}/{name}", "commit": commit, "file": f.path, "line": t.line,
                    "test_class": t.class_name, "test_method": t.name, "frame": len(tests)}
            print("=" * 8, json.dumps(head))
            lines = _method_lines(checkout / f.path, t.line)
            print("\n".join(lines[:args.max_lines] + ([f"    … {len(lines) - args.max_lines} more lines"]
                                                       if len(lines) > args.max_lines else [])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
