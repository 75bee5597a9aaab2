"""The teacher-logit cache: the teacher's top-k log-probabilities for every target token of the
training split, computed once and read by every distillation run and sweep trial that uses this
teacher on this data, so none of them loads or runs the teacher again.

What is stored, per target token: the k most likely token ids and their log-probabilities at
T = 1 (temperature is applied when they are used, so one cache serves every temperature and
schedule), float16 rounded toward −∞ so that Σ p_top never exceeds its true value and the tail
mass 1 − Σ p_top is never negative; ids as uint16 where the vocabulary fits (CodeT5+'s 32,100
does), int32 otherwise. At k = 64 that is 64·2 + 64·2 = 256 bytes per target token.

A cache folder (written whole in a temporary folder and renamed into place, so it is complete
or absent):

    meta.json            what it was built for (CacheKey), k, vocabulary, counts, and its error
                         against the full teacher (KL(full ‖ top-k) per token, tail mass)
    records.json         the record ids, one per index row
    index.npy            int64 [records, 3]: shard, first row, rows
    values-NNNNN.npy     float16 [rows, k] log-probabilities, descending
    ids-NNNNN.npy        uint16 / int32 [rows, k] token ids

Shards are memory-mapped when read; a record never straddles two. Rows are written in the
order the teacher computes them (records batched by length), so a record's rows are found
through the index, never by position.

A cache is found by its key (teacher weights, tokenizer, training data, encoding settings, k):
the default folder is `<runs_dir>/.cache/teacher-logits/<key digest>`, so a run can only find a
cache that matches it. A folder named with `teacher.cache` is checked field by field and refused,
saying which field differs, when it was built for another teacher, tokenizer, data or encoding.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Optional, Sequence

import numpy as np
import torch

from trident.io import atomic_write_json
from trident.teacher_artefact import META_FILE, ArtefactMismatch, TeacherDataKey, build_once, data_fields, writing

FORMAT = 1
SHARD_ROWS = 1 << 18  # tokens per shard: 64 MiB at k = 64
DEFAULT_K = 64
UINT16_VOCAB = 1 << 16


class CacheMismatch(ArtefactMismatch):
    """A teacher-logit cache that was built for something else than this run."""


class CacheDamaged(ArtefactMismatch):
    """A teacher-logit cache whose files are cut short or no longer what was written."""


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, kw_only=True)
class CacheKey(TeacherDataKey):
    """Everything the cached values depend on; equal keys give byte-identical caches."""

    k: int
    format: int = FORMAT

    WHAT: ClassVar[dict[str, str]] = {**TeacherDataKey.WHAT, "k": "another teacher.top_k",
                                      "format": "another cache format"}


def key_for(cfg, teacher_path: str, tokenizer) -> CacheKey:
    return CacheKey(**data_fields(cfg, teacher_path, tokenizer), k=cfg.teacher.top_k)


def default_dir(cfg, key: CacheKey) -> Path:
    return Path(cfg.runs_dir) / ".cache" / "teacher-logits" / key.digest()


class TeacherLogitCache:
    """A cache folder opened for reading: the rows of a record as float16 log-probabilities
    and int64 ids, [target tokens, k] each."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        meta_file = self.path / META_FILE
        if not meta_file.exists():
            raise CacheMismatch(f"{self.path} is not a teacher-logit cache (no meta.json)")
        self.meta = json.loads(meta_file.read_text())
        self.key = CacheKey(**self.meta["key"])
        self.k = int(self.meta["k"])
        self.vocab = int(self.meta["vocab"])
        # sha256 of every file, written when the cache was built (caches from before have none):
        # each shard is checked on its first use, every file by `trident teacher --verify-cache`
        self.checksums: dict[str, str] = self.meta.get("sha256") or {}
        self._checked: set[str] = set()
        self.index = self._load("index.npy")
        self.record_ids = json.loads((self.path / "records.json").read_text())
        self.row_of = {rid: i for i, rid in enumerate(self.record_ids)}
        shards = int(self.meta["shards"])
        self._values = [self._load(f"values-{s:05d}.npy", mmap=True) for s in range(shards)]
        self._ids = [self._load(f"ids-{s:05d}.npy", mmap=True) for s in range(shards)]
        for shard in range(shards):  # every row the index names lies inside its shard
            rows = self.index[self.index[:, 0] == shard]
            end = int((rows[:, 1] + rows[:, 2]).max()) if len(rows) else 0
            for arr, name in ((self._values[shard], "values"), (self._ids[shard], "ids")):
                if arr.ndim != 2 or arr.shape[0] < end or arr.shape[1] != self.k:
                    raise self._damaged(f"{name}-{shard:05d}.npy", f"holds {arr.shape} rows×k, the index needs "
                                                                  f"({end}, {self.k})")

    def _damaged(self, name: str, why: str) -> CacheDamaged:
        return CacheDamaged(f"the teacher-logit cache {self.path} is damaged: {name} {why}; remove the folder "
                            "to rebuild it (trident teacher --cache-logits)")

    def _load(self, name: str, mmap: bool = False) -> np.ndarray:
        try:
            return np.load(self.path / name, mmap_mode="r" if mmap else None)
        except FileNotFoundError:
            raise self._damaged(name, "is missing") from None
        except (ValueError, OSError, EOFError) as exc:  # cut short: the header promises more than the file holds
            raise self._damaged(name, f"cannot be read ({str(exc).splitlines()[0]})") from None

    def verify_file(self, name: str) -> None:
        """Its sha256 against the one written at build time (once per file and process)."""
        if name in self._checked or name not in self.checksums:
            return
        if file_sha256(self.path / name) != self.checksums[name]:
            raise self._damaged(name, "does not have the checksum it was written with (its bytes changed)")
        self._checked.add(name)

    def verify(self) -> list[str]:
        """Every file with a recorded checksum, checked; the names checked (empty: a cache from
        before checksums were written)."""
        for name in sorted(self.checksums):
            self.verify_file(name)
        return sorted(self.checksums)

    def check(self, key: CacheKey) -> None:
        """Refuse a cache built for another key, naming every field that differs."""
        details = self.key.differences(key, "cache")
        if details:
            raise CacheMismatch(f"the teacher-logit cache {self.path} was built for {details}; remove "
                                "--teacher.cache to use (or build) the cache that matches this run, or "
                                "--teacher.source=online")

    def rows(self, record_id: str) -> tuple[np.ndarray, np.ndarray]:
        row = self.row_of.get(record_id)
        if row is None:
            raise CacheMismatch(f"record {record_id} is not in the teacher-logit cache {self.path}")
        return self.row_at(row)

    def row_at(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        shard, start, n = (int(x) for x in self.index[row])
        self.verify_file(f"values-{shard:05d}.npy")
        self.verify_file(f"ids-{shard:05d}.npy")
        return self._values[shard][start:start + n], self._ids[shard][start:start + n]

    def rows_for(self, record_ids: Sequence[str]) -> list[int]:
        """Index rows of `record_ids`; a CacheMismatch naming the first that is missing."""
        missing = [r for r in record_ids if r not in self.row_of]
        if missing:
            raise CacheMismatch(f"{len(missing)} training record(s) are not in the teacher-logit cache {self.path}, "
                                f"e.g. {missing[0]}")
        return [self.row_of[r] for r in record_ids]


def round_down_fp16(values: np.ndarray) -> np.ndarray:
    """float32 → float16, rounded toward −∞: exp of every stored value is at most the true
    probability, so the tail 1 − Σ p_top is never negative."""
    half = values.astype(np.float16)
    up = half.astype(np.float32) > values
    half[up] = np.nextafter(half[up], np.float16(-np.inf))
    return half


def topk_rows(logits: torch.Tensor, labels: torch.Tensor, k: int):
    """One teacher batch → (values float16 [real tokens, k], ids [real tokens, k], per-row counts,
    Σ KL(full ‖ top-k) and Σ tail mass over the real tokens). KL is against the distribution the
    loss reconstructs at T = 1: the stored top-k, the tail spread uniformly over the V − k others."""
    logp = torch.log_softmax(logits.float(), -1)
    real = labels != -100
    logp = logp[real]  # [tokens, V]
    values, ids = logp.topk(k, -1)
    v16 = round_down_fp16(values.cpu().numpy())
    v = torch.from_numpy(v16.astype(np.float32)).to(logp.device)
    vocab = logp.shape[-1]
    p = logp.exp()
    p_top = values.exp()
    tail_true = (1.0 - p_top.sum(-1)).clamp(min=0.0)
    tail = (-torch.expm1(torch.logsumexp(v, -1))).clamp(min=0.0)
    neg_entropy = (p * logp).sum(-1)
    kl = (p_top * (values - v)).sum(-1) + (neg_entropy - (p_top * values).sum(-1))
    if vocab > k:
        kl = kl - tail_true * torch.log(tail.clamp(min=1e-30) / (vocab - k))
    id_dtype = np.uint16 if vocab <= UINT16_VOCAB else np.int32
    return (v16, ids.cpu().numpy().astype(id_dtype), real.sum(-1).tolist(), float(kl.sum()), float(tail_true.sum()))


class _Writer:
    """Rows appended record by record, in the order they are computed, into shards of at most
    SHARD_ROWS rows; the index says where each record's rows are. Only the open shard is held
    in memory."""

    def __init__(self, folder: Path, k: int, records: int):
        self.folder, self.k = folder, k
        self.values: list[np.ndarray] = []
        self.ids: list[np.ndarray] = []
        self.filled = 0
        self.shard = 0
        self.index = np.full((records, 3), -1, dtype=np.int64)

    def add(self, record: int, values: np.ndarray, ids: np.ndarray) -> None:
        n = len(values)
        if self.filled + n > SHARD_ROWS and self.filled:
            self.flush()
        self.index[record] = (self.shard, self.filled, n)
        self.values.append(values)
        self.ids.append(ids)
        self.filled += n

    def flush(self) -> None:
        np.save(self.folder / f"values-{self.shard:05d}.npy", np.concatenate(self.values) if self.values
                else np.zeros((0, self.k), np.float16))
        np.save(self.folder / f"ids-{self.shard:05d}.npy", np.concatenate(self.ids) if self.ids
                else np.zeros((0, self.k), np.uint16))
        self.values, self.ids, self.filled = [], [], 0
        self.shard += 1


def build(cfg, teacher_path: str, tokenizer, key: CacheKey, out: Path, progress: bool = True) -> TeacherLogitCache:
    """Run the teacher over the whole training split (teacher-forced, in eval mode) and write the
    cache folder `out`, atomically. Records are batched by length (less padding) and indexed by id."""
    from transformers import AutoModelForSeq2SeqLM

    from trident.data.batches import collator
    from trident.data.encoding import encode_records
    from trident.runs import load_records
    from tqdm.auto import tqdm

    records = load_records(cfg, "train", {})
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len,
                              focal_context=cfg.data.focal_context)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    teacher = AutoModelForSeq2SeqLM.from_pretrained(teacher_path).to(device).eval()
    vocab = teacher.get_output_embeddings().weight.shape[0]
    if key.k > vocab:
        raise CacheMismatch(f"teacher.top_k={key.k} exceeds the teacher's vocabulary of {vocab}")
    collate = collator(tokenizer, teacher)
    order = sorted(range(len(features)), key=lambda i: (len(features[i]["input_ids"]), len(features[i]["labels"])))
    with writing(out) as tmp:
        writer = _Writer(tmp, key.k, len(records))
        kl_sum = tail_sum = 0.0
        tokens = 0
        batch_size = cfg.eval.batch_size
        use_bf16 = device.type == "cuda" and cfg.train.precision == "bf16"
        with torch.inference_mode(), tqdm(total=len(order), desc="teacher logits", unit="rec",
                                          disable=not progress, file=sys.stderr) as bar:
            for at in range(0, len(order), batch_size):
                chosen = order[at:at + batch_size]
                batch = {k: v.to(device) for k, v in collate([features[i] for i in chosen]).items()}
                labels = batch.pop("labels")
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    logits = teacher(**batch).logits
                values, ids, counts, kl, tail = topk_rows(logits, labels, key.k)
                kl_sum, tail_sum, tokens = kl_sum + kl, tail_sum + tail, tokens + sum(counts)
                start = 0
                for i, n in zip(chosen, counts):
                    writer.add(i, values[start:start + n], ids[start:start + n])
                    start += n
                bar.update(len(chosen))
        writer.flush()
        np.save(tmp / "index.npy", writer.index)
        (tmp / "records.json").write_text(json.dumps([r.id for r in records]))
        payload = sum(p.stat().st_size for p in tmp.glob("*-*.npy"))
        checksums = {p.name: file_sha256(p) for p in sorted(tmp.glob("*.npy"))}
        atomic_write_json(tmp / META_FILE, {
            "sha256": checksums,
            "key": dataclasses.asdict(key), "k": key.k, "vocab": vocab, "records": len(records), "tokens": tokens,
            "shards": writer.shard, "teacher_path": str(teacher_path),
            "teacher_parameters": sum(p.numel() for p in teacher.parameters()),
            "ids_dtype": "uint16" if vocab <= UINT16_VOCAB else "int32", "values_dtype": "float16",
            "bytes_per_token": (key.k * 2 + key.k * (2 if vocab <= UINT16_VOCAB else 4)),
            "file_bytes_per_token": payload / max(tokens, 1),
            "kl_full_topk_nats_per_token": kl_sum / max(tokens, 1),
            "tail_mass_per_token": tail_sum / max(tokens, 1),
        })
    return TeacherLogitCache(out)


