"""Batches: encoded records as a dataset, and the collator that pads them for the Trainer.

Each row keeps its index (`idx`), so the loss can find the row's record id, target text and
cached target embeddings; `critical` marks the target tokens that decide the assertion. With a
teacher-logit cache, training rows carry their row in it (`cache_row`) and the collator reads
the teacher's top-k for the batch (`teacher_topk_logp`, `teacher_topk_ids`, padded like the labels).
With the teacher's beams (seqkd), training rows carry their best beam (`beam_labels`, padded
with -100, and its log-probability `beam_logp`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import torch
from transformers import DataCollatorForSeq2Seq

from trident.errors import DataError


class EncodedDataset(torch.utils.data.Dataset):
    """Encoded features plus what sequence-level losses need per row: its record id, its
    target text, its record, and (filled by fit) frozen-encoder embeddings of the target, keyed by encoder."""

    def __init__(self, features: Sequence[dict], ids: Sequence[str] = (), references: Sequence[str] = (),
                 records: Sequence = (), cache_rows: Sequence[int] | None = None,
                 beams: Sequence[BeamRow] | None = None):
        self.features = [{**f, "idx": i} for i, f in enumerate(features)]
        if cache_rows is not None:
            for f, row in zip(self.features, cache_rows, strict=True):
                f["cache_row"] = row
        self.beam_texts: list[str] = []
        self.beam_gold: dict[str, torch.Tensor] = {}  # encoder name -> embeddings of beam_texts (fit fills it)
        if beams is not None:
            for f, beam in zip(self.features, beams, strict=True):
                f["beam_labels"], f["beam_logp"] = list(beam.token_ids), float(beam.logp)
            self.beam_texts = [b.text for b in beams]
        self.ids = list(ids)
        self.references = list(references)
        self.records = list(records)  # the Record of each row, for rewards that run its test
        self.gold: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int) -> dict:
        return self.features[i]


class BeamRow(Protocol):
    """The teacher's best beam for a row (trident.teacher_beams.Beam)."""

    text: str
    token_ids: Sequence[int]
    logp: float


class TopKRows(Protocol):
    """Where the collator reads the teacher's cached top-k (trident.teacher_cache.TeacherLogitCache)."""

    path: Path
    k: int

    def row_at(self, row: int) -> tuple[np.ndarray, np.ndarray]: ...


EXTRA_KEYS = ("idx", "critical", "cache_row", "beam_labels", "beam_logp")
TOPK_KEYS = ("teacher_topk_logp", "teacher_topk_ids")


class Collator:
    """transformers' seq2seq collator (padding, decoder_input_ids from the labels) plus the
    row indices, the critical-token masks and the cached teacher top-k, padded like the labels."""

    def __init__(self, tokenizer, model, teacher_cache: TopKRows | None = None):
        self.base = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100, padding=True)
        self.teacher_cache = teacher_cache

    def __call__(self, features: list[dict]) -> dict:
        # a list, not a tensor: the Trainer leaves it on the host, and the loss looks rows up without waiting for the device
        idx = [f["idx"] for f in features] if "idx" in features[0] else None
        critical = [f["critical"] for f in features] if "critical" in features[0] else None
        beams = [f["beam_labels"] for f in features] if "beam_labels" in features[0] else None
        batch = self.base([{k: v for k, v in f.items() if k not in EXTRA_KEYS} for f in features])
        if idx is not None:
            batch["idx"] = idx
        width = batch["labels"].shape[1]
        if critical is not None:
            batch["critical"] = torch.tensor([c + [0] * (width - len(c)) for c in critical])
        if beams is not None:
            longest = max(len(b) for b in beams)
            batch["beam_labels"] = torch.tensor([b + [-100] * (longest - len(b)) for b in beams])
            batch["beam_logp"] = torch.tensor([f["beam_logp"] for f in features], dtype=torch.float32)
        if self.teacher_cache is not None and "cache_row" in features[0]:
            batch.update(self._topk(features, width))
        return batch

    def _topk(self, features: list[dict], width: int) -> dict:
        k = self.teacher_cache.k
        logp = np.zeros((len(features), width, k), np.float16)  # padding: never read (labels are -100 there)
        ids = np.zeros((len(features), width, k), np.int64)
        for b, f in enumerate(features):
            values, tokens = self.teacher_cache.row_at(f["cache_row"])
            if len(values) != len(f["labels"]):
                raise DataError(f"the teacher-logit cache {self.teacher_cache.path} holds {len(values)} target tokens "
                                f"for a record whose target encodes to {len(f['labels'])}: it was built with another "
                                "encoding; rebuild it (remove the folder) or pass --teacher.source=online")
            logp[b, :len(values)] = values
            ids[b, :len(tokens)] = tokens
        return {"teacher_topk_logp": torch.from_numpy(logp), "teacher_topk_ids": torch.from_numpy(ids)}


def collator(tokenizer, model, teacher_cache: TopKRows | None = None) -> Collator:
    return Collator(tokenizer, model, teacher_cache)
