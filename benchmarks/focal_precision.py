"""How often the miner's focal method is the one a reader judged right, and how many labelled
tests it maps at all (benchmarks/focal_labels.jsonl; the labelling rule is in focal_labels.md).

    python benchmarks/focal_precision.py --checkouts /tmp/labels --mirrors /work/.mirror

Each labelled repository must be in DIR/<owner>+<name> at the labelled commit: a git clone whose
HEAD is that commit, or a tree this script checked out itself (it leaves the commit in
`.focal-commit`). With --mirrors, a missing or different checkout is made from the bare mirror
MIRRORS/<owner>+<name>[/repo] (`git --git-dir=M --work-tree=C checkout COMMIT -- .`).
To get the checkouts: `git clone https://github.com/<owner>/<name> DIR/<owner>+<name>` and
`git -C DIR/<owner>+<name> checkout <commit>` for each repository in the labels (--fetch-hint
prints these commands).

The repositories are mined with the miner's defaults into a temporary folder; each label is
matched to the record of the same repository, test file and test method (the line when a name
repeats in a file). Per focal rule (the record's `focal_rule`, "unknown" when records have none):
precision = records whose focal class, method name and parameter count are the label's, over the
labelled tests that became records; a record for a test labelled `none` (no single focal method)
counts as wrong. Mapping = labelled tests that became records over all labelled tests (each has
1–5 assertions). Both with 95% Wilson intervals. The table is printed and recorded in
benchmarks/results.json / results.md, section "focal-precision" (--no-record: print only).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from scipy.stats import binomtest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from trident.data.mining.assertions import parse_member  # noqa: E402
from trident.data.mining.miner import MineOptions, mine  # noqa: E402
from trident.errors import ConfigError, DataError  # noqa: E402

HERE = Path(__file__).resolve().parent
LABELS = HERE / "focal_labels.jsonl"
MARKER = ".focal-commit"
SECTION = "focal-precision"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Label:
    repo: str  # owner/name
    commit: str
    file: str  # test file, relative to the repository root
    line: int  # the test method's first line (its annotation), as the miner numbers it
    test_class: str
    test_method: str
    focal: tuple[str, str, int] | None  # (class simple name, method name, parameter count); None: no single focal method
    also: tuple[tuple[str, str, int], ...] = ()  # equally right answers (an override, the interface method)

    @property
    def accepted(self) -> set[tuple[str, str, int]]:
        return set() if self.focal is None else {self.focal, *self.also}

    @property
    def folder(self) -> str:
        return self.repo.replace("/", "+")


def _method(d: dict) -> tuple[str, str, int]:
    return str(d["class"]), str(d["method"]), int(d["params"])


def load_labels(path: Path) -> list[Label]:
    """The labels of `path`; a malformed line is an error naming the file and line."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read labels ({exc.strerror})") from None
    for no, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            d = json.loads(text)
            focal = None if d["focal"] == "none" else _method(d["focal"])
            also = tuple(_method(a) for a in d.get("also", ()))
            if focal is None and also:
                raise ValueError("a test labelled none has no other right answers")
            label = Label(repo=d["repo"], commit=d["commit"], file=d["file"], line=int(d["line"]),
                          test_class=d["test_class"], test_method=d["test_method"], focal=focal, also=also)
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}:{no}: not a label ({type(exc).__name__}: {exc})") from None
        if not _REPO.match(label.repo) or not _COMMIT.match(label.commit):
            raise DataError(f"{path}:{no}: repo must be owner/name and commit 40 hex digits")
        out.append(label)
    if not out:
        raise DataError(f"{path}: no labels")
    return out


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if done.returncode:
        raise ConfigError(f"git {' '.join(args)}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'failed'}")
    return done.stdout.strip()


def checkout_commit(checkout: Path) -> str | None:
    """The commit a checkout holds: its HEAD when it is a git work tree, else what this script noted."""
    if (checkout / ".git").exists():
        return _git("-C", str(checkout), "rev-parse", "HEAD")
    marker = checkout / MARKER
    return marker.read_text().strip() if marker.is_file() else None


