"""Distillation stage: train the student against the fine-tuned teacher with MultiComponentLoss."""
from __future__ import annotations

from transformers import AutoModelForSeq2SeqLM, set_seed

from trident.config import RunConfig
from trident.fit import fit
from trident.models import build_model, check_same_vocabulary, count_parameters, load_tokenizer
from trident.runs import Timer, prepare_data, start_run, write_summary
from trident.teacher import teacher_model_path


def distill(cfg: RunConfig, callbacks=()) -> dict:
    data = prepare_data(cfg)
    teacher_path = teacher_model_path(cfg)
    run_dir = cfg.run_dir
    start_run(cfg, run_dir)
    with Timer() as timer:
        tokenizer = load_tokenizer(cfg.model.tokenizer or teacher_path)
        teacher = AutoModelForSeq2SeqLM.from_pretrained(teacher_path)
        set_seed(cfg.seed)
        student = build_model(cfg.model.student, tokenizer, cfg.seed)
        check_same_vocabulary(teacher, student)
        summary = fit(cfg, cfg.train, run_dir, student, tokenizer, data, cfg.loss, teacher=teacher,
                      callbacks=callbacks,
                      extra_summary={"role": "student", "model": cfg.model.student, "teacher": teacher_path,
                                     "run_dir": str(run_dir), "student_parameters": count_parameters(student),
                                     "teacher_parameters": count_parameters(teacher)})
    summary["wall_time_s"] = timer.seconds
    write_summary(run_dir, summary)
    return summary
