"""The model `trident generate` runs, and the encoding settings it must be given inputs with.

`--model` names one of:
- a run directory (config.yaml + model/): its model, encoded with the run's own data settings
  (max_source_len, max_target_len, focal_context), so inputs are cut exactly as in training and
  evaluation; generation length and batch size default to the run's eval settings;
- an export folder (export.json, `trident export`): loaded by trident.export.loading, encoded
  with the settings of the run it was exported from when that run is still there;
- any model folder with config.json (a Hugging Face seq2seq checkpoint and its tokenizer):
  encoded with the config defaults, which the summary line says.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from trident.config import DataConfig, EvalConfig, load_config
from trident.errors import ConfigError, RunDirError


@dataclass(frozen=True)
class Encoding:
    max_source_len: int
    max_target_len: int
    focal_context: str
    origin: str  # where the settings come from, for the summary line


@dataclass
class Student:
    model: object  # a seq2seq model with Hugging Face's generate()
    tokenizer: object
    encoding: Encoding
    max_new_tokens: int  # defaults for the command's options
    batch_size: int
    device: str
    name: str


def _run_settings(run: Path) -> tuple[Encoding, EvalConfig]:
    cfg = load_config(run / "config.yaml")
    d = cfg.data
    return Encoding(d.max_source_len, d.max_target_len, d.focal_context, f"run {run}"), cfg.eval


def _defaults(what: str) -> tuple[Encoding, EvalConfig]:
    d = DataConfig()
    return Encoding(d.max_source_len, d.max_target_len, d.focal_context, f"the config defaults ({what})"), EvalConfig()


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_student(path: Path, device: str = "auto") -> Student:
    import sys

    from trident.tracking import set_progress_bars

    set_progress_bars(sys.stderr.isatty())  # weight loading's bar: for a person watching, not for logs
    if not path.is_dir():
        raise ConfigError(f"--model {path}: not a folder (give a run directory, a model folder or an export)")
    if (path / "export.json").is_file():
        from trident.export.loading import load_exported  # only exports need it (ONNX Runtime, quantization)

        device = "cpu" if device == "auto" else device  # both export formats run on the CPU; the loader refuses others
        model, tokenizer = load_exported(path, device)
        try:
            source_run = json.loads((path / "export.json").read_text(encoding="utf-8")).get("source_run")
        except (OSError, ValueError):
            source_run = None
        if source_run and (Path(source_run) / "config.yaml").is_file():
            encoding, ev = _run_settings(Path(source_run))
        else:
            encoding, ev = _defaults("the export's run is not there")
        return Student(model, tokenizer, encoding, ev.max_new_tokens, ev.batch_size, device, str(path))
    if (path / "config.yaml").is_file():  # a run directory
        model_dir = path / "model"
        if not (model_dir / "config.json").is_file():
            raise RunDirError(f"{path} holds no trained model (expected {model_dir}/config.json): is the run finished?")
        encoding, ev = _run_settings(path)
    elif (path / "config.json").is_file():
        model_dir = path
        encoding, ev = _defaults("a bare model folder has no run config")
    else:
        raise ConfigError(f"--model {path}: neither a run directory (config.yaml, model/), a model folder "
                          "(config.json) nor an export (export.json)")
    device = pick_device(device)
    from transformers import AutoModelForSeq2SeqLM

    from trident.models import load_tokenizer

    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).to(device).eval()
    return Student(model, tokenizer, encoding, ev.max_new_tokens, ev.batch_size, device, str(path))
