"""The teacher's N-best beams: for every record of the training split, the N assertions the
teacher writes by beam search, computed once per teacher and data and read by every run that
needs them (`seqkd` trains on the best one, `loss.semantic_reference=teacher|both` scores
against it), so no run decodes with the teacher itself; beam search is the slowest thing the
teacher does, and every run on this teacher and data would get the same beams.

What is stored, per record, best first (the order beam search returns them):

    text        the beam decoded with skip_special_tokens
    token_ids   the beam as a student is trained on it: no decoder start token, cut after the
                first eos (kept), at most data.max_target_len tokens (a beam that reached the
                limit has no eos, like a cut training target), no padding
    logp        Σ log p_teacher(token) over token_ids at T = 1, recomputed teacher-forced in
                float32: HF's beam score is length-penalised and summed in whatever precision
                the search ran, so it is neither a probability nor comparable across settings

A beams folder (written whole in a temporary folder and renamed into place, so it is complete
or absent), next to the teacher-logit cache:

    meta.json       what it was built for (BeamsKey), records, beams per record, teacher path,
                    mean best-beam length, beams that reached data.max_target_len without eos
    beams.jsonl     one line per training record, in the split's order:
                    {"id": …, "beams": [{"text": …, "token_ids": […], "logp": …}, …]}

The default folder is `<runs_dir>/.cache/teacher-beams/<key digest>`, so a run only finds
beams built for its teacher weights and saved generation settings, tokenizer, training data,
encoding settings and N.
"""
from __future__ import annotations

import dataclasses
import json
import mmap
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NoReturn, Sequence

import numpy as np
import torch

from trident.io import atomic_write_json
from trident.teacher_artefact import (META_FILE, ArtefactMismatch, TeacherDataKey, build_once, data_fields,
                                      generation_fingerprint, writing)

FORMAT = 1
BEAMS_FILE = "beams.jsonl"


class BeamsMismatch(ArtefactMismatch):
    """Teacher beams that were built for something else than this run, or are unreadable."""


@dataclass(frozen=True, kw_only=True)
class BeamsKey(TeacherDataKey):
    """Everything the beams depend on; equal keys give the same beams (up to the nondeterminism
    of the device's kernels)."""

    generation: str  # generation_fingerprint: generate() starts from the teacher's saved settings
    beams: int
    format: int = FORMAT

    WHAT: ClassVar[dict[str, str]] = {**TeacherDataKey.WHAT, "generation": "other teacher generation settings",
                                      "beams": "another teacher.beams", "format": "another beams format"}


@dataclass(frozen=True)
class Beam:
    text: str
    token_ids: tuple[int, ...]
    logp: float


def key_for(cfg, teacher_path: str, tokenizer) -> BeamsKey:
    return BeamsKey(**data_fields(cfg, teacher_path, tokenizer), generation=generation_fingerprint(teacher_path),
                    beams=cfg.teacher.beams)


def default_dir(cfg, key: BeamsKey) -> Path:
    return Path(cfg.runs_dir) / ".cache" / "teacher-beams" / key.digest()


