"""Models and tokenizers: Hugging Face names/paths, or built-in T5 presets.

Presets (trident.presets) are T5 configurations with random init. `tiny-*` keep the whole embedded pipeline
inside minutes on 2 CPU cores; `codet5p-*-shape` are the real CodeT5+ architectures
(T5-base / T5-large shaped, 32,100-token vocabulary) for benchmarks without downloads.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import torch
from transformers import (AutoModelForSeq2SeqLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase,
                          PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration)

from trident.errors import VocabularyMismatch
from trident.presets import PRESETS, is_preset  # noqa: F401  (is_preset: part of this module's interface)

# Special tokens of the tokenizer trained for presets; ids 0..3 in this order.
PAD, EOS, UNK, SEP = "<pad>", "</s>", "<unk>", "<sep>"


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on `texts` (deterministic for the same texts)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS, UNK, SEP],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token=PAD, eos_token=EOS, unk_token=UNK, sep_token=SEP)


def load_tokenizer(spec: str | Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(str(spec))


def build_model(spec: str, tokenizer: PreTrainedTokenizerBase, seed: int) -> PreTrainedModel:
    """A preset (random init, seeded) or a pretrained model by name or path."""
    if not is_preset(spec):
        return AutoModelForSeq2SeqLM.from_pretrained(spec)
    shape = dict(PRESETS[spec])
    vocab = shape.pop("vocab_size", len(tokenizer))
    if vocab < len(tokenizer):
        raise VocabularyMismatch(f"preset {spec} has {vocab} embeddings but the tokenizer has {len(tokenizer)} tokens")
    config = T5Config(vocab_size=vocab, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                      decoder_start_token_id=tokenizer.pad_token_id,
                      feed_forward_proj="relu", tie_word_embeddings=True, **shape)
    torch.manual_seed(seed)
    return T5ForConditionalGeneration(config)


def check_same_vocabulary(teacher: PreTrainedModel, student: PreTrainedModel) -> None:
    """Distillation compares distributions token by token, so both must index one vocabulary."""
    t, s = teacher.get_output_embeddings().weight.shape[0], student.get_output_embeddings().weight.shape[0]
    if t != s:
        raise VocabularyMismatch(
            f"teacher and student vocabularies differ ({t} vs {s} output logits): distillation needs one shared "
            "vocabulary. Use a student and teacher from the same family (e.g. codet5p-220m with codet5p-770m) "
            "or presets built on the same tokenizer.")


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def width_and_depth(model: PreTrainedModel) -> tuple[int, tuple[int, int]]:
    """(hidden width, (encoder layers, decoder layers)) of an encoder-decoder: T5's and BART's names."""
    c = model.config
    width = getattr(c, "d_model", None) or c.hidden_size
    enc = getattr(c, "num_layers", None) or getattr(c, "encoder_layers", None)
    dec = getattr(c, "num_decoder_layers", None) or getattr(c, "decoder_layers", None) or enc
    return int(width), (int(enc), int(dec))
