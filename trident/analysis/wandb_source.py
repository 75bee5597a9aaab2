"""A thin adapter from a W&B sweep to the report's `RunData`, through wandb's public API.

It relies only on the documented interface of `wandb.Api`: `api.runs(path, filters=...)`
returning runs with `.id`, `.name`, `.state`, `.config`, `.summary`, `.history()` and
`.scan_history()`. Keys are the ones transformers' W&B integration logs: `eval/<metric>`
for validation metrics, `train/<key>` for everything logged per step (so a component's raw
loss is `train/focal/raw`). The sweep's own parameters (`config`, `seed`, …) are in
`run.config` under their names, and so is the whole resolved trident config of every run
trident started (`loss.semantic_loss_scale`, `loss.components.<name>.start`, `name`, …, see
trident.tracking): a run is labelled by its loss components like a run directory, and β
(`semantic_auto_beta` in the summary where it was `auto`) is read where the loss has a
semantic term.

W&B holds no per-example predictions, so runs from here carry none: their intervals come
from the spread over seeds only (see report.py).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import yaml

from trident.analysis.sources import METRIC_KEYS, RunData, fallback_label, label_from_components, parse_beta


def _unwrap(value: Any) -> Any:
    # Older API versions return config entries as {"value": v, "desc": ...}.
    if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
        return value["value"]
    return value


def _get(config: dict, dotted: str) -> Any:
    """A config key, whether W&B stored it flat ("loss.semantic_loss_scale") or nested."""
    if dotted in config:
        return _unwrap(config[dotted])
    node: Any = config
    for part in dotted.split("."):
        node = _unwrap(node)
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return _unwrap(node)


def _components(config: dict) -> list[str]:
    nested = _get(config, "loss.components")
    if isinstance(nested, dict):
        return list(nested)
    return sorted({k.split(".")[2] for k in config if k.startswith("loss.components.") and k.count(".") >= 2})


def _number(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _summary_metric(summary: Any, key: str) -> float | None:
    for k in (f"eval/{key}", f"eval_{key}", key):
        if k in summary:
            return _number(summary[k])
    return None


def step_history(run: Any) -> pd.DataFrame | None:
    """The per-step rows (`train/loss_total` present), unsampled, with report column names."""
    try:
        rows = [r for r in run.scan_history() if r.get("train/loss_total") is not None]
    except AttributeError:  # an object with only history(): sampled, but better than nothing
        rows = run.history(pandas=True).to_dict("records")
        rows = [r for r in rows if r.get("train/loss_total") is not None]
    if not rows:
        return None
    df = pd.DataFrame(rows)
    renamed = {c: c[len("train/"):] for c in df.columns if c.startswith("train/")}
    df = df.rename(columns=renamed)
    if "global_step" in df:
        df["step"] = df["global_step"]
    elif "_step" in df:
        df["step"] = df["_step"]
    keep = [c for c in df.columns if not c.startswith("_") and c != "global_step"]
    return df[keep].apply(pd.to_numeric, errors="coerce")


def run_from_wandb(run: Any, repo_root: Path) -> RunData:
    config = {k: v for k, v in dict(run.config).items()}
    summary = dict(run.summary)
    config_file = _get(config, "config")
    components = _components(config)
    if config_file:  # a sweep's `config` parameter names the preset file
        label = Path(str(config_file)).stem
    else:
        # A run trident started holds its whole resolved config (trident.tracking.flat_config):
        # its loss components name the preset, as for a run directory; a loss no preset has is
        # a row of its own, under the config's name.
        label = label_from_components(components, fallback_label(_get(config, "name"), run.name, repo_root),
                                      repo_root)
    beta = parse_beta(_get(config, "loss.semantic_loss_scale"), _unwrap(summary.get("semantic_auto_beta")))
    if components and "semantic" not in components:
        beta = None  # the scale is in every config; without a semantic term it scales nothing
    if beta is None and not components and config_file and (repo_root / str(config_file)).exists():
        # β not swept: it is the one in the config file the sweep named.
        file_cfg = yaml.safe_load((repo_root / str(config_file)).read_text()) or {}
        if "semantic" in ((file_cfg.get("loss") or {}).get("components") or {}):
            beta = parse_beta((file_cfg.get("loss") or {}).get("semantic_loss_scale"))
    seed = _get(config, "seed")
    out = RunData(name=run.name, label=label, seed=int(seed) if seed is not None else None, beta=beta,
                  source="wandb", params={k: _unwrap(v) for k, v in config.items() if not k.startswith("_")})
    out.finished = getattr(run, "state", "finished") == "finished"
    if not out.finished:
        out.problems.append(f"W&B run {run.name} ({run.id}) is {run.state}; its metrics are n/a")
    else:
        out.metrics = {k: v for k in METRIC_KEYS if (v := _summary_metric(summary, k)) is not None}
        out.wall_time_s = _number(summary.get("_runtime")) or _number(summary.get("train/train_runtime"))
    out.steps = step_history(run)
    if out.steps is not None:
        loss = out.steps.get("loss_total")
        if loss is not None:  # rows were kept for having a loss, so NaN here is a logged NaN
            out.nonfinite_logged = int((~np.isfinite(loss.to_numpy(float))).sum())
        if "nonfinite_skipped" in out.steps:
            skipped = out.steps["nonfinite_skipped"].dropna()
            out.nonfinite_skipped = int(skipped.max()) if len(skipped) else None
    elif out.finished:
        out.problems.append(f"W&B run {run.name} ({run.id}) has no step history")
    if out.nonfinite_skipped is None and _number(summary.get("train/nonfinite_skipped")) is not None:
        out.nonfinite_skipped = int(summary["train/nonfinite_skipped"])
    return out


def runs_from_wandb(path: str, sweep_id: str, repo_root: Path, api: Any = None) -> list[RunData]:
    """Every run of the W&B sweep `sweep_id` in `path` (ENTITY/PROJECT)."""
    if api is None:
        import wandb

        api = wandb.Api()
    runs: Iterable[Any] = api.runs(path, filters={"sweep": sweep_id})
    return [run_from_wandb(r, repo_root) for r in runs]
