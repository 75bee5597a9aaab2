"""The `exec` reward: run a sampled assertion list as the self-critical term's reward.

Each text is put into its record's test and run like `trident evaluate --execute` does; its score
is the pass-and-kill score (ExecResult.score: 0 unless the test passes, then 1/2 + 1/2 · the share
of mutants killed). A text that asserts nothing scores 0 without being run: it must hold at least
one assertion statement and nothing else (the `assertion_validity` rule), or an empty test, a
comment or `int x = 1;` would pass and be paid for asserting nothing. A record without an
`executable` field, or whose reference assertions do not pass (evaluation leaves those out too),
scores 0 for its sample and its baseline alike, so it adds no gradient. One JVM serves the whole
training process.
"""
from __future__ import annotations

import atexit

import torch

from trident.execution.execute import Example, execute
from trident.execution.jvm import JVM
from trident.metrics import asserts_only

_jvm: JVM | None = None


def _shared_jvm() -> JVM:
    global _jvm
    if _jvm is None:
        _jvm = JVM(timeout_s=2.0).__enter__()
        atexit.register(_jvm.close)
    return _jvm


def exec_score(texts, references, gold, cfg, device, records=()) -> torch.Tensor:
    rows, examples = [], []
    for i, (text, record) in enumerate(zip(texts, records)):
        example = Example.of(record, text, f"{record.id}#{i}") if asserts_only(text) else None
        if example is not None:
            rows.append(i)
            examples.append(example)
    scores = torch.zeros(len(texts), device=device)
    for i, result in zip(rows, execute(examples, jvm=_shared_jvm()) if examples else ()):
        if result.executable:
            scores[i] = result.score()
    return scores