class TeacherBeams:
    """A beams folder opened for reading. Every line is checked on opening (a damaged folder
    fails before a run starts, not mid-training), then only byte offsets are kept and a record's
    line is parsed when asked for: the file is memory-mapped, so concurrent trials share one copy."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        meta_file, beams_file = self.path / META_FILE, self.path / BEAMS_FILE
        for f in (meta_file, beams_file):
            if not f.is_file():
                raise BeamsMismatch(f"{self.path} is not a teacher-beams folder (no {f.name})")
        try:
            self.meta = json.loads(meta_file.read_text())
            self.key = BeamsKey(**self.meta["key"])
            self.n = int(self.meta["beams"])
            records = int(self.meta["records"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BeamsMismatch(f"{meta_file}: unreadable ({exc}); remove {self.path} to rebuild it") from None
        self._file = beams_file
        self._offsets, self.record_ids = self._index(beams_file, records)
        self.row_of = {rid: i for i, rid in enumerate(self.record_ids)}
        self._mm: mmap.mmap | None = None

    def _index(self, beams_file: Path, records: int) -> tuple[np.ndarray, list[str]]:
        offsets = np.zeros(records + 1, np.int64)
        ids: list[str] = []
        with open(beams_file, "rb") as fh:
            line_no = 0
            for line_no, raw in enumerate(fh, 1):
                if line_no > records:
                    self._bad(line_no, f"more lines than the {records} records meta.json counts")
                if not raw.endswith(b"\n"):  # a write that stopped mid-line
                    self._bad(line_no, "cut short (no end of line)")
                ids.append(self._parse(raw, line_no)[0])
                offsets[line_no] = offsets[line_no - 1] + len(raw)
        if len(ids) < records:
            self._bad(len(ids) + 1, f"missing: the file ends after {len(ids)} of {records} records")
        return offsets, ids

    def _parse(self, raw: bytes, line_no: int) -> tuple[str, list[Beam]]:
        try:
            row = json.loads(raw)
            beams = [Beam(str(b["text"]), tuple(int(t) for t in b["token_ids"]), float(b["logp"]))
                     for b in row["beams"]]
            rid = row["id"]
        except (ValueError, KeyError, TypeError) as exc:
            self._bad(line_no, f"not a beams line ({type(exc).__name__}: {exc})")
        if len(beams) != self.n:
            self._bad(line_no, f"{len(beams)} beams, not {self.n}")
        return rid, beams

    def _bad(self, line_no: int, what: str) -> NoReturn:
        raise BeamsMismatch(f"{self._file}: line {line_no}: {what}; remove {self.path} to rebuild it")

    def check(self, key: BeamsKey) -> None:
        """Refuse beams built for another key, naming every field that differs."""
        details = self.key.differences(key, "beams")
        if details:
            raise BeamsMismatch(f"the teacher beams {self.path} were built for {details}; the beams that match "
                                f"this run are found by their key under {self.path.parent} (built when missing)")

    def __len__(self) -> int:
        return len(self.record_ids)

    def for_record(self, record_id: str) -> list[Beam]:
        """The record's N beams, best first."""
        row = self.row_of.get(record_id)
        if row is None:
            raise BeamsMismatch(f"record {record_id} is not in the teacher beams {self.path}")
        if self._mm is None:  # opened on first use, and again after unpickling
            with open(self._file, "rb") as fh:
                self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return self._parse(self._mm[int(self._offsets[row]):int(self._offsets[row + 1])], row + 1)[1]

    def best(self, record_id: str) -> Beam:
        return self.for_record(record_id)[0]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_mm": None}


def beam_token_ids(sequence: Sequence[int], eos: int, max_target_len: int) -> list[int]:
    """One generated sequence → the tokens a student is trained on: the decoder start token
    dropped, cut after the first eos (kept; what follows is padding of shorter beams)."""
    ids = list(sequence[1:max_target_len + 1])
    return ids[:ids.index(eos) + 1] if eos in ids else ids


def _score(teacher, encoder_outputs, attention_mask, beams: list[list[int]], n: int) -> list[float]:
    """Σ log p_teacher over each beam's tokens, teacher-forced in float32 at T = 1. The encoder
    states of each source are reused for its N beams."""
    from transformers.modeling_outputs import BaseModelOutput

    width = max(len(b) for b in beams)
    labels = torch.full((len(beams), width), -100, dtype=torch.long)
    for i, b in enumerate(beams):
        labels[i, :len(b)] = torch.tensor(b)
    labels = labels.to(attention_mask.device)
    states = encoder_outputs.last_hidden_state.repeat_interleave(n, 0)
    logits = teacher(encoder_outputs=BaseModelOutput(last_hidden_state=states),
                     attention_mask=attention_mask.repeat_interleave(n, 0), labels=labels).logits
    logp = torch.log_softmax(logits.float(), -1)
    real = labels != -100
    picked = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * real).sum(-1).tolist()


