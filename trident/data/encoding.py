"""Encoding records into token ids; teacher and student share it.

source = [bos] + focal method + [sep] + masked test method + [eos]
target = assertions joined by "\\n" + [eos]

`sep` is the tokenizer's separator token (`<sep>` for the trained preset tokenizer, `</s>`
for CodeT5+); `bos` is added only where the tokenizer defines one (CodeT5+'s `<s>`). When the
source is too long the focal method is cut first (from its end): the masked test holds the
placeholder the assertions must fill, so it is the part the model cannot do without.
"""
from __future__ import annotations

from typing import Sequence

from transformers import PreTrainedTokenizerBase

from trident import java
from trident.data.records import Record


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


def encode_records(records: Sequence[Record], tokenizer: PreTrainedTokenizerBase,
                   max_source_len: int, max_target_len: int, critical: bool = False) -> list[dict[str, list[int]]]:
    """Token ids per record; with `critical`, also a 0/1 `critical` mask aligned with `labels`
    (token weighting), which needs a fast tokenizer's offsets."""
    bos, sep, eos = _special(tokenizer)
    fixed = len(bos) + len(sep) + len(eos)
    if max_source_len <= fixed or max_target_len < 2:
        raise ValueError(f"max_source_len must exceed {fixed} and max_target_len must be at least 2")
    plain = dict(add_special_tokens=False)
    focal = tokenizer([r.focal_method for r in records], **plain)["input_ids"]
    tests = tokenizer([r.test_method_masked for r in records], **plain)["input_ids"]
    texts = [target_text(r) for r in records]
    target_enc = tokenizer(texts, return_offsets_mapping=critical, **plain)
    out = []
    for i, (f, t, y) in enumerate(zip(focal, tests, target_enc["input_ids"])):
        budget = max_source_len - fixed
        t = t[:budget]  # only when the test alone does not fit
        f = f[: budget - len(t)]
        row = {"input_ids": bos + f + sep + t + eos, "labels": y[: max_target_len - 1] + eos}
        if critical:
            mask = critical_mask(records[i], texts[i], target_enc["offset_mapping"][i])
            row["critical"] = mask[: max_target_len - 1] + [0]
        out.append(row)
    return out
