"""Records from shapes, and the corpus on disk: masked test rendering, the 80/10/10 split, and the
split files written atomically through trident.io.
"""
from __future__ import annotations

import random
from pathlib import Path

from trident.io import atomic_write_jsonl
from trident.data.synth.literals import INDENT, PLACEHOLDER
from trident.data.synth.builder import Case
from trident.data.synth.shapes import SHAPES


SPLITS = ("train", "val", "test")

# --------------------------------------------------------------------------- records


def render_test(rng: random.Random, case: Case) -> str:
    """The masked JUnit 5 test method of a case."""
    lines = list(case.body)
    first = lines.index(PLACEHOLDER)
    # Arrange/act/assert blocks are often separated by a blank line.
    if 0 < first and rng.random() < 0.3:
        lines.insert(first, "")
    header = "@Test\n" + ("public void " if rng.random() < 0.15 else "void ") + case.test_name + "() {"
    return header + "\n" + "\n".join(INDENT + line if line else "" for line in lines) + "\n}"


def unmask(test_method_masked: str, assertions: list[str]) -> str:
    """Puts the assertions back where the placeholders are, in order."""
    parts = test_method_masked.split(PLACEHOLDER)
    if len(parts) - 1 != len(assertions):
        raise ValueError(f"{len(parts) - 1} placeholders but {len(assertions)} assertions")
    out = [parts[0]]
    for assertion, rest in zip(assertions, parts[1:]):
        out += [assertion, rest]
    return "".join(out)


def make_record(rng: random.Random, shape: str, index: int) -> dict:
    case = SHAPES[shape](rng)
    if not 1 <= len(case.assertions) <= 3 or case.body.count(PLACEHOLDER) != len(case.assertions):
        raise AssertionError(f"shape {shape} built a malformed case: {case}")
    return {
        "id": f"synth-{index:06d}",
        "focal_method": case.focal_method,
        "test_method_masked": render_test(rng, case),
        "assertions": list(case.assertions),
        # What `trident evaluate --execute` needs to compile and run the test (trident.execution).
        "executable": {"class_name": case.class_name, "members": list(case.members), "support": list(case.support)},
    }


def generate_labelled(n: int, seed: int) -> list[tuple[str, dict]]:
    """(shape name, record) pairs; the shape name is for coverage checks, not part of the record."""
    rng = random.Random(seed)
    names = list(SHAPES)
    out = []
    for i in range(n):
        shape = rng.choice(names)
        out.append((shape, make_record(rng, shape, i)))
    return out


def generate_records(n: int, seed: int) -> list[dict]:
    return [record for _, record in generate_labelled(n, seed)]


def split_sizes(n: int) -> dict[str, int]:
    """80/10/10, with any remainder going to train."""
    val = test = n // 10
    return {"train": n - val - test, "val": val, "test": test}


def write_splits(out_dir: str | Path, n: int, seed: int) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = generate_records(n, seed)
    # A separate stream, so the split does not shift when generation draws change.
    random.Random(f"trident-split-{seed}").shuffle(records)
    paths: dict[str, Path] = {}
    start = 0
    for name, size in split_sizes(n).items():
        paths[name] = out / f"{name}.jsonl"
        atomic_write_jsonl(paths[name], records[start:start + size])  # a reader never sees half a split
        start += size
    return paths
