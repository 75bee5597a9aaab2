"""Distillation stage: train the student against the fine-tuned teacher with MultiComponentLoss.

The teacher's distribution comes from its logit cache (teacher.source=cache, or auto when a
matching cache exists; the teacher is then never loaded) or from the teacher run online."""
from __future__ import annotations

from transformers import AutoModelForSeq2SeqLM, set_seed

from trident import teacher_beams, teacher_cache
from trident.config import RunConfig
from trident.errors import VocabularyMismatch
from trident.fit import fit
from trident.losses import catalog
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
        needs = catalog.needs_of(cfg.loss)
        # components that need the teacher itself run it online, and then its logits come with it
        cache = (teacher_cache.for_run(cfg, teacher_path, tokenizer)
                 if needs.teacher_logits and not needs.teacher_online else None)
        beams = None
        if needs.teacher_beams:
            beams = teacher_beams.ensure(cfg, teacher_path, tokenizer, cfg.tracking.progress)
            print(teacher_beams.describe(beams))
        teacher = None if cache is not None else AutoModelForSeq2SeqLM.from_pretrained(teacher_path)
        set_seed(cfg.seed)
        student = build_model(cfg.model.student, tokenizer, cfg.seed)
        if cache is None:
            check_same_vocabulary(teacher, student)
        else:
            print(teacher_cache.describe(cache))
            check_cached_vocabulary(cache, student)
        summary = fit(cfg, cfg.train, RunDir(run_dir), student, tokenizer, data, cfg.loss, role="student",
                      model_spec=cfg.model.student, teacher=teacher, teacher_path=teacher_path, timer=timer,
                      callbacks=callbacks, teacher_cache=cache, teacher_beams=beams)
    return summary


def check_cached_vocabulary(cache: teacher_cache.TeacherLogitCache, student) -> None:
    """The cached teacher's vocabulary must be the student's, as for a teacher online."""
    s = student.get_output_embeddings().weight.shape[0]
    if cache.vocab != s:
        raise VocabularyMismatch(f"the teacher-logit cache {cache.path} is for a vocabulary of {cache.vocab} tokens but "
                                 f"the student has {s} output logits: distillation needs one shared vocabulary")
