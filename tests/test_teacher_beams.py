"""The teacher's N-best beams on a real tiny teacher: the beams equal HF beam search on each
record alone, their log-probabilities equal a float64 recomputation, a second ensure reuses the
folder, other keys and damaged files are refused naming what is wrong, and `trident teacher
--beams N` writes them."""
import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from conftest import tiny_overrides
from trident import teacher_beams
from trident.cli import main
from trident.config import load_config
from trident.data.encoding import encode_records
from trident.data.records import load_split
from trident.models import load_tokenizer
from trident.teacher import ensure_teacher
from trident.teacher_beams import BeamsMismatch

LEGACY = "experiments/legacy.yaml"
N = 3
# 40 steps: enough for beams that differ and for a few that end in eos within max_target_len
TEACHER = {"teacher_train.max_steps": 40}


def _overrides(data_dir, runs_dir, **extra):
    return tiny_overrides(data_dir, runs_dir, **{**TEACHER, **extra})


def _cfg(data_dir, runs_dir, **extra):
    return load_config(LEGACY, _overrides(data_dir, runs_dir, **{"teacher.beams": N, **extra}))


@pytest.fixture(scope="module")
def built(synth_dir, tmp_path_factory):
    runs = tmp_path_factory.mktemp("beams-runs")
    cfg = _cfg(synth_dir, runs)
    teacher_path = ensure_teacher(cfg)
    tokenizer = load_tokenizer(teacher_path)
    beams = teacher_beams.ensure(cfg, teacher_path, tokenizer, progress=False)
    return cfg, teacher_path, tokenizer, beams


def _cut_after_eos(ids, eos):
    out = []
    for t in ids:
        out.append(t)
        if t == eos:
            break
    return out


def _checked_records(beams, tokenizer, records):
    """Every record with a beam that ends in eos (the cut that matters), and a few others."""
    eos = tokenizer.eos_token_id
    with_eos = [r for r in records if any(b.token_ids[-1] == eos for b in beams.for_record(r.id))]
    assert with_eos, "the tiny teacher should end some beam with eos within max_target_len"
    return with_eos[:4] + [r for r in records[:3] + records[-1:] if r not in with_eos]


