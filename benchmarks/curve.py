"""Where the embedded teacher's F1 flattens: the smoke teacher trained for longer than `make
smoke` gives it, validated after every epoch, with the minutes each epoch took.

    python benchmarks/curve.py [--epochs 15] [--config experiments/smoke.yaml]

Writes the "learning curve" section of benchmarks/results.md: epoch, optimizer steps, minutes
since the start, validation loss, F1 and exact match. Runs in a scratch folder (its own data
and runs), so nothing it trains is reused by `make smoke`.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from record import record

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--config", default="experiments/smoke.yaml")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trident-curve-"))
    shutil.copytree(ROOT / "experiments", work / "experiments")
    cmd = [sys.executable, "-m", "trident", "teacher", "--config", args.config, f"--teacher_train.epochs={args.epochs}",
           "--teacher_train.eval_every_epoch=true", "--tracking.progress=false", "--tracking.wandb=disabled"]
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    teacher = next((work / "runs").glob("teacher-*"))
    steps = list(csv.DictReader((teacher / "step_metrics.csv").open()))
    summary = json.loads((teacher / "summary.json").read_text())
    # wall time per step from the Trainer's throughput, so validation passes are counted where they happen
    per_epoch = len(steps) / args.epochs
    total_s = summary["wall_time_s"]
    rows = []
    for r in csv.DictReader((teacher / "eval_metrics.csv").open()):
        step = int(r["step"])
        rows.append({"epoch": round(float(r["epoch"]), 2), "steps": step,
                     "minutes (share of the whole run)": round(total_s * step / len(steps) / 60, 2),
                     "val loss": float(r["eval_loss"]), "f1": float(r["eval_f1"]),
                     "exact_match": float(r["eval_exact_match"])})
    print(json.dumps(rows, indent=2))
    record("curve", {"rows": rows, "digits": 4,
                     "note": f"`trident teacher --config {args.config} --teacher_train.epochs={args.epochs}` from "
                             f"nothing ({per_epoch:.0f} optimizer steps per epoch, {total_s / 60:.1f} min in all, "
                             "validation included), validated after every epoch on the config's validation records."})
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