def build(cfg, teacher_path: str, tokenizer, key: BeamsKey, out: Path, progress: bool = True) -> TeacherBeams:
    """Beam-search the teacher over the whole training split and write the beams folder `out`,
    atomically. Records are batched by source length (less padding)."""
    from tqdm.auto import tqdm
    from transformers import AutoModelForSeq2SeqLM

    from trident.data.batches import collator
    from trident.data.encoding import encode_records
    from trident.runs import load_records

    records = load_records(cfg, "train", {})
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len,
                              focal_context=cfg.data.focal_context)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    teacher = AutoModelForSeq2SeqLM.from_pretrained(teacher_path).to(device).eval()
    collate = collator(tokenizer, teacher)
    n, max_target_len = key.beams, key.max_target_len
    eos = teacher.generation_config.eos_token_id
    eos = tokenizer.eos_token_id if eos is None or isinstance(eos, list) else eos
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    use_bf16 = device.type == "cuda" and cfg.train.precision == "bf16"
    with writing(out) as tmp:
        # Lines are computed in length order but stored in record order: they go to a spool file as
        # they come and are copied out in order at the end, so no split is ever held in memory.
        spool_path = tmp / "spool.jsonl"
        where = np.zeros((len(records), 2), np.int64)  # spool offset, length
        best_tokens = no_eos = 0
        with open(spool_path, "wb") as spool, torch.inference_mode(), \
                tqdm(total=len(order), desc="teacher beams", unit="rec", disable=not progress, file=sys.stderr) as bar:
            for at in range(0, len(order), cfg.eval.batch_size):
                chosen = order[at:at + cfg.eval.batch_size]
                batch = collate([{"input_ids": features[i]["input_ids"], "labels": features[i]["labels"]}
                                 for i in chosen])
                input_ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
                # the search in bf16 on a GPU (as the logit cache); the beams' logp below in float32
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    generated = teacher.generate(input_ids=input_ids, attention_mask=mask, num_beams=n,
                                                 num_return_sequences=n, do_sample=False,
                                                 max_length=max_target_len + 1, max_new_tokens=None,
                                                 early_stopping=True)
                beams = [beam_token_ids(s, eos, max_target_len) for s in generated.tolist()]
                encoded = teacher.get_encoder()(input_ids=input_ids, attention_mask=mask)
                logps = _score(teacher, encoded, mask, beams, n)
                texts = tokenizer.batch_decode(beams, skip_special_tokens=True)
                for j, i in enumerate(chosen):
                    mine = range(j * n, (j + 1) * n)  # HF returns each source's N beams together, best first
                    line = json.dumps({"id": records[i].id, "beams": [
                        {"text": texts[b], "token_ids": beams[b], "logp": logps[b]} for b in mine]},
                        ensure_ascii=False).encode() + b"\n"
                    where[i] = (spool.tell(), len(line))
                    spool.write(line)
                    best_tokens += len(beams[j * n])
                    no_eos += sum(eos not in beams[b] for b in mine)
                bar.update(len(chosen))
        with open(spool_path, "rb") as spool, open(tmp / BEAMS_FILE, "wb") as fh:
            for start, length in where:
                spool.seek(int(start))
                fh.write(spool.read(int(length)))
        spool_path.unlink()
        atomic_write_json(tmp / META_FILE, {
            "key": dataclasses.asdict(key), "records": len(records), "beams": n, "teacher_path": str(teacher_path),
            "mean_best_beam_tokens": best_tokens / len(records), "beams_without_eos": no_eos,
        })
    return TeacherBeams(out)


def describe(beams: TeacherBeams) -> str:
    m = beams.meta
    return (f"[trident] teacher beams {beams.path}: {m['records']} records × {m['beams']} beams, best beam "
            f"{m['mean_best_beam_tokens']:.1f} tokens on average, {m['beams_without_eos']} beam(s) reached "
            f"data.max_target_len={beams.key.max_target_len} without eos")


def ensure(cfg, teacher_path: str, tokenizer, progress: bool = True, key: BeamsKey | None = None) -> TeacherBeams:
    """The beams for this run, built first when missing (under a lock, so concurrent sweep
    trials wait for one build and then share it)."""
    key = key or key_for(cfg, teacher_path, tokenizer)
    out = default_dir(cfg, key)
    build_once(out, lambda: build(cfg, teacher_path, tokenizer, key, out, progress),
               f"[trident] building the teacher beams {out} (beam search, {key.beams} beams per record)")
    beams = TeacherBeams(out)
    beams.check(key)
    return beams