def test_beams_are_beam_search_on_each_record_alone(built):
    cfg, teacher_path, tokenizer, beams = built
    records = load_split(cfg.data.dir, "train")
    assert beams.record_ids == [r.id for r in records] and len(beams) == len(records) and beams.n == N
    lines = (beams.path / "beams.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [r.id for r in records]
    assert all(len(json.loads(line)["beams"]) == N for line in lines)
    teacher = AutoModelForSeq2SeqLM.from_pretrained(teacher_path).eval()
    eos = tokenizer.eos_token_id
    for record in _checked_records(beams, tokenizer, records):
        [f] = encode_records([record], tokenizer, cfg.data.max_source_len, cfg.data.max_target_len)
        with torch.no_grad():
            out = teacher.generate(input_ids=torch.tensor([f["input_ids"]]), num_beams=N, num_return_sequences=N,
                                   do_sample=False, max_length=cfg.data.max_target_len + 1, early_stopping=True)
        assert out.shape[0] == N and (out[:, 0] == teacher.config.decoder_start_token_id).all()
        expected = [_cut_after_eos(seq[1:], eos) for seq in out.tolist()]
        got = beams.for_record(record.id)
        assert [list(b.token_ids) for b in got] == expected  # best first, as HF returns them
        assert [b.text for b in got] == [tokenizer.decode(e, skip_special_tokens=True) for e in expected]
        assert all(len(b.token_ids) <= cfg.data.max_target_len for b in got)
        assert beams.best(record.id) == got[0]
    meta = json.loads((beams.path / "meta.json").read_text())
    assert meta["records"] == len(records) and meta["beams"] == N and meta["teacher_path"] == str(teacher_path)
    assert meta["key"] == teacher_beams.key_for(cfg, teacher_path, tokenizer).__dict__
    assert meta["mean_best_beam_tokens"] == pytest.approx(
        sum(len(beams.best(r.id).token_ids) for r in records) / len(records))


def test_logp_is_the_teacher_forced_sum_in_float64(built):
    cfg, teacher_path, tokenizer, beams = built
    records = load_split(cfg.data.dir, "train")
    teacher = AutoModelForSeq2SeqLM.from_pretrained(teacher_path).double().eval()
    for record in _checked_records(beams, tokenizer, records):
        [f] = encode_records([record], tokenizer, cfg.data.max_source_len, cfg.data.max_target_len)
        for beam in beams.for_record(record.id):
            labels = torch.tensor([beam.token_ids])
            with torch.no_grad():
                logits = teacher(input_ids=torch.tensor([f["input_ids"]]), labels=labels).logits
            expected = torch.log_softmax(logits, -1)[0].gather(-1, labels[0, :, None]).sum().item()
            assert beam.logp == pytest.approx(expected, abs=1e-4)
        logps = [b.logp for b in beams.for_record(record.id)]
        assert all(lp < 0 for lp in logps)


def test_a_second_ensure_reuses_the_folder(built, monkeypatch):
    cfg, teacher_path, tokenizer, beams = built
    stamp = (beams.path / "beams.jsonl").stat().st_mtime_ns

    def no_build(*a, **kw):
        raise AssertionError("rebuilt")

    monkeypatch.setattr(teacher_beams, "build", no_build)
    again = teacher_beams.ensure(cfg, teacher_path, tokenizer, progress=False)
    assert again.path == beams.path and (again.path / "beams.jsonl").stat().st_mtime_ns == stamp
    assert again.path == teacher_beams.default_dir(cfg, again.key)
    assert again.path.parent == Path(cfg.runs_dir) / ".cache" / "teacher-beams"


def test_another_key_is_refused_naming_the_field(built, synth_dir):
    cfg, teacher_path, tokenizer, beams = built
    shorter = teacher_beams.key_for(_cfg(synth_dir, cfg.runs_dir, **{"data.max_target_len": 24}), teacher_path, tokenizer)
    with pytest.raises(BeamsMismatch, match=r"another data\.max_target_len \(max_target_len: beams 32, this run 24\)"):
        beams.check(shorter)
    fewer = teacher_beams.key_for(_cfg(synth_dir, cfg.runs_dir, **{"teacher.beams": 2}), teacher_path, tokenizer)
    with pytest.raises(BeamsMismatch, match=r"another teacher\.beams \(beams: beams 3, this run 2\)") as err:
        beams.check(fewer)
    assert str(beams.path) in str(err.value)
    assert fewer.digest() != beams.key.digest() != shorter.digest()
    beams.check(teacher_beams.key_for(cfg, teacher_path, tokenizer))


def test_other_generation_settings_are_refused(built, tmp_path):
    """generate() starts from the teacher's generation_config.json, so the same weights with
    other saved settings give other beams: their key differs in `generation` alone."""
    cfg, teacher_path, tokenizer, beams = built
    copy = tmp_path / "teacher"
    shutil.copytree(teacher_path, copy)
    settings_file = copy / "generation_config.json"
    settings = json.loads(settings_file.read_text()) if settings_file.exists() else {}
    settings_file.write_text(json.dumps({**settings, "length_penalty": 2.0}))
    other = teacher_beams.key_for(cfg, str(copy), tokenizer)
    assert other.teacher == beams.key.teacher and other.generation != beams.key.generation
    with pytest.raises(BeamsMismatch, match=r"other teacher generation settings \(generation: beams ") as err:
        beams.check(other)
    assert "another teacher (" not in str(err.value)


def test_damaged_files_are_refused_naming_file_and_line(built, tmp_path):
    beams = built[3]
    copy = tmp_path / "copy"
    shutil.copytree(beams.path, copy)
    lines = (beams.path / "beams.jsonl").read_bytes().splitlines(keepends=True)
    target = copy / "beams.jsonl"

    target.write_bytes(b"".join(lines[:10]) + lines[10][: len(lines[10]) // 2])  # a write stopped mid-line
    with pytest.raises(BeamsMismatch, match=rf"{target}: line 11: cut short"):
        teacher_beams.TeacherBeams(copy)
    target.write_bytes(b"".join(lines[:-1]))  # stopped at a line's end
    with pytest.raises(BeamsMismatch, match=rf"{target}: line {len(lines)}: missing"):
        teacher_beams.TeacherBeams(copy)
    target.write_bytes(b"".join([*lines[:4], b'{"id": "x", "beams": [{"text": 1}]}\n', *lines[5:]]))
    with pytest.raises(BeamsMismatch, match=rf"{target}: line 5: not a beams line"):
        teacher_beams.TeacherBeams(copy)
    target.unlink()
    with pytest.raises(BeamsMismatch, match="no beams.jsonl"):
        teacher_beams.TeacherBeams(copy)
    with pytest.raises(BeamsMismatch, match="record nope is not in the teacher beams"):
        beams.for_record("nope")


def test_beam_token_ids_drop_the_start_and_what_follows_eos():
    assert teacher_beams.beam_token_ids([0, 5, 6, 1, 0, 0], eos=1, max_target_len=8) == [5, 6, 1]
    assert teacher_beams.beam_token_ids([0, 5, 6, 7, 8], eos=1, max_target_len=4) == [5, 6, 7, 8]
    assert teacher_beams.beam_token_ids([0, 1, 0], eos=1, max_target_len=4) == [1]


def test_trident_teacher_beams_writes_the_folder(built, synth_dir, capsys):
    cfg, teacher_path, tokenizer, _ = built
    args = ["teacher", "--config", LEGACY, *_overrides(synth_dir, cfg.runs_dir)]
    assert main([*args, "--beams", "2"]) == 0
    out = capsys.readouterr().out
    written = json.loads(out[out.index("{"):])
    assert written["teacher"] == teacher_path and "cache" not in written
    folder = written["beams"]
    records = len(load_split(cfg.data.dir, "train"))
    assert f"[trident] teacher beams {folder}: {records} records × 2 beams" in out
    two = teacher_beams.TeacherBeams(folder)
    assert two.n == 2 and two.key.beams == 2 and len(two) == records
    assert all(len(two.for_record(rid)) == 2 for rid in two.record_ids)
    assert not (Path(cfg.runs_dir) / ".cache" / "teacher-logits").exists()
    # with --cache-logits both are written; the beams are found again, not rebuilt
    assert main([*args, "--beams", "2", "--cache-logits"]) == 0
    out = capsys.readouterr().out
    written = json.loads(out[out.index("{"):])
    assert written["beams"] == folder and "building the teacher beams" not in out
    assert (Path(cfg.runs_dir) / ".cache" / "teacher-logits").is_dir() and "teacher-logit cache" in out
