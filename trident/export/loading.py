"""Any export folder → (model, tokenizer), for `trident generate --model EXPORTED` and the parity
benchmark. The model is a transformers model: `generate(input_ids=..., attention_mask=...,
num_beams=..., num_return_sequences=..., max_new_tokens=..., output_scores=True,
return_dict_in_generate=True)` works on it as on the float model."""
from __future__ import annotations

from pathlib import Path

from trident.errors import ConfigError
from trident.export.manifest import EXPORT_FILE, read_manifest


def is_exported(path: Path) -> bool:
    """Whether `path` is an export folder (holds export.json, which `trident export` writes last)."""
    return (Path(path) / EXPORT_FILE).is_file()


def load_exported(path: Path, device: str = "cpu"):
    """(model, tokenizer) of the export folder `path`, in eval mode. Both formats run on the CPU
    (int8: PyTorch's quantized CPU kernels; ONNX: ONNX Runtime's CPU provider): another
    `device` is a ConfigError, never a silent fallback."""
    from trident.models import load_tokenizer

    path = Path(path)
    manifest = read_manifest(path)
    if str(device).split(":")[0] not in ("cpu", "auto"):  # auto: the CPU, where both formats run
        raise ConfigError(f"{path}: the {manifest.format} export runs on the CPU only, not on {device!r} "
                          "(use --device cpu, or the float model for a GPU)")
    if manifest.format == "int8":
        from trident.export import int8

        model = int8.load(path)
    else:
        from trident.export import onnx_model

        model = onnx_model.load(path)
    return model, load_tokenizer(path)
