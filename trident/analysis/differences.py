"""What else differs between a comparison's rows: the warnings that say a table is not like for like.

A row is meant to differ from the others in its configuration only (its loss, the preset it
was trained from, the keys the sweep varies). Everything else that shapes a number is checked
here, from what each run recorded: training (optimizer steps, train.*), data (data.*, the
records trained and scored on), the teacher (the teacher run the summary names, model.teacher,
teacher_train.*, teacher_seed, teacher.*), any other config section, and the seed count. The
retrieval and teacher rows are references: only what they are scored on (data.dir, the
validation records) has to match.

Left out of the check, because they are what is compared or cannot change a result: the loss
section, `name`, `seed`, the keys the sweep varies (a study's parameters), the keys in which
the rows' own preset files (experiments/<label>.yaml) differ, and bookkeeping (runs_dir,
tracking.*, checkpointing and logging settings, the teacher checkpoint's and cache's paths,
which the teacher run stands for).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from trident.analysis.sources import RunData, preset_config

# Compared settings and bookkeeping: a key equal to one of these or under it is not checked.
IGNORED = ("name", "seed", "runs_dir", "tracking", "loss", "model.teacher_checkpoint", "teacher.cache",
           "eval.batch_size",
           *(f"{section}.{key}" for section in ("train", "teacher_train")
             for key in ("resume", "save_steps", "save_total_limit", "grad_norm_every", "eval_every_epoch",
                         "max_nonfinite_steps")))
REFERENCE_KEYS = ("data.dir",)  # the config keys a reference row (teacher, retrieval) is checked on
GROUP_ORDER = ("training", "data", "teacher", "model", "eval")


@dataclass
class RowRuns:
    """One row of a comparison: its label, the runs its numbers come from, and whether it is a
    reference (teacher or retrieval) rather than a configuration."""

    label: str
    runs: Sequence[RunData]
    reference: bool = False


def _under(key: str, prefixes: Sequence[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested config as dotted keys (`train.max_steps`); lists and other leaves as they are."""
    if not isinstance(tree, dict):
        return {prefix: tree} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in tree.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return "none" if value is None else str(value)


def _group(key: str) -> str:
    top = key.split(".")[0]
    if top in ("teacher_train", "teacher_seed", "teacher") or key == "model.teacher":
        return "teacher"
    return "training" if top == "train" else top


def teacher_name(model: str | None) -> str | None:
    """A teacher as a table names it: its run directory (`teacher-<content hash>`, which is its
    identity) where the model folder is one's `model/`, else the name or path given."""
    if not model:
        return None
    path = Path(model)
    return path.parent.name if path.name == "model" else model


def preset_keys(labels: Sequence[str], root: Path | None = None) -> set[str]:
    """The keys in which the preset files of `labels` differ (or that only some set): the
    presets being compared are made of them. Labels without a preset file add nothing."""
    files = [flatten(cfg) for cfg in (preset_config(label, root) for label in dict.fromkeys(labels))
             if cfg is not None]
    keys = {k for f in files for k in f}
    return {k for k in keys if len({_text(f.get(k, "<unset>")) for f in files}) > 1}


def _facts(run: RunData, reference: bool, skip: set[str]) -> dict[tuple[str, str], str]:
    """(group, item) → value, for everything a run recorded that is checked: what its summary
    says was trained first, then its config keys."""
    out: dict[tuple[str, str], str] = {}
    if not reference and run.global_step is not None:
        out[("training", "optimizer steps")] = str(run.global_step)
    if not reference and run.train_records is not None:
        out[("data", "training records")] = str(run.train_records)
    if run.val_records is not None:
        out[("data", "validation records")] = str(run.val_records)
    if not reference and teacher_name(run.teacher) is not None:
        out[("teacher", "teacher run")] = teacher_name(run.teacher)
    for key, value in (flatten(run.config) if run.config else {}).items():
        if reference and not _under(key, REFERENCE_KEYS):
            continue
        if not reference and (_under(key, IGNORED) or _under(key, sorted(skip))):
            continue
        out[(_group(key), key)] = _text(value)
    return out


def _values(per_run: list[dict], item: tuple[str, str]) -> tuple[str, ...]:
    """A row's values of one item: its runs' distinct values (several where its runs disagree)."""
    return tuple(sorted({f[item] for f in per_run if item in f}))


def differences(rows: Sequence[RowRuns], varied: Sequence[str] = (), root: Path | None = None) -> list[str]:
    """One warning per kind of setting (training, data, teacher, ..., seed count) in which the
    rows differ, naming each item and every row's value ("12/80" where a row's own runs
    differ); [] when the rows are like for like. `varied` are the keys the sweep varies."""
    rows = [r for r in rows if r.runs]
    configs = [r for r in rows if not r.reference]
    skip = set(varied) | preset_keys([run.label for r in configs for run in r.runs], root)
    facts = {r.label: [_facts(run, r.reference, skip) for run in r.runs] for r in rows}
    items = list(dict.fromkeys(item for per_run in facts.values() for f in per_run for item in f))
    found: dict[str, list[str]] = {}
    for item in items:
        values = {label: _values(per_run, item) for label, per_run in facts.items() if _values(per_run, item)}
        if len(set(values.values())) > 1 or any(len(v) > 1 for v in values.values()):
            shown = "; ".join(f"{label} {'/'.join(v)}" for label, v in values.items())
            found.setdefault(item[0], []).append(f"{item[1]} ({shown})")
    notes = [f"⚠ the rows differ in {group} as well as in what is compared: {', '.join(found[group])}"
             for group in sorted(found, key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER
                                                       else len(GROUP_ORDER), g))]
    counts = {r.label: len(r.runs) for r in configs}
    if len(set(counts.values())) > 1:
        notes.append("⚠ the rows differ in seed count as well as in what is compared: "
                     + "; ".join(f"{label} {n}" for label, n in counts.items()))
    return notes
