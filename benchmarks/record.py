"""Where `make bench` keeps its figures: benchmarks/results.json (raw, one section per script,
each with the machine it was taken on) and benchmarks/results.md (the same as tables).

Each bench script calls `record(section, figures)`; the JSON is rewritten atomically and the
Markdown rendered again from it, so a script run alone updates its own section only (and a
script that measures model pairs, run for some of them, keeps the others: `with_earlier_pairs`).

    python benchmarks/record.py      # render results.md from results.json
"""
from __future__ import annotations

import fcntl
import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch

from trident.io import atomic_write_json, atomic_write_text

HERE = Path(__file__).resolve().parent
# TRIDENT_BENCH_RESULTS=/some/results.json sends a run's figures elsewhere (results.md beside
# it): tests run the bench scripts' dry runs without touching the repository's figures.
JSON = Path(os.environ.get("TRIDENT_BENCH_RESULTS") or HERE / "results.json")
MARKDOWN = JSON.with_suffix(".md")


def machine() -> dict:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "device": "cuda" if gpu else "cpu", "gpu": gpu,
            "measured": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def load() -> dict:
    try:
        data = json.loads(JSON.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and "sections" in data else {}


def with_earlier_pairs(section: str, measured: dict, pairs: dict) -> dict:
    """`measured` ({pair: raw results}) plus the pairs of `section` recorded by an earlier run
    and not measured now, in `pairs` order: a script run for one pair keeps the other's figures
    (each pair's raw results carry the time they were measured)."""
    old = ((load().get("sections") or {}).get(section) or {}).get("figures", {}).get("raw", {})
    merged = {**{k: v for k, v in old.items() if k in pairs}, **measured}
    return {k: merged[k] for k in pairs if k in merged}


def record(section: str, figures) -> None:
    # results.json is written with sorted keys: keep each table's column order beside it
    for table in ([figures] + figures.get("tables", [])) if isinstance(figures, dict) else []:
        if table.get("rows"):
            table["columns"] = list(dict.fromkeys(k for r in table["rows"] for k in r))
    # Two benchmarks recording at once would each rewrite the file from what they read: the lock
    # makes read-modify-write one step, so neither loses the other's section.
    with open(JSON.parent / ".results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load() or {"sections": {}}
        data["sections"][section] = {"machine": machine(), "figures": figures}
        atomic_write_json(JSON, data)
        atomic_write_text(MARKDOWN, render(data))


def _table(rows: list[dict], digits: int = 3, columns: list[str] | None = None) -> str:
    if not rows:
        return "(none)\n"
    cols = columns or list(dict.fromkeys(k for r in rows for k in r))

    def cell(v):
        if v is None:
            return "—"
        if isinstance(v, float):
            return f"{v:,.{digits}f}" if abs(v) < 1e4 else f"{v:,.0f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _machine_line(m: dict) -> str:
    where = m.get("gpu") or f"{m['cpus']} CPU cores ({m['processor']}), {m['torch_threads']} torch threads"
    return f"*Measured {m['measured']} on {where}, torch {m['torch']}.*\n"


TITLES = {
    "quality-smoke": "What the embedded default learns: make smoke",
    "quality-beta": "What the embedded default learns: make sweep-beta",
    "quality-before-after-smoke": "What the embedded default learns: make sweep-before-after-smoke",
    "curve": "Learning curve of the embedded teacher (where F1 flattens)",
    "steps": "Per optimizer step: teacher online vs cached",
    "methods": "Distillation methods per optimizer step (trident-v1 + hidden, seqkd, gkd)",
    "components": "Each loss component alone (forward + backward)",
    "cache": "Teacher-logit cache",
    "metrics": "Metrics",
    "data": "Data: loading, encoding, collation",
    "mine": "Miner",
    "focal-precision": "Miner: focal methods against hand labels (benchmarks/focal_labels.jsonl)",
    "execute": "Running the assertions",
    "real-corpus": "The whole pipeline on a real mined corpus (benchmarks/real_corpus.py)",
    "export": "Export for CPU deployment: int8 and ONNX against the float model (benchmarks/export_parity.py)",
}


def render(data: dict) -> str:
    out = ["# make bench results\n",
           "Written by `make bench` (benchmarks/*.py); raw figures in results.json. CPU timings on a shared "
           "machine are noisy: compare ratios taken in one process, not absolute times across runs.\n"]
    sections = data.get("sections", {})
    for name, title in TITLES.items():
        if name not in sections:
            continue
        s = sections[name]
        figures = s["figures"]
        out.append(f"\n## {title}\n")
        out.append(_machine_line(s["machine"]))
        if isinstance(figures, dict) and "rows" in figures:
            if figures.get("note"):
                out.append("\n" + figures["note"] + "\n")
            out.append("\n" + _table(figures["rows"], figures.get("digits", 3), figures.get("columns")))
            for extra in figures.get("tables", []):
                out.append(f"\n{extra['title']}\n\n" + _table(extra["rows"], extra.get("digits", 3), extra.get("columns")))
        else:
            out.append("\n```\n" + json.dumps(figures, indent=2) + "\n```\n")
    gpu = sections.get("gpu")
    out.append("\n## GPU (bf16, CodeT5+ shapes)\n")
    if gpu is not None and gpu["figures"].get("note"):
        out.append("\n" + gpu["figures"]["note"] + "\n")
    if gpu is None:
        out.append("\nnot measured: no GPU has been available to this project's benchmark runs yet (the sessions "
                   "so far had 2 CPU cores and no accelerator). On a GPU machine `python benchmarks/gpu.py` (also run "
                   "by `make bench`) measures step time, tokens per second, peak memory and model FLOPs utilisation "
                   "for `legacy` and `trident-v1`, teacher online and cached, the legacy MFU at a batch filling the "
                   "device, a bf16 epoch of trident-v1 for non-finite steps, the student's generation latency at "
                   "batch 1 and 32, and kl/jsd against Liger Kernel when installed; `--dry-run` checks it on a CPU.\n")
    else:
        out.append(_machine_line(gpu["machine"]) + "\n" + _table(gpu["figures"]["rows"], 3, gpu["figures"].get("columns")))
        for extra in gpu["figures"].get("tables", []):
            out.append(f"\n{extra['title']}\n\n" + _table(extra["rows"], extra.get("digits", 3), extra.get("columns")))
    return "".join(out)


if __name__ == "__main__":
    atomic_write_text(MARKDOWN, render(load()))
    print(MARKDOWN.read_text())
