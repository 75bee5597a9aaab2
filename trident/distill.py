"""Distillation stage: train the student against the fine-tuned teacher with MultiComponentLoss."""
from __future__ import annotations

from transformers import AutoModelForSeq2SeqLM, set_seed

from trident.config import RunConfig
from trident.fit import fit
from trident.models import build_model, check_same_vocabulary, load_tokenizer
from trident.rundir import RunDir, Summary
from trident.runs import Timer, prepare_data, start_run
from trident.teacher import ensure_teacher


def distill(cfg: RunConfig, callbacks=(), overwrite: bool = False) -> Summary:
    """Distil into `cfg.run_dir`, held for the run; a finished run there is replaced only with `overwrite`.
    The teacher is found, or trained first when this config and data have none yet."""
    teacher_path = ensure_teacher(cfg)
    data = prepare_data(cfg)
    run_dir = cfg.run_dir
    with start_run(cfg, run_dir, cfg.train.resume, overwrite), Timer() as timer:
        tokenizer = load_tokenizer(cfg.model.tokenizer or teacher_path)
        teacher = AutoModelForSeq2SeqLM.from_pretrained(teacher_path)
        set_seed(cfg.seed)
        student = build_model(cfg.model.student, tokenizer, cfg.seed)
        check_same_vocabulary(teacher, student)
        summary = fit(cfg, cfg.train, RunDir(run_dir), student, tokenizer, data, cfg.loss, role="student",
                      model_spec=cfg.model.student, teacher=teacher, teacher_path=teacher_path, timer=timer,
                      callbacks=callbacks)
    return summary
