"""Execution metrics of a split: records + predictions → per-example results and the three rates.

`compile_rate` and `pass_rate` are shares of the executable records (those whose reference
assertions compile and pass); `mutation_score` is the mean, over the executable records with at
least one mutant their reference kills, of the share of those mutants the prediction kills. Where
no record is executable (other data, or no Java) the rates are None, shown as n/a, never 0.
"""
from __future__ import annotations

from typing import Sequence

from trident.data.records import Record
from trident.metrics import EXECUTION_KEYS
from trident.execution.execute import Example, ExecResult, execute

EXEC_KEYS = EXECUTION_KEYS


def examples(records: Sequence[Record], predictions: Sequence[str]) -> list[Example]:
    """The executable records as examples (records without an `executable` field are left out)."""
    found = (Example.of(record, prediction) for record, prediction in zip(records, predictions))
    return [example for example in found if example is not None]


def rates(results: Sequence[ExecResult]) -> dict[str, float | None]:
    ran = [r for r in results if r.executable]
    with_mutants = [r for r in ran if r.mutants]
    return {
        "compile_rate": sum(r.compiles for r in ran) / len(ran) if ran else None,
        "pass_rate": sum(r.passes for r in ran) / len(ran) if ran else None,
        "mutation_score": (sum(r.killed_mutants / r.mutants for r in with_mutants) / len(with_mutants)
                           if with_mutants else None),
        "executable_records": len(ran),
    }


def execute_predictions(records: Sequence[Record], predictions: Sequence[str], progress: bool = False,
                        timeout_s: float = 2.0) -> tuple[list[ExecResult], dict[str, float | None]]:
    results = execute(examples(records, predictions), timeout_s=timeout_s, progress=progress) if records else []
    return results, rates(results)
