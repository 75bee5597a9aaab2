"""The int8 format: dynamic int8 quantization of the `torch.nn.Linear` layers (weights int8 with
one scale per output channel, activations quantized on the fly per batch), with PyTorch's
eager-mode `torch.ao.quantization.quantize_dynamic`.

Which layers: every Linear layer of the encoder and decoder (attention and feed-forward). The LM
head stays float32 like the embeddings: it is tied to the input embedding (T5, CodeT5+), so an
int8 copy would add bytes rather than save them, and the output distribution is where rounding
flips a greedy choice. Per-channel rather than per-tensor scales for the same reason. Measured on
48 test records of a 1-epoch smoke student, identical greedy predictions: per tensor, all Linear
layers 54%; per channel, all 85%; per channel, LM head float 90% (the setting here).

Why that API although torch 2.13 marks `torch.ao.quantization` deprecated in favour of torchao's
`quantize_`: it is PyTorch's own, it runs the Linear layers on the CPU's int8 kernels (fbgemm /
oneDNN) in eager mode, which is where `generate` runs, and it needs no further package. The
deprecation warning it prints is silenced here only, around the calls; `QUANTIZE` names the one
call to change when it is removed.

Stored as: the float model's config.json and generation_config.json, its tokenizer, and
`int8_state_dict.pt` (torch.save of the quantized model's state dict: packed int8 weights with
their scales, and the float tensors of the layers that stay float). safetensors cannot hold the
packed weights, so the file is a torch pickle, read back with `weights_only=True` (tensors and
plain containers only, no code). Reloading rebuilds the float architecture from the config,
quantizes it the same way, then loads the state dict over it.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

WEIGHTS_FILE = "int8_state_dict.pt"
DTYPE = torch.qint8
LAYERS = frozenset({torch.nn.Linear})


@contextmanager
def _quiet_deprecation():
    # torch.ao.quantization warns on every call that it is deprecated (module doc: why it is used anyway)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions.*deprecated.*")
        warnings.filterwarnings("ignore", message=r".*TypedStorage is deprecated.*")
        yield


def quantized_names(model: torch.nn.Module) -> list[str]:
    """The Linear layers `quantize` converts: all but the output embeddings (the LM head)."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return [name for name, m in model.named_modules() if type(m) in LAYERS and m is not head]


def quantize(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` (on CPU, eval mode) with its Linear layers (quantized_names) int8
    dynamically quantized, weights per output channel."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    model = model.to("cpu").eval()
    with _quiet_deprecation():
        return quantize_dynamic(model, {name: per_channel_dynamic_qconfig for name in quantized_names(model)},
                                dtype=DTYPE, inplace=False)


def quantized_linear_count(model: torch.nn.Module) -> tuple[int, int]:
    """(quantized Linear layers, float Linear layers left) in `model`."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    modules = list(model.modules())
    return (sum(isinstance(m, DynamicLinear) for m in modules),
            sum(type(m) is torch.nn.Linear for m in modules))


def save(model_dir: Path, out: Path) -> dict:
    """Quantize the float model in `model_dir` and write the int8 folder's model files into `out`
    (the tokenizer is the caller's). Returns the format's details for export.json."""
    from transformers import AutoModelForSeq2SeqLM

    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, dtype=torch.float32)  # a bf16 checkpoint too
    model.config.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    qmodel = quantize(model)
    with _quiet_deprecation():
        torch.save(qmodel.state_dict(), out / WEIGHTS_FILE)
    quantized, left = quantized_linear_count(qmodel)
    return {"quantization": "torch.ao.quantization.quantize_dynamic", "dtype": str(DTYPE),
            "weight_scales": "per output channel", "layers": "every Linear layer but the LM head",
            "quantized_linear_layers": quantized, "float_linear_layers": left,
            "engine": torch.backends.quantized.engine}


def load(folder: Path):
    """The int8 model of an export folder: the float architecture from its config, quantized,
    then the saved int8 state dict loaded over it (strictly: every key must match)."""
    from transformers import AutoConfig, AutoModelForSeq2SeqLM, GenerationConfig

    config = AutoConfig.from_pretrained(folder)
    torch.manual_seed(0)  # the float init is overwritten by the state dict; seeded all the same
    model = AutoModelForSeq2SeqLM.from_config(config)
    try:
        model.generation_config = GenerationConfig.from_pretrained(folder)
    except OSError:
        pass  # an export written without one: the config's defaults
    qmodel = quantize(model)
    with _quiet_deprecation():
        state = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        qmodel.load_state_dict(state, strict=True)
    return qmodel.eval()
