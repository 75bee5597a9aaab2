"""Teacher stage: fine-tune the teacher with cross-entropy and save it with its tokenizer.

The output folder is named by a content hash of everything that shapes the teacher (its
model spec, tokenizer, training config, seed and the data files' bytes), so distillation
runs, and later sweep trials, on the same data and teacher config find and reuse one teacher.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from filelock import FileLock
from transformers import set_seed

from trident.config import ComponentConfig, LossConfig, RunConfig, content_hash, to_dict
from trident.fit import fit
from trident.models import build_model, is_preset, load_tokenizer, train_tokenizer
from trident.rundir import RunDir, Summary, read_summary
from trident.errors import RunDirError
from trident.runs import Data, Timer, data_fingerprint, ensure_data, prepare_data, start_run, world_size

CE_ONLY = LossConfig(components={"ce": ComponentConfig(1.0, 1.0)})
# eval keys that change what is measured after training, never the teacher trained
AFTER_TRAINING_EVAL_KEYS = ("execute", "speed", "speed_records", "speed_warmup")


def teacher_config(cfg: RunConfig) -> RunConfig:
    """The config the teacher stage runs with: `teacher_seed`, when set, is its seed."""
    return cfg if cfg.teacher_seed is None else replace(cfg, seed=cfg.teacher_seed, teacher_seed=None)


def teacher_key(cfg: RunConfig) -> str:
    cfg = teacher_config(cfg)
    d = cfg.data
    return content_hash({
        "teacher": cfg.model.teacher, "tokenizer": cfg.model.tokenizer, "vocab_size": cfg.model.vocab_size,
        "data": [d.max_source_len, d.max_target_len, d.max_train_records, d.max_val_records,
                 d.skip_bad_records, data_fingerprint(cfg),
                 # only when not the default, so the teachers trained before the option keep their key
                 *([d.focal_context] if d.focal_context != "method" else [])],
        # eval.execute and eval.speed* only add figures after training: teachers trained before they existed keep their key
        "train": to_dict(cfg.teacher_train),
        "eval": {k: v for k, v in to_dict(cfg.eval).items() if k not in AFTER_TRAINING_EVAL_KEYS},
        "seed": cfg.seed,
    })


def teacher_dir(cfg: RunConfig) -> Path:
    ensure_data(cfg)
    return Path(cfg.runs_dir) / f"teacher-{teacher_key(cfg)}"


def ensure_teacher(cfg: RunConfig) -> str:
    """The fine-tuned teacher a distillation run uses: `model.teacher_checkpoint` when given,
    otherwise the teacher stage's output for this config and data, trained first if missing.

    Every `trident train` goes through here, whoever started it (a person, an Optuna trial, a
    W&B agent), so a fresh checkout needs no separate teacher step. The lock beside the teacher's
    folder makes concurrent runs on one machine wait for one training instead of racing."""
    if cfg.model.teacher_checkpoint:
        return cfg.model.teacher_checkpoint
    out_dir = teacher_dir(cfg)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if world_size() > 1 and not RunDir(out_dir).is_finished():
        # Training it here would start a multi-process Trainer in one rank while the others wait on the lock.
        raise RunDirError(f"no teacher for this config and data yet ({out_dir}): in a multi-process run (torchrun) "
                          "train it first in one process: trident teacher --config … with the same options")
    with FileLock(str(out_dir) + ".lock"):
        train_teacher(cfg)  # reuses a finished teacher
    return str(out_dir / "model")


def build_tokenizer(cfg: RunConfig, data: Data):
    if cfg.model.tokenizer:
        return load_tokenizer(cfg.model.tokenizer)
    if not is_preset(cfg.model.teacher):
        return load_tokenizer(cfg.model.teacher)
    texts = (t for r in data.train for t in (r.focal_method, r.test_method_masked, "\n".join(r.assertions)))
    return train_tokenizer(texts, cfg.model.vocab_size)


def train_teacher(cfg: RunConfig) -> Summary:
    # The teacher sees the whole training split: `data.train_fraction` subsamples distillation
    # only (sweeps distil on 5% against the same teacher), and is not part of the teacher's key.
    cfg = teacher_config(cfg)
    data = prepare_data(replace(cfg, data=replace(cfg.data, train_fraction=1.0)))
    out_dir = teacher_dir(cfg)
    run = RunDir(out_dir)
    if run.is_finished() and not cfg.teacher_train.resume:
        print(f"[trident] reusing the teacher already trained for this config and data: {out_dir}")
        return read_summary(run)
    run_cfg = replace(cfg, name=out_dir.name)
    # The folder is this teacher's alone (named by its content hash) and a finished one was reused
    # above, so a leftover there is an interrupted attempt: start over unless resuming.
    resume = cfg.teacher_train.resume
    with start_run(run_cfg, out_dir, resume, overwrite=not resume), Timer() as timer:
        tokenizer = build_tokenizer(cfg, data)
        set_seed(cfg.seed)
        model = build_model(cfg.model.teacher, tokenizer, cfg.seed)
        summary = fit(run_cfg, cfg.teacher_train, run, model, tokenizer, data, CE_ONLY, role="teacher",
                      model_spec=cfg.model.teacher, timer=timer)
    return summary
