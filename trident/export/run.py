"""`trident export`: a finished run's model → an export folder per format (default
`<run>/export/<format>/`), written in a scratch folder that replaces the old one only when
complete, export.json last."""
from __future__ import annotations

import time
from pathlib import Path

from trident.errors import ConfigError, RunDirError
from trident.export.manifest import FORMATS, ExportManifest, export_versions, weight_bytes, write_manifest
from trident.io import make_readable, replacing_folder
from trident.rundir import RunDir
from trident.runs import existing_run

# each format's weight files, for export.json's `bytes`
WEIGHT_PATTERNS = {"int8": ("*.pt",), "onnx": ("*.onnx", "*.onnx.data")}


def default_out(run: Path, fmt: str) -> Path:
    return Path(run) / "export" / fmt


def finished_model(run_path: Path) -> tuple[RunDir, Path]:
    """The run at `run_path` and its trained model folder; a RunDirError saying why there is none."""
    run = existing_run(Path(run_path))
    if not run.is_finished():
        raise RunDirError(f"{run.summary} is missing: the run did not finish (or is still running), so it has "
                          "no final model to export; finish it with --train.resume=true first")
    if not (run.model / "config.json").is_file():
        raise RunDirError(f"{run.root} holds no trained model (expected {run.model}): a baseline run has none")
    return run, run.model


def export_run(run_path: Path, fmt: str, out: Path | None = None) -> tuple[Path, ExportManifest, float]:
    """Export the run's model as `fmt` into `out`; returns (folder, manifest, seconds)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    run, model_dir = finished_model(run_path)
    out = Path(out) if out is not None else default_out(run.root, fmt)
    if out.resolve() == model_dir.resolve() or model_dir.resolve() in out.resolve().parents:
        raise ConfigError(f"--out {out} is inside the model folder {model_dir}: choose another folder")
    from trident.models import load_tokenizer

    if fmt == "int8":
        from trident.export import int8 as module
    else:
        from trident.export import onnx as module
    started = time.perf_counter()
    float_bytes, _ = weight_bytes(model_dir)
    with replacing_folder(out) as tmp:
        details = module.save(model_dir, tmp)
        load_tokenizer(model_dir).save_pretrained(tmp)
        size, files = weight_bytes(tmp, WEIGHT_PATTERNS[fmt])
        manifest = ExportManifest(format=fmt, source_run=str(run.root), source_model=str(model_dir),
                                  float_bytes=float_bytes, bytes=size, weight_files=files,
                                  versions=export_versions(), details=details)
        make_readable(tmp)
        write_manifest(tmp, manifest)
    return out, manifest, time.perf_counter() - started
