"""What the embedded default learns, and what it costs: each make target the README quotes, run
from nothing in a scratch folder, timed stage by stage, with teacher, student and retrieval
baseline scored on the same split.

- smoke: `make smoke`'s commands (data → teacher → student → evaluate --with-teacher, plus
  --execute for pass rates): minutes per stage, and F1, EM, PANS, pass rate of teacher,
  student and the retrieval baseline on the test split;
- sweep-beta: `make sweep-beta` (teacher included): minutes, and every trial's F1 with its 95%
  interval against the retrieval row;
- before-after-smoke: `make sweep-before-after-smoke`: minutes, and each configuration's F1,
  pass rate and the width of its Δ interval.

    python benchmarks/quality.py smoke              # part of make bench
    python benchmarks/quality.py sweep-beta         # 17.6 min from a fresh clone (docs/performance.md, Timings): run on a quiet machine
    python benchmarks/quality.py before-after-smoke

Each runs in a fresh scratch folder (its own data/, runs/ and sweeps/studies/), so a warm cache
or an earlier teacher never makes it look faster than a fresh clone.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import record

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], cwd: Path) -> tuple[float, str]:
    env = {**os.environ, "WANDB_SILENT": "true", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def _scratch() -> Path:
    """A folder holding the project's configs (experiments/, sweeps/) and nothing it made."""
    work = Path(tempfile.mkdtemp(prefix="trident-quality-"))
    for folder in ("experiments", "sweeps"):
        shutil.copytree(ROOT / folder, work / folder, ignore=shutil.ignore_patterns("studies"))
    return work


def _trident(*args: str) -> list[str]:
    return [sys.executable, "-m", "trident", *args]


def _metrics(path: Path) -> dict:
    return json.loads(path.read_text())


def smoke() -> None:
    work = _scratch()
    cfg = "experiments/smoke.yaml"
    stages = [("data", _trident("data", "synth", "--out", "data/synth", "--n", _synth_n(cfg), "--seed", "0")),
              ("teacher", _trident("teacher", "--config", cfg, "--tracking.progress=false")),
              ("student", _trident("train", "--config", cfg, "--overwrite", "--tracking.progress=false")),
              ("evaluate", _trident("evaluate", "--run", "runs/smoke", "--split", "test", "--with-teacher",
                                    "--execute", "--tracking.progress=false"))]
    seconds = {}
    for name, cmd in stages:
        seconds[name], _ = _run(cmd, work)
    total = sum(seconds.values())  # make smoke's own commands
    run = work / "runs" / "smoke"
    summary = json.loads((run / "summary.json").read_text())
    teacher_summary = json.loads((work / Path(summary["teacher"]).parent / "summary.json").read_text())
    rows = []
    for who, folder, steps in (("teacher", "test-teacher", teacher_summary["global_step"]),
                               ("student", "test", summary["global_step"]), ("retrieval", "test-retrieval", 0)):
        m = _metrics(run / "eval" / folder / "metrics.json")
        rows.append({"model": who, "steps": steps, "f1": m["f1"], "exact_match": m["exact_match"], "pans": m["pans"],
                     "pass_rate": m.get("pass_rate"), "records": m["records"]})
    t, s, r = (row["f1"] for row in rows)
    checks = {"make smoke minutes (≤ 10)": round(total / 60, 2), "teacher F1 (≥ 0.30)": round(t, 4),
              "teacher pass rate (≥ 0.30)": rows[0]["pass_rate"], "student/teacher F1 (≥ 0.9)": round(s / t, 3) if t else None,
              "teacher/retrieval F1 (≥ 5)": round(t / r, 2) if r else None,
              "student/retrieval F1 (≥ 5)": round(s / r, 2) if r else None}
    stage_rows = [{"stage": k, "seconds": round(v, 1)} for k, v in seconds.items()]
    print(json.dumps({"rows": rows, "checks": checks, "stages": stage_rows}, indent=2))
    record("quality-smoke", {
        "rows": rows, "digits": 4,
        "note": f"`make smoke` from nothing (experiments/smoke.yaml, {_synth_n(cfg)}-record synthetic corpus), test "
                f"split; whole make smoke: {total / 60:.1f} min. Targets (issue 20): "
                + "; ".join(f"{k}: {v}" for k, v in checks.items()),
        "tables": [{"title": "Seconds per stage (evaluate: teacher, student and retrieval generated or retrieved, "
                             "scored, compiled and run)",
                    "rows": stage_rows, "digits": 1}]})
    shutil.rmtree(work, ignore_errors=True)


def _synth_n(cfg: str) -> str:
    import yaml

    return str(yaml.safe_load((ROOT / cfg).read_text())["data"]["synth_n"])


_TRIAL = re.compile(r"^(\S+)\s+(complete|baseline|fail|pruned)\s")


def sweep(name: str, report: bool) -> None:
    """A make target's sweep from nothing: the sweep (data, teacher, trials, retrieval row) timed."""
    work = _scratch()
    seconds, out = _run(_trident("data", "synth", "--out", "data/synth", "--n", "6000", "--seed", "0"), work) \
        if name == "beta" else (0.0, "")
    sweep_s, out = _run(_trident("sweep", f"sweeps/{name}.yaml"), work)
    seconds += sweep_s
    table = [line for line in out.splitlines() if _TRIAL.match(line)]
    rows = []
    for line in table:
        intervals = re.findall(r"\[(-?[\d.]+), (-?[\d.]+)\]", line)
        lo, hi = map(float, intervals[0]) if intervals else (None, None)
        cols = line.split()
        f1 = next((float(c) for c in cols[2:] if re.fullmatch(r"-?\d+\.\d{4}", c)), None)
        rows.append({"row": cols[0], "state": cols[1], "f1": f1, "ci lo": lo, "ci hi": hi,
                     "half-width": None if lo is None else round((hi - lo) / 2, 4)})
    note = f"`make sweep-{name}` from nothing (teacher included): {seconds / 60:.1f} min."
    tables = []
    if report:
        rep_s, rep = _run([sys.executable, str(ROOT / "analysis" / "report.py"), "--study", name, "--no-png",
                           "--out", "reports"], work)
        note += f" The report took {rep_s:.0f} s."
        tables.append({"title": "The report's table", "rows": [{"markdown": line} for line in rep.splitlines()
                                                               if line.startswith("| ")]})
    print(out)
    record(f"quality-{name}", {"rows": rows, "digits": 4, "note": note + " Trials table:\n\n```\n" + "\n".join(
        line for line in out.splitlines() if line.strip()) + "\n```", "tables": tables})
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["smoke", "sweep-beta", "before-after-smoke"])
    args = p.parse_args()
    if args.what == "smoke":
        smoke()
    elif args.what == "sweep-beta":
        sweep("beta", report=False)
    else:
        sweep("before-after-smoke", report=True)


if __name__ == "__main__":
    main()
