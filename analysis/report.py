"""`python analysis/report.py …`: the before/after report, run from the repository root as the
design card names it. The code is `trident.analysis.report` (the same options; `--help`)."""
import sys
from pathlib import Path

# Run as a script from a checkout: the checkout's trident, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trident.analysis.report import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
