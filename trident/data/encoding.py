"""Encoding records into token ids; teacher and student share it.

source = [bos] + focal method + [sep] + masked test method + [eos]
target = assertions joined by "\\n" + [eos]

With `data.focal_context=class-signatures` the focal method is followed by a newline and the
record's `focal_context` (methods2test's FM_FC_MS: the focal class's name, fields, constructor
and public method signatures), before the separator. The context is cut first, then the focal
method, then the masked test.

`sep` is the tokenizer's separator token (`<sep>` for the trained preset tokenizer, `</s>`
for CodeT5+); `bos` is added only where the tokenizer defines one (CodeT5+'s `<s>`). When the
source is too long the focal method is cut first (from its end): the masked test holds the
placeholders the assertions must fill, so it is the part the model cannot do without. When the
masked test alone does not fit, it is cut by whole lines around its placeholders: every line
holding a placeholder is kept, then as many lines as fit going up from the last placeholder
(the context the assertions check), then, if the top was reached, the lines after it.

Every cut is counted (`Truncation`), so a run can say how much of its data it did not see.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Sequence

from transformers import PreTrainedTokenizerBase

from trident import java
from trident.data.records import PLACEHOLDER, Record
from trident.errors import DataError

_MARKER = PLACEHOLDER.rstrip(";")  # "<AssertPlaceHolder>", however the statement is spaced


@dataclass
class Truncation:
    """What encoding one split cut, in records."""

    records: int = 0
    source_cut: int = 0  # source longer than max_source_len (focal method and/or masked test cut)
    test_cut: int = 0  # the masked test alone did not fit: cut around its placeholders
    placeholders_lost: int = 0  # even its placeholder lines did not fit: a placeholder is gone
    target_cut: int = 0  # target + eos longer than max_target_len (training labels cut)
    context_cut: int | None = None  # focal contexts cut (counted only when contexts are encoded)
    target_lengths: list[int] = field(default_factory=list, repr=False)  # full target tokens, no eos

    def targets_longer_than(self, tokens: int) -> int:
        """Records whose whole target needs more than `tokens` tokens (e.g. a generation limit)."""
        return sum(n > tokens for n in self.target_lengths)

    def counts(self, max_new_tokens: int | None = None) -> dict[str, int]:
        """The counts for reports and summaries; for a split that is generated, also how many
        references are longer than the generation limit (no prediction can match them whole)."""
        out = asdict(self)
        del out["target_lengths"]
        if self.context_cut is None:
            del out["context_cut"]
        if max_new_tokens is not None:
            out["targets_over_max_new_tokens"] = self.targets_longer_than(max_new_tokens)
        return out


def target_text(record: Record) -> str:
    return "\n".join(a.strip() for a in record.assertions)


def _special(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int], list[int]]:
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return bos, [sep_id], [tokenizer.eos_token_id]


def critical_mask(record: Record, text: str, offsets: list[tuple[int, int]]) -> list[int]:
    """1 for target tokens overlapping an assertion-deciding Java token (see java.critical_spans)."""
    spans = java.critical_spans(text, java.method_name(record.focal_method))
    out = []
    for start, end in offsets:
        out.append(int(any(start < b and a < end for a, b in spans)))
    return out


def _line_of_tokens(text: str, offsets: list[tuple[int, int]]) -> list[int]:
    """Line index of each token: the line of its last character. A whitespace token such as
    a newline plus indentation then belongs to the line it indents, so kept lines join cleanly."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return [bisect_right(starts, max(a, b - 1)) - 1 for a, b in offsets]


def _token_lines(text: str, tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int], list[str]]:
    """Token ids of the whole `text` (the tokens the model always sees), the line of each, and the lines."""
    if not tokenizer.is_fast:
        raise ValueError(f"cutting a masked test around its placeholders needs a fast tokenizer's offsets; "
                         f"{type(tokenizer).__name__} has none")
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return enc["input_ids"], _line_of_tokens(text, enc["offset_mapping"]), text.split("\n")


def _kept_lines(cost: list[int], must: list[int], budget: int) -> set[int]:
    """The placeholder lines, then contiguous context going up from the last one, then (when the
    top is reached) the lines after it, while the tokens fit in `budget`."""
    keep, used = set(must), sum(cost[i] for i in must)
    last = max(must)
    for i in range(last - 1, -1, -1):
        if i in keep:
            continue
        if used + cost[i] > budget:
            return keep
        keep.add(i)
        used += cost[i]
    for i in range(last + 1, len(cost)):
        if used + cost[i] > budget:
            break
        keep.add(i)
        used += cost[i]
    return keep


