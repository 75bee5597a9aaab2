"""Speed of `trident data mine`: files/s and records/s, on the test fixture project and on the
synthetic corpus written out as a Java tree (one focal class and one test class per record),
with one worker and with one per core, in one process so the ratio compares like with like.

    python benchmarks/mine_speed.py                  # 2,000 synthetic records = 4,000 files
    python benchmarks/mine_speed.py --records 6000
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pandas as pd

from record import record
from trident.data.mining.miner import MineOptions, mine
from trident.data.synth import generate_records
from trident.data.synth.java_tree import write_java_tree

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mine-project"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000, help="synthetic records (two files each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is reported")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "synth-java"
        write_java_tree(generate_records(args.records, 0), tree)
        for name, root in (("fixture", FIXTURE), (f"synthetic ({args.records} records)", tree)):
            for workers in sorted({1, cores}):
                best = None
                for i in range(args.repeat):
                    stats = mine([root], Path(tmp) / f"out-{i}", MineOptions(workers=workers), progress=False)
                    if best is None or stats.seconds < best.seconds:
                        best = stats
                rows.append({"corpus": name, "workers": workers, "files": best.java_files,
                             "records": sum(best.records.values()), "seconds": best.seconds,
                             "files/s": best.files_per_second, "records/s": best.records_per_second})
    print(pd.DataFrame(rows).to_string(index=False))
    record("mine", {"rows": rows, "digits": 2, "note": f"`trident data mine`, best of {args.repeat}, one worker and "
                    "one per core, on the test fixture project and the synthetic corpus written as a Java tree."})


if __name__ == "__main__":
    main()
