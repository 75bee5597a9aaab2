"""Distillation stage: train the student against the fine-tuned teacher with MultiComponentLoss."""
from __future__ import annotations

from transformers import AutoModelForSeq2SeqLM, set_seed

from trident.config import RunConfig
from trident.fit import fit
from trident.models import build_model, check_same_vocabulary, count_parameters, load_tokenizer
from trident.runs import Timer, prepare_data, start_run
from trident.teacher import ensure_teacher


def distill(cfg: RunConfig, callbacks=(), overwrite: bool = False) -> dict:
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
        summary = fit(cfg, cfg.train, run_dir, student, tokenizer, data, cfg.loss, teacher=teacher, timer=timer,
                      callbacks=callbacks,
                      extra_summary={"role": "student", "model": cfg.model.student, "teacher": teacher_path,
                                     "run_dir": str(run_dir), "student_parameters": count_parameters(student),
                                     "teacher_parameters": count_parameters(teacher)})
    return summary
