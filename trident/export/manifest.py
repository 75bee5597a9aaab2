"""export.json: the one file that makes a folder an export, written last (atomically) so a
folder without it is an unfinished export. It says which format the folder holds, which run
and model it came from, the bytes of the float model and of the export's own weights, and the
library versions that wrote it (an int8 state dict or an ONNX graph is read back by the same
libraries)."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trident.errors import DataError
from trident.io import atomic_write_json

EXPORT_FILE = "export.json"
FORMATS = ("int8", "onnx")


@dataclass(frozen=True)
class ExportManifest:
    format: str  # one of FORMATS
    source_run: str | None  # the run folder exported (None when a bare model folder was)
    source_model: str  # the float model folder
    float_bytes: int  # the float model's weights on disk (its *.safetensors, or pytorch_model*.bin, files)
    bytes: int  # this export's weights on disk (weight_files)
    weight_files: list[str]  # relative to the export folder
    versions: dict[str, str]
    details: dict[str, Any] = field(default_factory=dict)  # the format's own settings

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def write_manifest(folder: Path, manifest: ExportManifest) -> None:
    atomic_write_json(folder / EXPORT_FILE, manifest.to_json())


def read_manifest(folder: Path) -> ExportManifest:
    """The folder's export.json; a DataError naming the file when it is missing, unreadable or
    of a format this trident does not know."""
    path = Path(folder) / EXPORT_FILE
    if not path.is_file():
        raise DataError(f"{folder} is not an export folder (no {EXPORT_FILE}): `trident export` writes one")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from None
    names = {f.name for f in dataclasses.fields(ExportManifest)}
    missing = sorted(n for n in names - {"details"} if not isinstance(data, dict) or n not in data)
    if missing:
        raise DataError(f"{path}: not an export description (missing {', '.join(missing)})")
    if data["format"] not in FORMATS:
        raise DataError(f"{path}: unknown export format {data['format']!r} (known: {', '.join(FORMATS)})")
    return ExportManifest(**{k: v for k, v in data.items() if k in names})


def weight_bytes(folder: Path, patterns: tuple[str, ...] = ("*.safetensors", "pytorch_model*.bin")) -> tuple[int, list[str]]:
    """Bytes of the weight files directly in `folder` (by pattern), and their names, sorted."""
    files = sorted({p for pattern in patterns for p in Path(folder).glob(pattern) if p.is_file()})
    return sum(p.stat().st_size for p in files), [p.name for p in files]


def export_versions() -> dict[str, str]:
    """The libraries that write and read an export back (ONNX's only where installed)."""
    from trident.runs import library_versions

    versions = library_versions()
    for name in ("onnx", "onnxruntime", "onnxscript"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return versions
