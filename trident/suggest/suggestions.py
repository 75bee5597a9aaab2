"""Generating suggestions with their log-probabilities.

Records are encoded with trident.data.encoding.encode_records, with the student's encoding
settings: the inputs are exactly what training and evaluation feed the model. Greedy decoding
for one suggestion; beam search (num_beams ≥ num_return) for several, in beam order: the model's
own generation config ranks them as `trident evaluate` does (transformers' beam score, the sum
below divided by tokens ** length_penalty, 1.0 unless the model's config says otherwise).

A suggestion's `logprob` is the sum, over the tokens the model generated (the end-of-sequence
token included when it was generated; the decoder start token and the padding after the end are
not generated tokens), of log p(token | source, tokens before it), with p the model's own
softmax over its raw logits: no length penalty and no beam bookkeeping. It is read off
generate()'s per-step logits with compute_transition_scores(normalize_logits=True), following
each returned beam through its beam indices, so it is what teacher-forcing the model on the
suggestion's tokens gives (tests/test_generate.py checks it against a float64 forward pass).
A suggestion cut at --max-new-tokens has no end token (`finished` is false) and its sum covers
the tokens it has.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from trident.data.encoding import encode_records
from trident.data.records import Record
from trident.errors import ConfigError


@dataclass(frozen=True)
class Suggestion:
    text: str  # the generated assertions, one per line (the records' target format)
    logprob: float
    tokens: int  # generated tokens summed over (end token included when finished)
    finished: bool  # the model ended it (False: cut at max_new_tokens)
    # The generated token ids the sum is over: byte-level pieces of a character may decode to
    # U+FFFD, so the text alone does not always give the tokens back.
    token_ids: tuple[int, ...] = ()

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.split("\n") if line.strip()]

    def to_dict(self) -> dict:
        return {"text": self.text, "logprob": self.logprob, "tokens": self.tokens, "finished": self.finished,
                "token_ids": list(self.token_ids)}


@dataclass(frozen=True)
class DecodeOptions:
    num_return: int = 1
    num_beams: int | None = None  # None: num_return (greedy for 1)
    max_new_tokens: int = 64
    batch_size: int = 32

    def beams(self) -> int:
        beams = self.num_return if self.num_beams is None else self.num_beams
        if self.num_return < 1 or beams < self.num_return:
            raise ConfigError(f"--num-return must be at least 1 and --num-beams ({beams}) at least --num-return "
                              f"({self.num_return})")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise ConfigError("--max-new-tokens and --batch-size must be at least 1")
        return beams


def suggest(student, records: list[Record], options: DecodeOptions) -> list[list[Suggestion]]:
    """options.num_return suggestions per record, best first."""
    import torch

    beams = options.beams()
    if not records:
        return []
    tok, model, enc = student.tokenizer, student.model, student.encoding
    features = encode_records(records, tok, enc.max_source_len, enc.max_target_len, focal_context=enc.focal_context)
    config = copy.deepcopy(model.generation_config)
    # For an encoder-decoder, max_length counts the decoder start token (as trident.generation sets it).
    config.max_length, config.max_new_tokens = options.max_new_tokens + 1, None
    config.num_beams, config.num_return_sequences, config.do_sample = beams, options.num_return, False
    config.output_logits, config.return_dict_in_generate = True, True
    eos = tok.eos_token_id
    out: list[list[Suggestion]] = []
    for start in range(0, len(features), options.batch_size):
        rows = [f["input_ids"] for f in features[start:start + options.batch_size]]
        width = max(map(len, rows))
        ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows], device=student.device)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=student.device)
        with torch.no_grad():
            gen = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)
            steps = model.compute_transition_scores(gen.sequences, gen.logits, getattr(gen, "beam_indices", None)
                                                    if beams > 1 else None, normalize_logits=True)
        generated = gen.sequences[:, 1:].tolist()  # after the decoder start token
        steps = steps.double().tolist()
        for i in range(len(rows)):
            per = []
            for j in range(i * options.num_return, (i + 1) * options.num_return):
                seq = generated[j]
                n = seq.index(eos) + 1 if eos in seq else len(seq)
                per.append(Suggestion(text=tok.decode(seq[:n], skip_special_tokens=True), logprob=sum(steps[j][:n]),
                                      tokens=n, finished=eos in seq[:n], token_ids=tuple(seq[:n])))
            out.append(per)
    return out
