"""The whole pipeline on a corpus mined from real Java repositories, on a bounded budget.

    python benchmarks/real_corpus.py --data DIR [--budget-min 35] [--runs DIR]
           [--teacher-steps N] [--student-steps N] [--v1-steps N] [--epochs E]
           [--max-source-len 384] [--max-target-len 96] [--vocab 8000] [--max-val 100] [--max-test N]

DIR is a `trident data corpus build` output (train/val/test.jsonl). Each stage runs as a
subprocess of the real CLI (`python -m trident …`) in a scratch runs folder, in this order:

    baseline retrieval (test)  →  teacher  →  train legacy  →  train trident-v1
    →  evaluate legacy --with-teacher (teacher, legacy and the retrieval row on test)
    →  evaluate trident-v1 --no-retrieval (test)

with experiments/legacy.yaml and experiments/trident-v1.yaml, the tiny presets, the corpus given
(`--data.dir=DIR --data.synth_n=0`), one source/target length for every stage (so both students
share one teacher) and validation during training cut to --max-val records. Per stage it
records wall time and peak resident memory (os.wait4's ru_maxrss of that subprocess and the
children it waited for); then the training steps per second, the evaluation records per second,
the encoding throughput (val + test encoded in this process with the run's tokenizer), what
encoding cut to fit (the CLI's "cut to fit" lines and the summaries' counts), and the test-split
metrics of every model with a 95% paired bootstrap interval of micro F1
(trident.sweeps.intervals, 2000 replicates) and of each model's F1 minus the retrieval row's.
Written with record("real-corpus", …) into benchmarks/results.{json,md}.

`trident evaluate` always generates for the whole split; greedy generation of these models runs
at 28-34 records/s per model on 2 shared cores (8/s for a model so untrained that every output
runs to the length limit), so --max-test N evaluates on a seeded random sample of N test records
instead (a scratch data folder beside the runs: train and val linked, test sampled; the teacher's
key hashes train and val only). 0 (the default) = the whole test split.

The step budget: explicit --*-steps, or --epochs (no step cap), or else derived from
--budget-min with the throughputs measured on 2 shared CPU cores (STEP_RATES, steps/s at batch
32, sources 384 / targets 96, vocabulary 8000, with other work on the box): 40% of the budget
for the teacher, 15% for the legacy student, 20% for trident-v1 (which also spends ~4 minutes
outside its training loop) and the rest for evaluation.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from record import record

ROOT = Path(__file__).resolve().parent.parent
# steps/s measured by this script on the 2-core box (2026-12-04, train_runtime; see the docstring)
STEP_RATES = {"teacher": 0.33, "legacy": 0.32, "trident-v1": 0.49}
BUDGET_SHARES = {"teacher": 0.40, "legacy": 0.15, "trident-v1": 0.20}
CUT_LINE = re.compile(r"\[trident\] (\w+): (\d+) records; cut to fit: (.*)")


@dataclass(frozen=True)
class Stage:
    name: str
    wall_s: float
    peak_rss_mb: float
    returncode: int
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()


def run_stage(name: str, argv: list[str], logs: Path) -> Stage:
    """Run `python -m trident ARGV` with output to logs/NAME.log; wall time and the peak RSS of
    this subprocess alone (wait4, not the cumulative RUSAGE_CHILDREN)."""
    log = logs / f"{name}.log"
    print(f"[real-corpus] {name}: trident {' '.join(argv)}", flush=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "trident", *argv], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it: tell Popen
    stage = Stage(name, time.perf_counter() - start, usage.ru_maxrss / 1024, proc.returncode, log)
    print(f"[real-corpus] {name}: rc={stage.returncode} {stage.wall_s:.0f} s, peak {stage.peak_rss_mb:.0f} MiB",
          flush=True)
    return stage


def cut_lines(stage: Stage) -> list[str]:
    return [m.group(0) for m in map(CUT_LINE.search, stage.lines()) if m]


def steps_for(args) -> dict[str, int | None]:
    given = {"teacher": args.teacher_steps, "legacy": args.student_steps, "trident-v1": args.v1_steps}
    if args.epochs is not None:
        return {k: v for k, v in given.items()}  # None: epochs decide
    budget_s = args.budget_min * 60
    return {k: v if v is not None else max(1, int(STEP_RATES[k] * BUDGET_SHARES[k] * budget_s))
            for k, v in given.items()}


def shared_overrides(args, runs: Path) -> list[str]:
    """Everything that must be equal in every stage (the teacher key hashes data, lengths,
    vocabulary, validation size, teacher_train and eval settings)."""
    o = [f"--runs_dir={runs}", f"--data.dir={args.data}", "--data.synth_n=0",
         f"--data.max_source_len={args.max_source_len}", f"--data.max_target_len={args.max_target_len}",
         f"--model.vocab_size={args.vocab}", f"--data.max_val_records={args.max_val}",
         f"--eval.max_new_tokens={args.max_target_len}", "--teacher_train.eval_every_epoch=false",
         "--tracking.wandb=disabled", "--tracking.tensorboard=false", "--tracking.progress=false"]
    steps = steps_for(args)
    if args.epochs is not None:
        o += [f"--teacher_train.epochs={args.epochs}"]
    if steps["teacher"] is not None:
        o += [f"--teacher_train.max_steps={steps['teacher']}"]
    return o


def student_overrides(args, name: str) -> list[str]:
    steps = steps_for(args)[name]
    o = ["--train.eval_every_epoch=false"]
    if args.epochs is not None:
        o += [f"--train.epochs={args.epochs}"]
    if steps is not None:
        o += [f"--train.max_steps={steps}"]
    return o


def sample_test(data: Path, out: Path, n: int, seed: int = 0) -> Path:
    """A data folder with `data`'s train and val (links) and a seeded sample of n test records."""
    out.mkdir(parents=True)
    for split in ("train", "val"):
        (out / f"{split}.jsonl").symlink_to(data / f"{split}.jsonl")
    lines = [l for l in (data / "test.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    keep = sorted(np.random.default_rng(seed).choice(len(lines), size=min(n, len(lines)), replace=False))
    (out / "test.jsonl").write_text("".join(lines[i] + "\n" for i in keep), encoding="utf-8")
    print(f"[real-corpus] test: {len(keep)} of {len(lines)} records (seed {seed})", flush=True)
    return out


def encoding_rate(teacher: Path, data: Path) -> dict:
    """Records/s of encode_records on val + test with the run's own tokenizer and lengths."""
    from trident.config import load_config
    from trident.data.encoding import Truncation, encode_records
    from trident.models import load_tokenizer
    from trident.runs import load_records

    cfg = load_config(teacher / "config.yaml")
    tokenizer = load_tokenizer(teacher / "model")
    records = [r for split in ("val", "test") for r in load_records(cfg, split, {})]
    start = time.perf_counter()
    encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len, truncation=Truncation(),
                   focal_context=cfg.data.focal_context)
    seconds = time.perf_counter() - start
    return {"records": len(records), "seconds": seconds, "records_per_s": len(records) / seconds}


def test_table(runs: Path) -> tuple[list[dict], dict]:
    """The test metrics of every model, with paired bootstrap intervals of F1 and of F1 − retrieval's."""
    from trident.sweeps.intervals import LEVEL, bootstrap_f1, read_counts

    where = {"teacher": runs / "legacy" / "eval" / "test-teacher", "legacy": runs / "legacy" / "eval" / "test",
             "trident-v1": runs / "trident-v1" / "eval" / "test",
             "retrieval": runs / "legacy" / "eval" / "test-retrieval"}
    where = {k: v for k, v in where.items() if (v / "predictions.jsonl").exists()}
    if not where:
        return [], {}
    intervals, draws, names = bootstrap_f1({k: read_counts(v / "predictions.jsonl") for k, v in where.items()})
    tail = (1 - LEVEL) / 2 * 100
    rows, raw = [], {}
    for k, name in enumerate(names):
        m = json.loads((where[name] / "metrics.json").read_text())
        raw[name] = m
        row = {"model": name, "records": m["records"], "F1": intervals[name].value,
               "F1 95%": f"[{intervals[name].lo:.3f}, {intervals[name].hi:.3f}]"}
        if "retrieval" in names and name != "retrieval":
            d = draws[k] - draws[names.index("retrieval")]
            lo, hi = np.percentile(d, [tail, 100 - tail])
            row["F1 − retrieval 95%"] = f"{intervals[name].value - intervals['retrieval'].value:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        for key in ("exact_match", "bleu", "pans", "ast_validity", "assertion_validity"):
            row[key] = m.get(key)
        rows.append(row)
    return rows, raw


def truncation_rows(runs: Path) -> list[dict]:
    """What encoding cut, per stage and split, from the summaries and the evaluations' metrics."""
    found = []
    for summary in sorted(runs.glob("*/summary.json")):
        s = json.loads(summary.read_text())
        found += [(summary.parent.name, split, c) for split, c in (s.get("truncation") or {}).items()]
    for metrics in sorted(runs.glob("*/eval/test/metrics.json")):
        found.append((metrics.parents[2].name, "test", json.loads(metrics.read_text()).get("truncation") or {}))
    rows, seen = [], set()
    for run, split, c in found:
        n = c.get("records") or 0
        key = (split, n, c.get("source_cut"), c.get("target_cut"))
        if not n or key in seen:  # the same split encoded the same way by several stages: once
            continue
        seen.add(key)
        rows.append({"split": split, "records": n, "first seen in": run,
                     "sources cut": c.get("source_cut", 0) / n, "targets cut": c.get("target_cut", 0) / n,
                     "placeholders lost": c.get("placeholders_lost", 0),
                     "refs > max_new_tokens": (c["targets_over_max_new_tokens"] / n
                                               if "targets_over_max_new_tokens" in c else None)})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, type=Path, help="a `trident data corpus build` output folder")
    p.add_argument("--runs", type=Path, default=Path("/tmp/trident-real-runs"), help="scratch runs folder (emptied)")
    p.add_argument("--budget-min", type=float, default=35.0)
    p.add_argument("--teacher-steps", type=int)
    p.add_argument("--student-steps", type=int, help="legacy student's optimizer steps")
    p.add_argument("--v1-steps", type=int, help="trident-v1 student's optimizer steps")
    p.add_argument("--epochs", type=float, help="train by epochs (teacher and students) instead of a step budget")
    p.add_argument("--max-source-len", type=int, default=384)
    p.add_argument("--max-target-len", type=int, default=96)
    p.add_argument("--vocab", type=int, default=8000)
    p.add_argument("--max-val", type=int, default=100, help="validation records during training")
    p.add_argument("--max-test", type=int, default=0, help="evaluate on a seeded sample of N test records (0 = all)")
    args = p.parse_args()
    args.data = args.data.resolve()
    for split in ("train", "val", "test"):
        if not (args.data / f"{split}.jsonl").exists():
            sys.exit(f"{args.data}: no {split}.jsonl (expected a `trident data corpus build` output)")
    runs = args.runs.resolve()
    if runs.exists():
        import shutil

        shutil.rmtree(runs)
    logs = runs / "logs"
    logs.mkdir(parents=True)
    if args.max_test:
        args.full_data, args.data = args.data, sample_test(args.data, runs / "data", args.max_test)
    shared = shared_overrides(args, runs)
    legacy, v1 = ["--config", "experiments/legacy.yaml"], ["--config", "experiments/trident-v1.yaml"]
    plan = [
        ("baseline retrieval", ["baseline", "retrieval", *legacy, *shared, "--split", "test"]),
        ("teacher", ["teacher", *legacy, *shared]),
        ("train legacy", ["train", *legacy, *shared, *student_overrides(args, "legacy")]),
        ("train trident-v1", ["train", *v1, *shared, *student_overrides(args, "trident-v1")]),
        ("evaluate legacy --with-teacher", ["evaluate", "--run", str(runs / "legacy"), "--with-teacher"]),
        ("evaluate trident-v1", ["evaluate", "--run", str(runs / "trident-v1"), "--no-retrieval"]),
    ]
    load_before = os.getloadavg()
    started = time.perf_counter()
    stages: list[Stage] = []
    failed = None
    for name, argv in plan:
        stage = run_stage(name.replace(" ", "_").replace("--", ""), argv, logs)
        stages.append(stage)
        if stage.returncode != 0:
            failed = {"stage": name, "command": "python -m trident " + " ".join(argv), "rc": stage.returncode,
                      "tail": stage.lines()[-15:]}
            print("\n".join(failed["tail"]), file=sys.stderr)
            break
    report(args, runs, plan, stages, failed, time.perf_counter() - started, load_before)
    if failed:
        sys.exit(1)