def ensure_checkout(checkouts: Path, repo: str, commit: str, mirrors: Path | None) -> Path:
    """DIR/<owner>+<name> at `commit`, made from the mirror when one is given and it is not."""
    checkout = checkouts / repo.replace("/", "+")
    if checkout.is_dir() and checkout_commit(checkout) == commit:
        return checkout
    if mirrors is None:
        found = checkout_commit(checkout) if checkout.is_dir() else None
        raise ConfigError(f"{checkout}: " + (f"holds commit {found}, the labels were made at {commit}" if found else
                                             f"no checkout of {repo} at {commit} (give --mirrors, or see --fetch-hint)"))
    mirror = mirrors / repo.replace("/", "+")
    mirror = mirror / "repo" if (mirror / "repo").is_dir() else mirror
    if not mirror.is_dir():
        raise ConfigError(f"{mirror}: no mirror of {repo}")
    if (checkout / ".git").exists():
        raise ConfigError(f"{checkout}: a git clone at another commit; check out {commit} there yourself")
    checkout.mkdir(parents=True, exist_ok=True)
    # Blobs a snapshot lacks (large binaries) make git report errors while every other file is
    # written; the miner reads only .java files, so those must all be there.
    subprocess.run(["git", f"--git-dir={mirror}", f"--work-tree={checkout}", "checkout", commit, "--", "."],
                   capture_output=True, text=True)
    missing = [p for p in _git(f"--git-dir={mirror}", "ls-tree", "-r", "--name-only", commit).splitlines()
               if p.endswith(".java") and not (checkout / p).is_file()]
    if missing:
        raise ConfigError(f"{checkout}: {len(missing)} .java files of {commit} missing after checkout ({missing[0]})")
    (checkout / MARKER).write_text(commit + "\n")
    return checkout


