"""benchmarks/gpu.py must be ready for the first GPU: its --dry-run (CPU, tiny presets, a few
steps) runs every part of it and records the same structure, here into a temporary results
file (TRIDENT_BENCH_RESULTS), never the repository's."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_dry_run_records_every_figure(tmp_path):
    results = tmp_path / "results.json"
    env = {**os.environ, "TRIDENT_BENCH_RESULTS": str(results), "HF_HUB_OFFLINE": "1",
           "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT / "benchmarks")}
    repo_json = (ROOT / "benchmarks" / "results.json").read_bytes()
    done = subprocess.run([sys.executable, "benchmarks/gpu.py", "--dry-run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (ROOT / "benchmarks" / "results.json").read_bytes() == repo_json  # the repository's figures untouched

    gpu = json.loads(results.read_text())["sections"]["gpu"]
    figures = gpu["figures"]
    assert figures["dry_run"] is True and gpu["machine"]["device"] == "cpu"
    # legacy and trident-v1, teacher online and cached, each with a positive step time
    assert [(r["preset"], r["teacher"]) for r in figures["rows"]] == [
        ("legacy", "online"), ("legacy", "cached"), ("trident-v1", "online"), ("trident-v1", "cached")]
    for row in figures["rows"]:
        assert row["s/step"] > 0 and row["tokens/s"] > 0 and row["non-finite steps"] == 0
        assert row["MFU"] is None and row["peak GiB"] is None  # no device peak to divide by on a CPU
    tables = {t["title"].split(" (")[0].split(":")[0]: t["rows"] for t in figures["tables"]}
    targets = tables["Targets"]
    assert [t["target"] for t in targets] == ["legacy MFU ≥ 0.35 at a batch that fills the device",
                                             "trident-v1 / legacy ≤ 1.1, teacher online",
                                             "trident-v1 / legacy ≤ 1.1, teacher cached"]
    step = {(r["preset"], r["teacher"]): r["s/step"] for r in figures["rows"]}
    assert targets[1]["measured"] == step[("trident-v1", "online")] / step[("legacy", "online")]
    assert targets[0]["measured"] is None  # MFU needs a GPU's peak
    # the epoch: 32 training records of the 40 written, batch 4 -> 8 optimizer steps, all finite
    assert figures["epoch"]["steps"] == 8 and figures["epoch"]["non-finite steps"] == 0
    generation = next(rows for title, rows in tables.items() if title.startswith("The student's generation latency"))
    assert [(r["batch"], r["new tokens"]) for r in generation] == [(1, 4), (4, 4)]
    assert all(r["latency s"] > 0 for r in generation)
    liger = next(rows for title, rows in tables.items() if title.startswith("kl and jsd against Liger"))
    assert liger == [{"component": "liger", "note": "skipped: Liger Kernel runs on CUDA only"}]
    # results.md beside the JSON renders the GPU section from it
    markdown = results.with_suffix(".md").read_text()
    assert "## GPU (bf16, CodeT5+ shapes)" in markdown and "CPU (dry run)" in markdown and "not measured" not in markdown
