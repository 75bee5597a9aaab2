"""Batches: encoded records as a dataset, and the collator that pads them for the Trainer.

Each row keeps its index (`idx`), so the loss can find the row's record id, target text and
cached target embeddings; `critical` marks the target tokens that decide the assertion.
"""
from __future__ import annotations

from typing import Sequence

import torch
from transformers import DataCollatorForSeq2Seq


class EncodedDataset(torch.utils.data.Dataset):
    """Encoded features plus what sequence-level losses need per row: its record id, its
    target text, its record, and (filled by fit) frozen-encoder embeddings of the target, keyed by encoder."""

    def __init__(self, features: Sequence[dict], ids: Sequence[str] = (), references: Sequence[str] = (),
                 records: Sequence = ()):
        self.features = [{**f, "idx": i} for i, f in enumerate(features)]
        self.ids = list(ids)
        self.references = list(references)
        self.records = list(records)  # the Record of each row, for rewards that run its test
        self.gold: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return self.features[i]


class Collator:
    """transformers' seq2seq collator (padding, decoder_input_ids from the labels) plus the
    row indices and the critical-token masks, padded like the labels."""

    def __init__(self, tokenizer, model):
        self.base = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100, padding=True)

    def __call__(self, features: list[dict]) -> dict:
        idx = torch.tensor([f["idx"] for f in features]) if "idx" in features[0] else None
        critical = [f["critical"] for f in features] if "critical" in features[0] else None
        batch = self.base([{k: v for k, v in f.items() if k not in ("idx", "critical")} for f in features])
        if idx is not None:
            batch["idx"] = idx
        if critical is not None:
            width = batch["labels"].shape[1]
            batch["critical"] = torch.tensor([c + [0] * (width - len(c)) for c in critical])
        return batch


def collator(tokenizer, model) -> Collator:
    return Collator(tokenizer, model)