def report(args, runs: Path, plan: list, stages: list[Stage], failed: dict | None, total_s: float,
           load_before: tuple, load_after: tuple | None = None) -> None:
    """Collect the figures of a finished (or failed) run and record them."""
    summaries = {d.name: json.loads((d / "summary.json").read_text()) for d in runs.iterdir()
                 if (d / "summary.json").exists()}
    test_rows, test_raw = test_table(runs)
    n_test = next(iter(test_raw.values()), {}).get("records")
    teacher = next((runs / d for d in summaries if d.startswith("teacher-")), None)
    encoding = encoding_rate(teacher, args.data) if teacher else None

    rows = []
    for (name, _), stage in zip(plan, stages):
        row = {"stage": name, "wall s": stage.wall_s, "peak RSS MiB": stage.peak_rss_mb, "steps": None,
               "steps/s": None, "train records/s": None, "outside the loop s": None, "eval records/s": None}
        run = {"teacher": teacher.name if teacher else None, "train legacy": "legacy",
               "train trident-v1": "trident-v1"}.get(name)
        if run in summaries:
            s = summaries[run]
            # train_runtime: the training loop and the final validation (--max-val records, seconds)
            row["steps"] = s["global_step"]
            row["steps/s"] = s["global_step"] / s["train_runtime_s"]
            row["train records/s"] = s.get("train_samples_per_second")
            row["outside the loop s"] = stage.wall_s - s["train_runtime_s"]
        if name.startswith("evaluate") and n_test and stage.returncode == 0:
            models = 3 if "with-teacher" in name else 1  # teacher + legacy + the retrieval row
            row["eval records/s"] = models * n_test / stage.wall_s
        if name == "baseline retrieval" and stage.returncode == 0:
            test = runs / "legacy-retrieval" / "eval" / "test" / "metrics.json"
            records = json.loads(test.read_text())["records"] if test.exists() else 0
            row["eval records/s"] = records / stage.wall_s if records else None
        if stage.returncode != 0:
            row["stage"] += f" (FAILED rc={stage.returncode})"
        rows.append(row)
    rows.append({"stage": "total", "wall s": total_s, "peak RSS MiB": max(s.peak_rss_mb for s in stages)})

    train_counts = {k: v.get("train_records") for k, v in summaries.items()}
    source = getattr(args, "full_data", args.data)
    test_what = (f"a seeded sample of {n_test} of its test records" if args.max_test
                 else f"the whole test split ({n_test} records)")
    note = (f"`python benchmarks/real_corpus.py --data {source}` on a corpus mined from real Java "
            f"repositories (`trident data corpus build`; {sum(1 for _ in (source / 'train.jsonl').open())} "
            f"training records), tiny presets from scratch, sources ≤ {args.max_source_len} / targets ≤ "
            f"{args.max_target_len} tokens, a {args.vocab}-token vocabulary trained on the training split, "
            f"validation during training on {args.max_val} records, evaluation (greedy) on {test_what}. "
            "Optimizer steps (batch 32): " + ", ".join(f"{k} {v}" for k, v in steps_for(args).items())
            + f". Load average {load_before[0]:.1f} before, {(load_after or os.getloadavg())[0]:.1f} after (a shared 2-core box: "
            "timings are indicative). Eval records/s of `evaluate legacy --with-teacher` counts its three rows "
            "(teacher, student, retrieval) and includes loading and encoding; peak RSS is per stage subprocess "
            "(wait4); steps/s and train records/s are over summary.json's train_runtime (the loop and the final "
            "validation); `outside the loop` is the rest of the stage's wall time (start-up, tokenizer, encoding, "
            "loading models, saving).")
    if failed:
        note += f" FAILED at {failed['stage']} (rc {failed['rc']}): {failed['tail'][-1] if failed['tail'] else ''}"
    figures = {
        "note": note, "digits": 3, "rows": rows,
        "tables": [
            {"title": "Test split (95% paired bootstrap intervals of micro F1, 2000 replicates):",
             "rows": test_rows},
            {"title": "Cut to fit (shares of each split's records):", "rows": truncation_rows(runs)},
            {"title": "Encoding throughput (val + test, in-process, the run's tokenizer):",
             "rows": [encoding] if encoding else []},
        ],
        "raw": {"args": {k: str(v) for k, v in vars(args).items()}, "steps": steps_for(args),
                "train_records": train_counts, "cut_lines": {s.name: cut_lines(s) for s in stages},
                "test_metrics": test_raw, "failed": failed,
                "stages": [{"name": n, "argv": a} for n, a in plan]},
    }
    record("real-corpus", figures)
    print(json.dumps({"rows": rows, "test": test_rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
