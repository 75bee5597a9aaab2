"""What the scripts in analysis/ share: where outputs and studies are by default, data gaps
printed as warnings, and a user's mistake as one line on stderr with exit status 2 (as the CLI)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

from trident.errors import TridentError

OUT = Path("reports") / "analysis"
STUDIES = Path("sweeps") / "studies"  # where `trident sweep` keeps its SQLite studies


def default_storage(study: str) -> str:
    return f"sqlite:///{STUDIES / (study + '.db')}"


def warn(prog: str, problems: Iterable[str]) -> None:
    for problem in problems:
        print(f"{prog}: warning: {problem}", file=sys.stderr)


def run_script(prog: str, body: Callable[[], Sequence[Path]]) -> int:
    """Run `body` (which returns the files it wrote): 0 and the files named, or 2 and one line."""
    try:
        written = body()
    except TridentError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
