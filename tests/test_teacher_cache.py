"""The teacher-logit cache on a real tiny teacher: round trip, refusal of a mismatched cache,
distillation from it with the same kl/jsd values as the teacher online."""
import csv
import json
import shutil

import numpy as np
import pytest
import torch
from transformers import AutoModelForSeq2SeqLM

from conftest import tiny_overrides
from trident import distill as distill_module
from trident import teacher_cache
from trident.cli import main
from trident.config import LossConfig, load_config
from trident.data.batches import collator
from trident.data.encoding import encode_records
from trident.data.records import load_split
from trident.distill import distill
from trident.losses import token
from trident.losses.registry import LossInputs, TeacherTopK
from trident.models import build_model, load_tokenizer
from trident.rundir import RunDir, read_summary
from trident.teacher import ensure_teacher

LEGACY = "experiments/legacy.yaml"
JSD = "--loss.components={jsd: {start: 1.0}}"


def _cfg(data_dir, runs_dir, *extra, **overrides):
    return load_config(LEGACY, [*tiny_overrides(data_dir, runs_dir, **overrides), *extra])


@pytest.fixture(scope="module")
def built(synth_dir, tmp_path_factory):
    """A trained tiny teacher and its cache at the default k = 64."""
    runs = tmp_path_factory.mktemp("cache-runs")
    cfg = _cfg(synth_dir, runs)
    teacher_path = ensure_teacher(cfg)
    tokenizer = load_tokenizer(teacher_path)
    cache = teacher_cache.ensure(cfg, teacher_path, tokenizer, progress=False)
    return cfg, teacher_path, tokenizer, cache


def _reference_rows(cfg, teacher_path, tokenizer, records):
    """Each record's top-k straight from the teacher, one record at a time, without the cache code."""
    teacher = AutoModelForSeq2SeqLM.from_pretrained(teacher_path).eval()
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len)
    out = []
    with torch.no_grad():
        for f in features:
            labels = torch.tensor([f["labels"]])
            logits = teacher(input_ids=torch.tensor([f["input_ids"]]), labels=labels).logits
            values, ids = torch.log_softmax(logits.float(), -1)[0].topk(cfg.teacher.top_k, -1)
            out.append((values.numpy(), ids.numpy()))
    return out


def test_round_trip_of_ids_and_values(built):
    cfg, teacher_path, tokenizer, cache = built
    records = load_split(cfg.data.dir, "train")
    assert cache.record_ids == [r.id for r in records]
    assert cache.meta["tokens"] == sum(len(f["labels"]) for f in encode_records(
        records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len))
    assert cache.k == 64 and cache.meta["bytes_per_token"] == 256 and cache.meta["ids_dtype"] == "uint16"
    # The cache runs the teacher in padded batches, the reference one record at a time: the same
    # numbers up to float32 noise (~1e-6), so a value may sit on the other side of a float16 step
    # and two nearly tied tokens may swap places.
    swapped = total = 0
    for record, (values, ids) in zip(records, _reference_rows(cfg, teacher_path, tokenizer, records)):
        got_values, got_ids = cache.rows(record.id)
        assert got_values.dtype == np.float16 and got_ids.dtype == np.uint16
        as32 = got_values.astype(np.float32)
        # float16 rounded toward −∞: never above the teacher's value, at most one float16 step below
        step = np.abs(np.nextafter(got_values, np.float16(np.inf)).astype(np.float32) - as32)
        assert (as32 <= values + 1e-5).all() and (values - as32 <= step + 1e-5).all()
        differ = got_ids.astype(np.int64) != ids
        swapped, total = swapped + differ.sum(), total + ids.size
        assert np.abs(np.diff(values, axis=-1)).min(initial=1.0) < 1e-4 or not differ.any()
    assert swapped <= total * 0.001
    assert cache.meta["file_bytes_per_token"] < 256 + 1  # the .npy headers are all the rest
    assert 0 <= cache.meta["kl_full_topk_nats_per_token"] and 0 <= cache.meta["tail_mass_per_token"] < 1


def test_records_never_straddle_shards(built, tmp_path, monkeypatch):
    cfg, teacher_path, tokenizer, cache = built
    monkeypatch.setattr(teacher_cache, "SHARD_ROWS", 100)
    small = teacher_cache.build(cfg, teacher_path, tokenizer, cache.key, tmp_path / "sharded", progress=False)
    assert small.meta["shards"] > 5
    start, n = small.index[:, 1], small.index[:, 2]
    assert ((start + n <= 100) | (start == 0)).all()  # within its shard, or alone in one when longer
    for rid in cache.record_ids:
        for a, b in zip(small.rows(rid), cache.rows(rid)):
            np.testing.assert_array_equal(a, b)