def describe(cache: TeacherLogitCache) -> str:
    m = cache.meta
    return (f"[trident] teacher-logit cache {cache.path}: {m['records']} records, {m['tokens']} target tokens, "
            f"top-{m['k']} ({m['bytes_per_token']} bytes per token); KL(full ‖ top-k) "
            f"{m['kl_full_topk_nats_per_token']:.2e} nats per token, tail mass {m['tail_mass_per_token']:.2e}")


def ensure(cfg, teacher_path: str, tokenizer, progress: bool = True,
           key: CacheKey | None = None) -> TeacherLogitCache:
    """The cache for this run, built first when missing (under a lock, so concurrent sweep
    trials wait for one build and then share it)."""
    key = key or key_for(cfg, teacher_path, tokenizer)
    if cfg.teacher.cache:
        cache = TeacherLogitCache(cfg.teacher.cache)
        cache.check(key)
        return cache
    out = default_dir(cfg, key)
    build_once(out, lambda: build(cfg, teacher_path, tokenizer, key, out, progress),
               f"[trident] building the teacher-logit cache {out}")
    cache = TeacherLogitCache(out)
    cache.check(key)
    return cache


def for_run(cfg, teacher_path: str, tokenizer) -> Optional[TeacherLogitCache]:
    """What `teacher.source` gives this run: a cache (`cache`: built when missing; `auto`: when
    a matching one exists), or None for the teacher online."""
    source = cfg.teacher.source
    if source == "online":
        return None
    key = key_for(cfg, teacher_path, tokenizer)
    if source == "auto" and not cfg.teacher.cache and not (default_dir(cfg, key) / META_FILE).exists():
        return None
    return ensure(cfg, teacher_path, tokenizer, progress=cfg.tracking.progress, key=key)
