"""The ONNX format: the seq2seq model as two ONNX graphs written by `torch.onnx.export` (the
dynamo exporter, torch 2.13's default), run by ONNX Runtime (trident.export.onnx_model).

    encoder.onnx  (input_ids, attention_mask) → last_hidden_state
    decoder.onnx  (decoder_input_ids, encoder_hidden_states, encoder_attention_mask) → logits

The decoder has no key/value cache: every step recomputes the whole prefix it is given. That
keeps the graph a plain function of its inputs, so beam search needs nothing beyond reordering
the prefixes it already holds; the price is a step cost that grows with the output's length.

Why not Hugging Face Optimum (`optimum[onnxruntime]`, whose exporter lives in `optimum-onnx`):
its newest release (optimum-onnx 0.1.0) requires transformers < 4.58, and trident pins
transformers >= 5, so pip would downgrade transformers to install it.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
OPSET = 18


class _Encoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.encoder = model.get_encoder()

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state


class _Decoder(torch.nn.Module):
    """The decoder and the LM head (with T5's scaling of tied embeddings, inside the model's forward)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, decoder_input_ids, encoder_hidden_states, encoder_attention_mask):
        out = self.model(encoder_outputs=(encoder_hidden_states,), attention_mask=encoder_attention_mask,
                         decoder_input_ids=decoder_input_ids, use_cache=False, return_dict=True)
        return out.logits


def _export(module, args: tuple, path: Path, names: list[str], output: str, shapes: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's own notes on every traced op
        program = torch.onnx.export(module, args, dynamo=True, input_names=names, output_names=[output],
                                    dynamic_shapes=shapes, opset_version=OPSET, external_data=False,
                                    optimize=True, verbose=False)
    program.save(str(path))


def require_onnx() -> None:
    """A ConfigError saying how to install the ONNX libraries (an optional extra) when one is missing."""
    import importlib.util

    missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        from trident.errors import ConfigError

        raise ConfigError(f"the ONNX format needs {', '.join(missing)}: pip install -e '.[onnx]'")


def save(model_dir: Path, out: Path) -> dict:
    """Write encoder.onnx and decoder.onnx (with their weights inside) and the model's config and
    generation config into `out` (the tokenizer is the caller's). Returns the format's details."""
    require_onnx()
    from transformers import AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, dtype=torch.float32).to("cpu").eval()
    if not model.config.is_encoder_decoder:
        raise ValueError(f"{model_dir}: ONNX export needs an encoder-decoder model")
    model.config.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    batch, src, tgt = torch.export.Dim("batch"), torch.export.Dim("source"), torch.export.Dim("target")
    ids = torch.ones((2, 7), dtype=torch.long)
    mask = torch.ones((2, 7), dtype=torch.long)
    start = model.config.decoder_start_token_id
    dec = torch.full((2, 3), start if start is not None else 0, dtype=torch.long)
    with torch.no_grad():
        hidden = _Encoder(model)(ids, mask)
        _export(_Encoder(model), (ids, mask), out / ENCODER_FILE, ["input_ids", "attention_mask"],
                "last_hidden_state", {"input_ids": {0: batch, 1: src}, "attention_mask": {0: batch, 1: src}})
        _export(_Decoder(model), (dec, hidden, mask), out / DECODER_FILE,
                ["decoder_input_ids", "encoder_hidden_states", "encoder_attention_mask"], "logits",
                {"decoder_input_ids": {0: batch, 1: tgt}, "encoder_hidden_states": {0: batch, 1: src},
                 "encoder_attention_mask": {0: batch, 1: src}})
    return {"exporter": "torch.onnx.export(dynamo=True)", "opset": OPSET, "graphs": [ENCODER_FILE, DECODER_FILE],
            "kv_cache": False, "runtime": "onnxruntime (CPUExecutionProvider)"}