def mined_records(roots: list[Path], workers: int = 0) -> list[dict]:
    """Every record the miner makes from `roots` (all splits), with its default options."""
    with tempfile.TemporaryDirectory(prefix="focal-precision-") as tmp:
        out = Path(tmp) / "mined"
        mine(roots, out, MineOptions(workers=workers), progress=False)
        return [json.loads(line) for split in ("train", "val", "test")
                for line in (out / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def param_count(method_source: str) -> int | None:
    parsed = parse_member(method_source)
    if parsed is None:
        return None
    params = parsed[1].child_by_field_name("parameters")
    return sum(1 for p in (params.named_children if params is not None else [])
               if p.type in ("formal_parameter", "spread_parameter"))


def mined_focal(record: dict) -> tuple[str, str, int | None]:
    return (record["focal_class"].rsplit(".", 1)[-1], record["focal_method_name"], param_count(record["focal_method"]))


def match(labels: list[Label], records: list[dict]) -> list[tuple[Label, dict | None]]:
    """Each label with its record (None when the miner made none for that test)."""
    by_test: dict[tuple[str, str, str], list[dict]] = {}
    for r in records:
        by_test.setdefault((r["repo"], r["test_file"], r["test_name"]), []).append(r)
    out = []
    for label in labels:
        found = by_test.get((label.folder, label.file, label.test_method), [])
        if len(found) > 1:  # the same name twice in a file (nested classes, overloads): the line tells them apart
            found = [r for r in found if r["id"].endswith(f":{label.line}")]
        out.append((label, found[0] if len(found) == 1 else None))
    return out


def correct(label: Label, record: dict) -> bool:
    return mined_focal(record) in label.accepted


def wilson(k: int, n: int) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def summarise(pairs: list[tuple[Label, dict | None]]) -> pd.DataFrame:
    """One row per focal rule and one for all: precision and mapping with their intervals."""
    rows = []
    mapped = [(lab, rec) for lab, rec in pairs if rec is not None]
    rules = sorted({rec.get("focal_rule") or "unknown" for _, rec in mapped})
    groups = [(rule, [(lab, rec) for lab, rec in mapped if (rec.get("focal_rule") or "unknown") == rule]) for rule in rules]
    for rule, group in [*groups, ("all", mapped)]:
        k = sum(correct(lab, rec) for lab, rec in group)
        low, high = wilson(k, len(group))
        row = {"rule": rule, "records": len(group), "correct": k, "labelled none": sum(lab.focal is None for lab, _ in group),
               "precision": k / len(group) if group else None, "precision 95% low": low, "precision 95% high": high}
        if rule == "all":
            mlow, mhigh = wilson(len(mapped), len(pairs))
            row.update({"labelled": len(pairs), "mapping": len(mapped) / len(pairs) if pairs else None,
                        "mapping 95% low": mlow, "mapping 95% high": mhigh})
        rows.append(row)
    table = pd.DataFrame(rows)
    table["labelled"] = table["labelled"].astype("Int64")  # a count: blank on the rule rows, not a float
    return table


def wrong(pairs: list[tuple[Label, dict | None]]) -> pd.DataFrame:
    """The records whose focal method is not the label's, for reading."""
    def fmt(f):
        return "none" if f is None else f"{f[0]}.{f[1]}/{f[2]}"
    rows = [{"repo": lab.repo, "test": f"{lab.test_class}.{lab.test_method}", "label": fmt(lab.focal),
             "mined": fmt(mined_focal(rec)), "rule": rec.get("focal_rule") or "unknown"}
            for lab, rec in pairs if rec is not None and not correct(lab, rec)]
    return pd.DataFrame(rows, columns=["repo", "test", "label", "mined", "rule"])


def per_repo(pairs: list[tuple[Label, dict | None]]) -> pd.DataFrame:
    df = pd.DataFrame([{"repo": lab.repo, "mapped": rec is not None, "correct": rec is not None and correct(lab, rec)}
                       for lab, rec in pairs])
    return df.groupby("repo", sort=True).agg(labelled=("mapped", "size"), mapped=("mapped", "sum"),
                                             correct=("correct", "sum")).reset_index()


def _miner_state() -> str:
    root = HERE.parent
    try:
        commit = _git("-C", str(root), "rev-parse", "--short", "HEAD")
        dirty = _git("-C", str(root), "status", "--porcelain", "--", "trident/data/mining")
    except ConfigError:
        return "miner: not in a git checkout"
    if not dirty:
        return f"miner at commit {commit}, trident/data/mining unchanged"
    # The uncommitted changes by digest, so two runs can tell whether they measured the same miner.
    diff = subprocess.run(["git", "-C", str(root), "diff", "HEAD", "--", "trident/data/mining"],
                          capture_output=True).stdout
    return (f"miner at commit {commit} with uncommitted changes in trident/data/mining "
            f"(diff sha256 {hashlib.sha256(diff).hexdigest()[:12]})")


def fetch_hint(labels: list[Label]) -> str:
    commits = dict.fromkeys((lab.repo, lab.commit) for lab in labels)
    return "\n".join(f"git clone -q https://github.com/{repo} DIR/{repo.replace('/', '+')} && "
                     f"git -C DIR/{repo.replace('/', '+')} checkout -q {commit}" for repo, commit in commits)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkouts", type=Path, help="folder of <owner>+<name> checkouts at the labelled commits")
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--mirrors", type=Path, help="folder of bare mirrors <owner>+<name>[/repo] to check out from")
    ap.add_argument("--workers", type=int, default=0, help="miner worker processes (0: one per core)")
    ap.add_argument("--fetch-hint", action="store_true", help="print the commands that make the checkouts, and stop")
    ap.add_argument("--no-record", action="store_true", help="print the table without recording it")
    args = ap.parse_args(argv)
    try:
        labels = load_labels(args.labels)
        if args.fetch_hint:
            print(fetch_hint(labels))
            return 0
        if args.checkouts is None:
            raise ConfigError("give --checkouts DIR (or --fetch-hint to see how to make it)")
        commits: dict[str, set] = {}
        for lab in labels:
            commits.setdefault(lab.repo, set()).add(lab.commit)
        twice = [r for r, c in commits.items() if len(c) > 1]
        if twice:
            raise DataError(f"{args.labels}: {twice[0]} is labelled at {len(commits[twice[0]])} commits; use one")
        roots = [ensure_checkout(args.checkouts, repo, c.pop(), args.mirrors) for repo, c in commits.items()]
        pairs = match(labels, mined_records(roots, args.workers))
    except (ConfigError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table, misses, repos = summarise(pairs), wrong(pairs), per_repo(pairs)
    state = _miner_state()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"\n{state}; {len(labels)} labels from {len(commits)} repositories")
        if len(misses):
            print("\nwrong focal methods:\n" + misses.to_string(index=False))
    if not args.no_record:
        sys.path.insert(0, str(HERE))
        from record import record  # benchmarks/record.py: results.json / results.md
        clean = lambda df: json.loads(df.to_json(orient="records"))  # noqa: E731  (NaN → null, numpy → plain)
        record(SECTION, {
            "note": f"{len(labels)} hand-labelled test methods (1–5 assertions) from {len(commits)} public repositories "
                    f"(benchmarks/focal_labels.md); {state}. Precision: records whose focal class, method and "
                    "parameter count are the label's (a record for a test labelled `none` is wrong); mapping: "
                    "labelled tests that became records. 95% Wilson intervals. Targets: precision ≥ 0.90, mapping ≥ 0.50.",
            "rows": clean(table),
            "tables": [{"title": "Per repository", "rows": clean(repos)},
                       {"title": "Wrong focal methods (label → mined)", "rows": clean(misses)}],
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())
