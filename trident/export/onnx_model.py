"""The ONNX format's two graphs behind transformers' `generate`.

`OnnxSeq2SeqLM` is a transformers model class whose encoder and forward pass run the ONNX
Runtime sessions of encoder.onnx and decoder.onnx (trident.export.onnx) instead of torch
layers, so every decoding strategy of `generate` (greedy, beam search with
num_return_sequences, scores) is transformers' own, not a copy. The decoder graph has no
key/value cache: the model says so (`use_cache=False`), and `generate` then hands it the whole
prefix at each step.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import GenerationConfig, GenerationMixin, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput, Seq2SeqLMOutput

from trident.export.onnx import DECODER_FILE, ENCODER_FILE


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # as torch's, so the two compare on the same cores
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def _np(t: torch.Tensor, dtype) -> np.ndarray:
    return t.detach().to("cpu").numpy().astype(dtype, copy=False)


class _OnnxEncoder(torch.nn.Module):
    main_input_name = "input_ids"

    def __init__(self, session):
        super().__init__()
        self.session = session

    def forward(self, input_ids=None, attention_mask=None, return_dict=True, **_ignored) -> BaseModelOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        (hidden,) = self.session.run(None, {"input_ids": _np(input_ids, np.int64),
                                            "attention_mask": _np(attention_mask, np.int64)})
        return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))


class OnnxSeq2SeqLM(PreTrainedModel, GenerationMixin):
    """An encoder-decoder whose two halves are ONNX Runtime sessions (CPU)."""

    config_class = PretrainedConfig
    main_input_name = "input_ids"
    base_model_prefix = "onnx"

    def __init__(self, config: PretrainedConfig, folder: Path, threads: int | None = None):
        super().__init__(config)
        threads = threads or torch.get_num_threads()
        self.encoder = _OnnxEncoder(_session(Path(folder) / ENCODER_FILE, threads))
        self.decoder_session = _session(Path(folder) / DECODER_FILE, threads)
        try:
            self.generation_config = GenerationConfig.from_pretrained(folder)
        except OSError:
            self.generation_config = GenerationConfig.from_model_config(config)
        self.generation_config.use_cache = False  # the decoder graph has no key/value cache
        self.eval()

    # no torch parameters to read them from: the sessions run on the CPU, in float32
    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def get_encoder(self):
        return self.encoder

    def can_generate(self) -> bool:
        return True

    def forward(self, input_ids=None, attention_mask=None, decoder_input_ids=None, encoder_outputs=None,
                return_dict=True, **_ignored) -> Seq2SeqLMOutput:
        if encoder_outputs is None:
            encoder_outputs = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        hidden = encoder_outputs[0] if isinstance(encoder_outputs, (tuple, list)) else encoder_outputs.last_hidden_state
        if attention_mask is None:
            attention_mask = torch.ones(hidden.shape[:2], dtype=torch.long)
        (logits,) = self.decoder_session.run(None, {
            "decoder_input_ids": _np(decoder_input_ids, np.int64),
            "encoder_hidden_states": _np(hidden, np.float32),
            "encoder_attention_mask": _np(attention_mask, np.int64)})
        return Seq2SeqLMOutput(logits=torch.from_numpy(logits), encoder_last_hidden_state=hidden)


def load(folder: Path, threads: int | None = None) -> OnnxSeq2SeqLM:
    from transformers import AutoConfig

    from trident.export.onnx import require_onnx

    require_onnx()
    return OnnxSeq2SeqLM(AutoConfig.from_pretrained(folder), folder, threads)