def cut_masked_test(text: str, tokenizer: PreTrainedTokenizerBase, budget: int) -> tuple[list[int], bool]:
    """Token ids of the masked test in at most `budget` tokens, cut by whole lines around its
    placeholders; and whether every placeholder survived. A test with no placeholder is cut
    from its end."""
    ids, line_of, lines = _token_lines(text, tokenizer)
    if len(ids) <= budget:
        return ids, True
    must = [i for i, line in enumerate(lines) if _MARKER in line]
    if not must:
        return ids[:budget], True
    cost = [0] * len(lines)
    for line in line_of:
        cost[line] += 1
    if sum(cost[i] for i in must) > budget:  # the placeholder lines alone do not fit
        keep = set(must)
        return [t for t, line in zip(ids, line_of) if line in keep][:budget], False
    keep = _kept_lines(cost, must, budget)
    return [t for t, line in zip(ids, line_of) if line in keep], True


FOCAL_CONTEXTS = ("method", "class-signatures")


def focal_contexts(records: Sequence[Record]) -> list[str]:
    """Each record's `focal_context` text; a record without one is an error naming it."""
    out = []
    for r in records:
        context = r.extra.get("focal_context")
        if not isinstance(context, str) or not context.strip():
            raise DataError(f"record {r.id} has no focal_context field: data.focal_context=class-signatures needs "
                            "records from `trident data mine` or `trident data import --format methods2test`; "
                            "use --data.focal_context=method for other data")
        out.append(context)
    return out


def encode_records(records: Sequence[Record], tokenizer: PreTrainedTokenizerBase,
                   max_source_len: int, max_target_len: int, critical: bool = False,
                   truncation: Truncation | None = None, focal_context: str = "method") -> list[dict[str, list[int]]]:
    """Token ids per record; with `critical`, also a 0/1 `critical` mask aligned with `labels`
    (token weighting), which needs a fast tokenizer's offsets. What is cut is added to
    `truncation` when given. `focal_context` is one of FOCAL_CONTEXTS (see the module doc)."""
    if focal_context not in FOCAL_CONTEXTS:
        raise ValueError(f"focal_context must be one of {FOCAL_CONTEXTS}, got {focal_context!r}")
    bos, sep, eos = _special(tokenizer)
    fixed = len(bos) + len(sep) + len(eos)
    if max_source_len <= fixed or max_target_len < 2:
        raise ValueError(f"max_source_len must exceed {fixed} and max_target_len must be at least 2")
    cut = truncation if truncation is not None else Truncation()
    plain = dict(add_special_tokens=False)
    focal = tokenizer([r.focal_method for r in records], **plain)["input_ids"]
    tests = tokenizer([r.test_method_masked for r in records], **plain)["input_ids"]
    contexts = ([[]] * len(records) if focal_context == "method"
                else tokenizer(["\n" + c for c in focal_contexts(records)], **plain)["input_ids"])
    texts = [target_text(r) for r in records]
    target_enc = tokenizer(texts, return_offsets_mapping=critical, **plain)
    out = []
    budget = max_source_len - fixed
    if focal_context != "method" and cut.context_cut is None:
        cut.context_cut = 0
    for i, (f, t, y) in enumerate(zip(focal, tests, target_enc["input_ids"])):
        c = contexts[i]
        cut.records += 1
        cut.source_cut += len(f) + len(c) + len(t) > budget
        if len(t) > budget:  # only when the test alone does not fit
            t, whole = cut_masked_test(records[i].test_method_masked, tokenizer, budget)
            cut.test_cut += 1
            cut.placeholders_lost += not whole
        room = max(0, budget - len(t) - len(f))
        if len(c) > room:
            c = c[:room]
            cut.context_cut += 1
        f = f[: budget - len(t)]
        cut.target_cut += len(y) > max_target_len - 1
        cut.target_lengths.append(len(y))
        row = {"input_ids": bos + f + c + sep + t + eos, "labels": y[: max_target_len - 1] + eos}
        if critical:
            mask = critical_mask(records[i], texts[i], target_enc["offset_mapping"][i])
            row["critical"] = mask[: max_target_len - 1] + [0]
        out.append(row)
    return out