def test_the_collated_batch_gives_kl_and_jsd_within_the_tail_term(built):
    """On a real batch: online − cached = the chain rule's tail term, at T = 1 (the documented error)."""
    cfg, teacher_path, tokenizer, cache = built
    records = load_split(cfg.data.dir, "train")[:8]
    teacher = AutoModelForSeq2SeqLM.from_pretrained(teacher_path).eval()
    student = build_model("tiny-student", tokenizer, 0)
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len)
    rows = cache.rows_for([r.id for r in records])
    batch = collator(tokenizer, student, cache)([{**f, "cache_row": row} for f, row in zip(features, rows)])
    labels = batch["labels"]
    model_inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "decoder_input_ids")}
    with torch.no_grad():
        t = teacher(**model_inputs).logits.double()
        s = student(**model_inputs).logits.double()
    topk = TeacherTopK(batch["teacher_topk_logp"], batch["teacher_topk_ids"])
    real = labels != -100
    pt, ps = torch.softmax(t, -1), torch.softmax(s, -1)
    tail = torch.ones_like(pt, dtype=torch.bool).scatter(-1, topk.ids, False)
    rt, rs = (pt * tail).sum(-1), (ps * tail).sum(-1)
    ct, cs = pt * tail / rt.unsqueeze(-1), ps * tail / rs.unsqueeze(-1)
    kl_tail = rt * torch.where(tail, ct * (ct.log() - cs.log()), torch.zeros_like(ct)).sum(-1)
    cfg1 = LossConfig(temperature=1.0)
    online = token.kl(LossInputs(s, labels, t), cfg1).item()
    cached = token.kl(LossInputs(s, labels, teacher_topk=topk), cfg1).item()
    gap = kl_tail[real].mean().item()
    # float16 log-probabilities rounded down lower each cached probability by less than one float16
    # step of its log (< 0.4% for log p > −8): the identity holds to that, not to float64
    assert gap > 0
    assert online == pytest.approx(cached + gap, rel=5e-3)
    assert cached <= online


