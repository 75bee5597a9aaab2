"""Helpers of the report tests: finished run directories written by hand (no training) and a
reader of the report's Markdown tables."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import yaml

from trident.rundir import RunDir, Summary, write_summary

N = 10  # validation examples; example i's reference is one line, `assertEquals(i, result);`
REFS = [[f"assertEquals({i}, result);"] for i in range(N)]


# The loss components of trident-v1 and of the three method presets built on it (as in experiments/).
V1 = {"focal": {"start": 0.5, "end": 0.3}, "jsd": {"start": 0.3, "end": 0.4},
      "semantic": {"start": 0.2, "end": 0.3}, "pans": {"start": 0.05, "end": 0.1},
      "ast": {"start": 0.05, "end": 0.1}, "contrastive": {"start": 0.1, "end": 0.2}}
METHOD_COMPONENTS = {
    "trident-v1": V1,
    "trident-v1-hidden": {**V1, "hidden": {"start": 0.1, "end": 0.1}},
    "trident-v1-seqkd": {**V1, "seqkd": {"start": 0.2, "end": 0.2}},
    "trident-v1-gkd": {k if k != "jsd" else "gkd": v for k, v in V1.items()},  # gkd takes jsd's place
}


def inference(bytes_on_disk: int, peak_rss_mb: float, latency_p50_ms: float, *, params: int = 1000,
              device: str = "cpu", threads: int = 2, records: int = 32) -> dict:
    """A summary's `inference` figures as `trident evaluate` writes them (the whole contract);
    p95 is 1.5 × p50 and the throughputs follow from p50, so that they are consistent."""
    return {"params": params, "bytes_on_disk": bytes_on_disk, "peak_rss_mb": peak_rss_mb,
            "latency_p50_ms": latency_p50_ms, "latency_p95_ms": 1.5 * latency_p50_ms,
            "records_per_s": 1000.0 / latency_p50_ms, "tokens_per_s": 12000.0 / latency_p50_ms,
            "device": device, "threads": threads, "records": records, "warmup": 4, "batch_size": 8}


def summary_fields(inference: dict | None) -> dict:
    """Summary(...) keyword arguments carrying `inference`: its own field where Summary has one, else
    the key Summary.extra writes out as it is (the same summary.json either way)."""
    if inference is None:
        return {}
    if "inference" in {f.name for f in dataclasses.fields(Summary)}:
        return {"inference": inference}
    return {"extra": {"inference": inference}}


def predictions(right: int, broken: int) -> list[str]:
    """Examples 0..right-1 predicted exactly, the last `broken` as a line that does not parse
    (AST-invalid, and wrong), every other as a valid but wrong line (a false positive and a
    false negative): micro-F1 = P = R = right / N."""
    out = []
    for i in range(N):
        if i < right:
            out.append(f"assertEquals({i}, result);")
        elif i >= N - broken:
            out.append(f"assertEquals({i}, result")
        else:
            out.append(f"assertEquals({i + 100}, result);")
    return out


def make_run(root: Path, name: str, components: dict, seed: int, right: int, broken: int, wall: float,
             cfg_name: str | None = None, beta: float = 5, *, role: str = "student", steps: int = 3,
             teacher: str | None = None, config: dict | None = None, executed: int | None = None,
             inference: dict | None = None) -> Path:
    """A finished run directory as `trident train` leaves it (config, summary, step log,
    predictions). `config` is merged into config.yaml; `teacher` is the model folder its summary
    names; `executed` writes execution.jsonl: the first `executed` examples compile, pass and
    kill one of their two mutants, the others compile only; `inference` is its summary's
    inference figures (see `inference()`; None: not measured)."""
    run = RunDir(root / name)
    (run.root / "eval" / "val").mkdir(parents=True)
    cfg = {"name": cfg_name or name, "seed": seed,
           "loss": {"components": components, "semantic_loss_scale": beta}, **(config or {})}
    run.config.write_text(yaml.safe_dump(cfg))
    preds = predictions(right, broken)
    with run.predictions("val").open("w") as fh:
        for i, (p, r) in enumerate(zip(preds, REFS)):
            fh.write(json.dumps({"id": str(i), "prediction": p, "references": r}) + "\n")
    if executed is not None:
        with run.execution("val").open("w") as fh:
            for i in range(N):
                fh.write(json.dumps({"id": str(i), "executable": True, "compiles": True, "passes": i < executed,
                                     "killed_mutants": int(i < executed), "mutants": 2, "error": None}) + "\n")
    comps = sorted(components)
    lines = [",".join(["step", "loss_total", *(f"{c}/raw" for c in comps)])]
    lines += [",".join([str(s), str(2.0 - 0.1 * s), *("1.0" for _ in comps)]) for s in range(1, steps + 1)]
    run.step_metrics.write_text("\n".join(lines) + "\n")
    f1 = right / N
    write_summary(run, Summary(
        name=name, val_metrics={"f1": f1, "exact_match": f1, "pans": 0.5, "ast_validity": 1 - broken / N,
                                "assertion_validity": 1 - broken / N, "bleu": 0.5},
        train_runtime_s=wall, train_samples_per_second=1.0, global_step=steps, max_steps=steps, completed=True,
        train_records=100, val_records=N, bad_records={}, truncation={}, nonfinite_skipped=0, wandb_run_id=None,
        sweep=None, trial=None, semantic_auto_beta=None, versions={}, role=role,
        model="tiny-teacher" if role == "teacher" else "tiny-student", run_dir=str(run.root),
        wall_time_before_resume_s=0.0, wall_time_s=wall, teacher=teacher, **summary_fields(inference)))
    return run.root


def md_tables(markdown: str) -> dict[str, list[dict[str, str]]]:
    """Every table of a Markdown report, by the bold title line above it: its rows as
    {column: cell} (cells as written, one line each)."""
    tables: dict[str, list[dict[str, str]]] = {}
    title, header = None, None
    for line in markdown.splitlines():
        if line.startswith("**") and line.endswith("**"):
            title, header = line.strip("*"), None
        elif line.startswith("|") and title is not None:
            cells = [c.strip() for c in line.strip()[1:-1].split(" | ")]
            if header is None:
                header = cells
                tables[title] = []
            elif set(line) != {"|", "-"}:
                assert len(cells) == len(header), line
                tables[title].append(dict(zip(header, cells)))
        else:
            header = None
    return tables


def table(markdown: str, title_start: str) -> list[dict[str, str]]:
    """The one table whose title starts with `title_start`."""
    hits = [rows for title, rows in md_tables(markdown).items() if title.startswith(title_start)]
    assert len(hits) == 1, (title_start, list(md_tables(markdown)))
    return hits[0]


def column(markdown: str, title_start: str, name: str = "configuration") -> list[str]:
    return [row[name] for row in table(markdown, title_start)]


def by_row(markdown: str, title_start: str) -> dict[str, dict[str, str]]:
    return {row["configuration"]: row for row in table(markdown, title_start)}
