"""What the stored teacher artefacts (the logit cache, the beams) share: their key and their
folder's life.

Both are computed once from a teacher, a tokenizer and the training split, and read by every
run that matches; a run must never read one built for anything else. `TeacherDataKey` holds
the fields they share, each artefact's key adds its own, and `differences` words a refusal
the same way for both: which field differs, what it was built for, what this run has.

A folder is built under a lock (concurrent sweep trials wait for one build, then share it) in a
scratch folder beside it that is renamed into place when complete, so it is whole or absent;
`meta.json`, written last, marks it complete.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar, Iterator, Sequence

from trident.errors import TridentError
from trident.io import scratch_beside


class ArtefactMismatch(TridentError):
    """A teacher artefact that was built for something else than this run, or is unreadable."""


def file_digest(paths: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode())
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()


META_FILE = "meta.json"  # written last: its presence marks a folder complete
WEIGHT_GLOBS = ("config.json", "*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin")
GENERATION_FILE = "generation_config.json"


def teacher_fingerprint(teacher: str) -> str:
    """sha256 of a teacher folder's config and weight files; a hub name is taken as it is
    (pin a revision, or point at a local folder, when the name may move)."""
    folder = Path(teacher)
    if not folder.is_dir():
        return "name:" + teacher
    files = sorted({p for pattern in WEIGHT_GLOBS for p in folder.glob(pattern)})
    if not files:
        raise ArtefactMismatch(f"{folder}: no model weights to fingerprint the teacher by")
    return file_digest(files)


def generation_fingerprint(teacher: str) -> str:
    """sha256 of the teacher's saved generation settings (`generate` starts from them, so they
    change what beam search returns; logits do not depend on them)."""
    if not Path(teacher).is_dir():
        return "name:" + teacher
    path = Path(teacher) / GENERATION_FILE
    return file_digest([path]) if path.is_file() else "none"


def tokenizer_fingerprint(tokenizer) -> str:
    """sha256 of the vocabulary (token → id) and the special tokens."""
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    blob = json.dumps([vocab, tokenizer.all_special_tokens], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def short(value) -> str:
    """A key field as a refusal shows it: long digests cut to 12 characters."""
    text = str(value)
    return text[:12] if len(text) > 24 else text


@dataclass(frozen=True, kw_only=True)
class TeacherDataKey:
    """The teacher, tokenizer, training data and encoding an artefact was computed from."""

    teacher: str  # teacher_fingerprint
    tokenizer: str  # tokenizer_fingerprint
    data: str  # sha256 of the training split file
    max_source_len: int
    max_target_len: int
    focal_context: str
    skip_bad_records: bool

    # How a refusal names each field; a subclass adds its own fields' names.
    WHAT: ClassVar[dict[str, str]] = {
        "teacher": "another teacher (other weights)", "tokenizer": "another tokenizer",
        "data": "other training data", "max_source_len": "another data.max_source_len",
        "max_target_len": "another data.max_target_len", "focal_context": "another data.focal_context",
        "skip_bad_records": "another data.skip_bad_records"}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode()).hexdigest()[:16]

    def differences(self, wanted: TeacherDataKey, stored_as: str) -> str:
        """'' when equal; else every differing field, named as the artefact (`stored_as`) has it
        and as the run wants it."""
        differ = [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(wanted, f.name)]
        return "; ".join(f"{self.WHAT[n]} ({n}: {stored_as} {short(getattr(self, n))}, this run "
                         f"{short(getattr(wanted, n))})" for n in differ)


def data_fields(cfg, teacher_path: str, tokenizer) -> dict:
    """The TeacherDataKey fields of a run."""
    from trident.data.records import split_path

    d = cfg.data
    return dict(teacher=teacher_fingerprint(teacher_path), tokenizer=tokenizer_fingerprint(tokenizer),
                data=file_digest([split_path(d.dir, "train")]), max_source_len=d.max_source_len,
                max_target_len=d.max_target_len, focal_context=d.focal_context, skip_bad_records=d.skip_bad_records)


def build_once(out: Path, build: Callable[[], object], announce: str) -> None:
    """Run `build` (which writes `out`) unless `out` is complete, under a lock on `out`."""
    from filelock import FileLock

    out.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out) + ".lock"):
        if not (out / META_FILE).exists():
            print(announce)
            build()


@contextmanager
def writing(out: Path) -> Iterator[Path]:
    """An empty folder beside `out`, this process's own, to write `out` in: renamed to `out`
    when the block ends, removed when it raises. When another process published the same key
    first (the rename fails on its non-empty folder), its copy is kept."""
    tmp = scratch_beside(out)
    try:
        yield tmp
        try:
            os.replace(tmp, out)
        except OSError:
            if not (out / META_FILE).exists():
                raise
            shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