def test_mismatched_cache_is_refused_naming_what_differs(built, synth_dir, tmp_path, capsys):
    cfg, teacher_path, tokenizer, cache = built
    runs = tmp_path / "runs"
    base = tiny_overrides(synth_dir, runs, name="m", **{"teacher.cache": cache.path, "teacher.source": "cache",
                                                         "model.teacher_checkpoint": teacher_path})
    assert main(["train", "--config", LEGACY, *base, "--data.max_target_len=24"]) == 2
    err = capsys.readouterr().err
    assert "was built for another data.max_target_len (max_target_len: cache 32, this run 24)" in err
    assert str(cache.path) in err and err.count("\n") == 1

    other = tmp_path / "other-data"
    shutil.copytree(synth_dir, other)
    lines = (other / "train.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row["assertions"] = ["assertTrue(true);"]
    (other / "train.jsonl").write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    assert main(["train", "--config", LEGACY, *base, f"--data.dir={other}"]) == 2
    assert "was built for other training data" in capsys.readouterr().err

    # another teacher: the same recipe with one more step trains other weights
    another = ensure_teacher(_cfg(synth_dir, tmp_path / "runs2", **{"teacher_train.max_steps": 7}))
    assert main(["train", "--config", LEGACY, *base, f"--model.teacher_checkpoint={another}"]) == 2
    assert "was built for another teacher (other weights)" in capsys.readouterr().err

    trained = train_tokenizer_like(tokenizer)
    key = teacher_cache.key_for(cfg, teacher_path, trained)
    with pytest.raises(teacher_cache.CacheMismatch, match="another tokenizer"):
        cache.check(key)


def train_tokenizer_like(tokenizer):
    from trident.models import train_tokenizer

    return train_tokenizer(["class A { int x; }", "assertEquals(1, x);"] * 20, 300)


def _step_values(run_dir, key):
    with open(RunDir(run_dir).step_metrics, newline="") as fh:
        return [float(r[key]) for r in csv.DictReader(fh)]


@pytest.mark.parametrize("name,extra", [("kl", []), ("jsd", [JSD])])
def test_distillation_from_the_cache_matches_the_teacher_online(synth_dir, tmp_path, monkeypatch, name, extra):
    """With the whole vocabulary cached (k = V, no tail) the run's kl/jsd and total loss follow the
    online run's to float16 precision, step by step; and the teacher is never loaded."""
    runs = tmp_path / "runs"
    vocab = len(load_tokenizer(ensure_teacher(_cfg(synth_dir, runs))))
    common = dict(**{"teacher.top_k": vocab, "loss.temperature": 2.0})
    online = _cfg(synth_dir, runs, *extra, name="online", **common, **{"teacher.source": "online"})
    distill(online)
    real_load = AutoModelForSeq2SeqLM.from_pretrained

    def no_teacher(path, *a, **kw):
        raise AssertionError(f"the teacher was loaded from {path}")

    cfg = _cfg(synth_dir, runs, *extra, name="cached", **common, **{"teacher.source": "cache"})
    teacher_cache.ensure(cfg, ensure_teacher(cfg), load_tokenizer(ensure_teacher(cfg)), progress=False)
    monkeypatch.setattr(distill_module.AutoModelForSeq2SeqLM, "from_pretrained", no_teacher)
    summary = distill(cfg)
    monkeypatch.setattr(distill_module.AutoModelForSeq2SeqLM, "from_pretrained", real_load)
    assert summary.teacher_source.startswith("cache:") and read_summary(RunDir(online.run_dir)).teacher_source == "online"
    assert summary.teacher_parameters == read_summary(RunDir(online.run_dir)).teacher_parameters
    for key in (f"{name}/raw", "loss_total"):
        a, b = _step_values(online.run_dir, key), _step_values(cfg.run_dir, key)
        assert len(a) == len(b) == 6
        assert b == pytest.approx(a, rel=2e-3), key


def test_auto_uses_a_cache_once_teacher_cache_logits_wrote_it(synth_dir, tmp_path, capsys):
    runs = tmp_path / "runs"
    args = ["--config", LEGACY, *tiny_overrides(synth_dir, runs, name="auto")]
    assert main(["train", *args]) == 0
    assert json.loads((runs / "auto" / "summary.json").read_text())["teacher_source"] == "online"
    assert main(["teacher", *args, "--cache-logits"]) == 0
    out = capsys.readouterr().out
    assert "teacher-logit cache" in out and "KL(full ‖ top-k)" in out
    assert main(["train", *args, "--overwrite"]) == 0
    assert json.loads((runs / "auto" / "summary.json").read_text())["teacher_source"].startswith("cache:")


def test_the_key_digest_is_sha256_of_its_sorted_fields():
    """Caches are found by this digest: it must stay sha256 over exactly these fields (JSON,
    sorted keys), so caches built before the key's fields moved to teacher_artefact are found."""
    import hashlib

    fields = {"teacher": "t" * 64, "tokenizer": "v" * 64, "data": "d" * 64, "max_source_len": 256,
              "max_target_len": 32, "focal_context": "method", "skip_bad_records": False, "k": 64, "format": 1}
    expected = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    key = teacher_cache.CacheKey(**{k: v for k, v in fields.items() if k != "format"})
    assert key.digest() == expected


def _copy(cache, tmp_path, name):
    dst = tmp_path / name
    shutil.copytree(cache.path, dst)
    return dst


def test_a_cut_short_shard_is_a_one_line_error_naming_it(built, tmp_path, capsys):
    cfg, teacher_path, tokenizer, cache = built
    damaged = _copy(cache, tmp_path, "cut")
    shard = damaged / "values-00000.npy"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(teacher_cache.CacheDamaged, match=r"is damaged: values-00000\.npy cannot be read"):
        teacher_cache.TeacherLogitCache(damaged)
    # from the command line: one line, exit 2, the folder and the file named
    argv = ["teacher", "--config", LEGACY, *tiny_overrides(cfg.data.dir, cfg.runs_dir), f"--teacher.cache={damaged}",
            "--verify-cache"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(damaged) in err[0] and "values-00000.npy" in err[0]


def test_flipped_bytes_are_found_by_the_checksum_on_first_use_and_by_verify(built, tmp_path, capsys):
    cfg, teacher_path, tokenizer, cache = built
    assert set(cache.checksums) == {p.name for p in cache.path.glob("*.npy")}
    assert main(["teacher", "--config", LEGACY, *tiny_overrides(cfg.data.dir, cfg.runs_dir),
                 f"--teacher.cache={cache.path}", "--verify-cache"]) == 0
    assert f"{len(cache.checksums)} files match their checksums" in capsys.readouterr().out
    damaged = _copy(cache, tmp_path, "flipped")
    shard = damaged / "values-00000.npy"
    data = bytearray(shard.read_bytes())
    data[-7] ^= 0xFF  # one value's bytes, past the header: the file still opens and has its size
    shard.write_bytes(bytes(data))
    opened = teacher_cache.TeacherLogitCache(damaged)  # sizes are fine
    with pytest.raises(teacher_cache.CacheDamaged, match="values-00000.npy does not have the checksum"):
        opened.rows(opened.record_ids[0])  # the shard's first use
    assert main(["teacher", "--config", LEGACY, *tiny_overrides(cfg.data.dir, cfg.runs_dir),
                 f"--teacher.cache={damaged}", "--verify-cache"]) == 2
    assert "does not have the checksum" in capsys.readouterr().err
