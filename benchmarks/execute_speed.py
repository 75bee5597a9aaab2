"""Wall time of `trident evaluate --execute` on the smoke run's test split (300 records), for the
student and for its teacher, each in a fresh process as a user runs it: generation, scoring,
compiling and running every predicted test on the focal method and its mutants. Needs the run
`make smoke` writes (`make bench` trains it first when it is missing).

    python benchmarks/execute_speed.py [--run runs/smoke]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from record import record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/smoke")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    run = Path(args.run)
    if not (run / "summary.json").exists():
        sys.exit(f"{run} has no finished run: `make smoke` trains it")
    rows = []
    for who, extra in (("student", []), ("teacher", ["--with-teacher"])):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "trident", "evaluate", "--run", str(run), "--split", args.split,
                               "--execute", *extra, "--tracking.progress=false"], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(done.stderr[-2000:])
        folder = run / "eval" / (f"{args.split}-teacher" if who == "teacher" else args.split)
        m = json.loads((folder / "metrics.json").read_text())
        rows.append({"model": who, "records": m["records"], "executable": m["executable_records"],
                     "seconds (whole command)": round(seconds, 1), "f1": m["f1"], "compile_rate": m["compile_rate"],
                     "pass_rate": m["pass_rate"], "mutation_score": m["mutation_score"]})
    # The teacher row's command evaluated the student too: its time is both models'.
    rows[1]["seconds (whole command)"] = f"{rows[1]['seconds (whole command)']} (both models)"
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    record("execute", {"rows": rows, "digits": 4, "note": f"`trident evaluate --execute` on {run}'s {args.split} "
                       "split, each model in a fresh process, the whole command timed."})


if __name__ == "__main__":
    main()
