"""Importing a user's module so that what it registers (loss components, rewards, importers,
sweep engines) can be named on the command line like a built-in."""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from trident.errors import ConfigError

_loaded: set[str] = set()


def load_plugin(spec: str, option: str) -> None:
    """Import `spec`: a module name on the import path, or the path of a .py file. Each is
    imported once per process; a failure is a ConfigError naming `option` (the flag or key)."""
    if spec in _loaded:
        return
    try:
        if spec.endswith(".py"):
            path = Path(spec)
            if not path.is_file():
                raise FileNotFoundError(f"no such file {path}")
            module_spec = importlib.util.spec_from_file_location(f"trident_plugin_{path.stem}", path)
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            importlib.import_module(spec)
    except Exception as exc:
        raise ConfigError(f"{option}: cannot import {spec!r}: {type(exc).__name__}: {exc}") from None
    _loaded.add(spec)
