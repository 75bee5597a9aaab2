"""Every error trident raises on purpose, in one place.

Each is a user's problem, not a bug: the CLI prints its message on one line and exits 2
(3 for NonFiniteTraining). Messages name the file, line or config key they are about.
"""
from __future__ import annotations

from pathlib import Path


class TridentError(Exception):
    """Base of the errors below: what `trident` reports without a traceback."""


class ConfigError(TridentError, ValueError):
    """A config file, override or sweep-driven value that cannot be used; names the key."""


class ModelNameError(ConfigError):
    """A model, tokenizer or encoder name that is no preset, no usable local folder, and no hub
    model this machine can get (unknown, or the hub unreachable with no cached copy)."""


class DataError(TridentError, ValueError):
    """A data file or folder that cannot be read as records; the message names it."""


class BadRecord(DataError):
    """One line of a record file that is not a usable record."""

    def __init__(self, path: Path, line: int, reason: str, detail: str):
        self.path, self.line, self.reason, self.detail = path, line, reason, detail
        super().__init__(f"{path}:{line}: {detail}")


class RunDirError(TridentError):
    """A run directory this run may not use (held by a live run, or holding a finished one)."""


class SweepError(TridentError, ValueError):
    """A sweep file or study storage that cannot be used."""


class VocabularyMismatch(TridentError, ValueError):
    """Teacher and student tokenizers differ, so their logits cannot be compared."""


class NonFiniteTraining(TridentError, RuntimeError):
    """Training produced non-finite losses or gradients for too many steps in a row."""
