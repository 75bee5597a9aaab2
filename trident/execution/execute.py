"""Run predicted assertions: compile each example's test with them, run it on the focal class and
on its mutants, in one JVM for the whole batch.

Per example: `compiles` (the test with the predicted assertions compiles), `passes` (and passes on
the focal class), `killed_mutants` / `mutants` (the mutants the reference assertions kill, and how
many of them the predicted assertions kill: passing on the original and failing on the mutant),
and `error`, the first compiler or test error. An example whose reference assertions do not pass
is not executable and counts in no rate.

Each example is three source files in its own package: the focal class holding every mutant at
once (mutants.schema), a reference class with two test methods (the test with the reference
assertions, and the same test with none, which tells a mutant the assertions catch from one the
test's own setup trips over), and the prediction's class. Three runs, each one launcher execution
per mutant variant: everything on the original; the reference class on the mutants; the
prediction on the mutants the reference kills, for predictions that passed.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from trident.execution.jvm import JVM, Outcome
from trident.execution.mutants import Schema, mutants, rename_method, schema
from trident.execution.sources import Executable, fill, focal_class, predicted_lines, test_class

REFERENCE, PREDICTION = "RefTest", "PredTest"
WITH, WITHOUT = "withAssertions", "withoutAssertions"  # the reference class's two test methods
_LINE = re.compile(r"^line (\d+):")


@dataclass(frozen=True)
class Example:
    id: str
    focal_method: str
    test_method_masked: str
    executable: Executable
    reference: tuple[str, ...]
    prediction: str  # the model's text: one assertion per line

    @staticmethod
    def of(record, prediction: str, example_id: str | None = None) -> "Example | None":
        """The example of a Record and a prediction; None when the record is not executable."""
        exe = Executable.of(record)
        if exe is None:
            return None
        return Example(record.id if example_id is None else example_id, record.focal_method,
                       record.test_method_masked, exe, tuple(record.assertions), prediction)


@dataclass(frozen=True)
class ExecResult:
    id: str
    executable: bool  # the reference assertions compile and pass
    compiles: bool
    passes: bool
    killed_mutants: int
    mutants: int
    error: str  # the prediction's first compiler or test error; "" when it passes

    def score(self) -> float:
        """Pass-and-kill score in [0, 1]: 0 unless the test passes, then 1/2 + 1/2 · the share of
        mutants killed (1 when the method has no mutant the reference kills)."""
        if not self.passes:
            return 0.0
        return 1.0 if not self.mutants else 0.5 + 0.5 * self.killed_mutants / self.mutants

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Prepared:
    package: str
    focal: Path
    variants: list[str]  # 0: the original focal method, then the mutants still in the schema
    schema: Schema | None
    focal_line: int  # where the focal method starts in the focal file


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _write_focal(prep: _Prepared, ex: Example) -> None:
    prep.schema = schema(ex.focal_method, prep.variants) if len(prep.variants) > 1 else None
    text, prep.focal_line = focal_class(prep.package, ex.executable,
                                        prep.schema.source if prep.schema else ex.focal_method)
    _write(prep.focal, text)


def _outcome(results: dict, cls: str, method: str) -> Outcome:
    """A test method's outcome, or its class's failure when the class could not run."""
    found = results.get(cls, {})
    return found.get(method) or found.get("") or Outcome("error", "no result")


def _single(results: dict, cls: str) -> Outcome:
    """The outcome of a one-method test class: its method's, or the class's own failure."""
    found = list(results.get(cls, {}).values())
    failed = [o for o in found if not o.passes]
    return failed[0] if failed else (found[0] if found else Outcome("error", "no result"))


def execute(examples: Sequence[Example], timeout_s: float = 2.0, mutant_timeout_s: float = 0.3,
            progress: bool = False, workdir: str | Path | None = None, jvm: JVM | None = None) -> list[ExecResult]:
    """Execute every example's prediction; one result per example, in order. `timeout_s` bounds a
    test on the original focal method, `mutant_timeout_s` one on a mutant (mutants that loop are
    common, and a synthetic test takes milliseconds). A caller that executes often passes its own
    running `jvm`; otherwise one is started for the call."""
    if not examples:
        return []
    if jvm is None:
        with JVM(timeout_s, workdir) as own:
            return execute(examples, timeout_s, mutant_timeout_s, progress, workdir, own)
    bar = tqdm(total=4, desc="executing", unit="step", disable=not progress, leave=False)
    with jvm.workspace() as tmp:  # inside the only folder the sandboxed JVM may write
        root, classes = Path(tmp), Path(tmp) / "classes"
        preps: list[_Prepared] = []
        sources: list[Path] = []
        for i, ex in enumerate(examples):
            pkg = f"ex{i}"
            prep = _Prepared(pkg, root / "src" / pkg / f"{ex.executable.class_name}.java",
                             [ex.focal_method, *(m.source for m in mutants(ex.focal_method))], None, 0)
            _write_focal(prep, ex)
            reference = fill(ex.test_method_masked, list(ex.reference))
            without = fill(ex.test_method_masked, [])
            sources += [prep.focal,
                        _write(root / "src" / pkg / f"{REFERENCE}.java", test_class(
                            pkg, REFERENCE, rename_method(reference, WITH), rename_method(without, WITHOUT))),
                        _write(root / "src" / pkg / f"{PREDICTION}.java", test_class(
                            pkg, PREDICTION, fill(ex.test_method_masked, predicted_lines(ex.prediction))))]
            preps.append(prep)
        errors = jvm.compile(sources, classes)
        # A mutant that does not compile takes its whole class down: drop it (the error names its
        # line) and compile the class again, until the class compiles or only the original is left.
        for _ in range(8):
            broken = [(i, p) for i, p in enumerate(preps) if str(p.focal) in errors and len(p.variants) > 1]
            if not broken:
                break
            again = []
            for i, p in broken:
                m = _LINE.match(errors[str(p.focal)])
                k = p.schema.variant_at(int(m.group(1)) - p.focal_line + 1) if m and p.schema else None
                p.variants = p.variants[:1] if not k else p.variants[:k] + p.variants[k + 1:]
                _write_focal(p, examples[i])
                again += [p.focal, root / "src" / p.package / f"{REFERENCE}.java",
                          root / "src" / p.package / f"{PREDICTION}.java"]
            for path in again:
                errors.pop(str(path), None)
            errors.update(jvm.compile(again, classes))
        bar.update()

        def runnable(i: int, role: str) -> bool:
            return str(preps[i].focal) not in errors and str(root / "src" / preps[i].package / f"{role}.java") not in errors

        n = len(examples)
        first = jvm.run([f"{preps[i].package}.{role}" for i in range(n) for role in (REFERENCE, PREDICTION)
                         if runnable(i, role)], timeout_s=timeout_s)
        bar.update()
        ok = [runnable(i, REFERENCE) and _outcome(first, f"{preps[i].package}.{REFERENCE}", WITH).passes
              and _outcome(first, f"{preps[i].package}.{REFERENCE}", WITHOUT).passes for i in range(n)]
        kept: dict[int, list[int]] = defaultdict(list)
        for k in range(1, max((len(p.variants) for p in preps), default=1)):
            group = [i for i in range(n) if ok[i] and k < len(preps[i].variants)]
            out = jvm.run([f"{preps[i].package}.{REFERENCE}" for i in group], variant=k, timeout_s=mutant_timeout_s)
            for i in group:
                cls = f"{preps[i].package}.{REFERENCE}"
                # Killed by the assertions: the test without them still passes on the mutant.
                if _outcome(out, cls, WITHOUT).passes and not _outcome(out, cls, WITH).passes:
                    kept[i].append(k)
        bar.update()

        def predicted(i: int) -> Outcome:
            if not runnable(i, PREDICTION):
                focal_error = errors.get(str(preps[i].focal))
                if focal_error:
                    return Outcome("compile_error", f"the focal class does not compile: {focal_error}")
                return Outcome("compile_error", errors[str(root / "src" / preps[i].package / f"{PREDICTION}.java")])
            return _single(first, f"{preps[i].package}.{PREDICTION}")

        killed: dict[int, int] = defaultdict(int)
        for k in range(1, max((len(p.variants) for p in preps), default=1)):
            group = [i for i in range(n) if k in kept[i] and predicted(i).passes]
            out = jvm.run([f"{preps[i].package}.{PREDICTION}" for i in group], variant=k, timeout_s=mutant_timeout_s)
            for i in group:
                killed[i] += not _single(out, f"{preps[i].package}.{PREDICTION}").passes
        bar.update()
        bar.close()
        results = []
        for i, ex in enumerate(examples):
            pred = predicted(i)
            results.append(ExecResult(id=ex.id, executable=ok[i], compiles=pred.compiles, passes=pred.passes,
                                      killed_mutants=killed[i], mutants=len(kept[i]),
                                      error="" if pred.passes else pred.message or pred.status))
        return results
