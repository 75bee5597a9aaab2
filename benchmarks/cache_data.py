"""The teacher-logit cache on the embedded corpus' teacher, and the data path's throughput.

- cache: bytes per target token, KL(full teacher ‖ top-k teacher) in nats per token and the
  tail mass, at k = 16, 64, 256, 512 and 1024, on the teacher `make smoke` trains (the smoke run's,
  or a teacher model folder given with --teacher and its --config); write
  throughput (the teacher's forward included, as `trident teacher --cache-logits` runs it) and
  read throughput (rows collated into training batches);
- data: records per second through loading (JSONL → Record), encoding (→ token ids) and
  collation (→ padded batches) of the smoke corpus' training split.

    python benchmarks/cache_data.py [--run runs/smoke]
    python benchmarks/cache_data.py --teacher runs/teacher-<key>/model --config experiments/smoke.yaml
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from record import record
from trident import teacher_cache
from trident.config import load_config
from trident.data.batches import collator
from trident.data.encoding import encode_records
from trident.data.records import load_split
from trident.models import build_model, load_tokenizer
from trident.rundir import RunDir, read_summary


# 64 is the target's k; 512 and 1024 say which k an under-trained teacher needs to reach it
K_VALUES = (16, 64, 256, 512, 1024)


def cache_rows(cfg, teacher: str, tokenizer, work: Path) -> list[dict]:
    rows = []
    features = None
    for k in K_VALUES:
        run_cfg = replace(cfg, teacher=replace(cfg.teacher, top_k=k, cache=""), runs_dir=str(work))
        key = teacher_cache.key_for(run_cfg, teacher, tokenizer)
        started = time.perf_counter()
        cache = teacher_cache.build(run_cfg, teacher, tokenizer, key, work / f"k{k}", progress=False)
        write_s = time.perf_counter() - started
        if features is None:
            records = load_split(cfg.data.dir, "train")
            features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len)
            rows_of = cache.rows_for([r.id for r in records])
        collate = collator(tokenizer, build_model("tiny-student", tokenizer, 0), cache)
        tagged = [{**f, "cache_row": r} for f, r in zip(features, rows_of)]
        started = time.perf_counter()
        for at in range(0, len(tagged), 32):
            collate(tagged[at:at + 32])
        read_s = time.perf_counter() - started
        m = cache.meta
        rows.append({"k": k, "bytes per token": m["bytes_per_token"], "file bytes per token": m["file_bytes_per_token"],
                     "KL(full ‖ top-k) nats/token": m["kl_full_topk_nats_per_token"],
                     "teacher tail mass": m["tail_mass_per_token"], "records": m["records"], "tokens": m["tokens"],
                     "write records/s": m["records"] / write_s, "read records/s (collated)": m["records"] / read_s,
                     "read MB/s": m["tokens"] * m["bytes_per_token"] / read_s / 1e6})
    return rows


def data_rows(cfg, tokenizer) -> list[dict]:
    started = time.perf_counter()
    records = load_split(cfg.data.dir, "train")
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    features = encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len, critical=True)
    encode_s = time.perf_counter() - started
    collate = collator(tokenizer, build_model("tiny-student", tokenizer, 0))
    tagged = [{**f, "idx": i} for i, f in enumerate(features)]
    started = time.perf_counter()
    for at in range(0, len(tagged), 32):
        collate(tagged[at:at + 32])
    collate_s = time.perf_counter() - started
    n = len(records)
    return [{"stage": "load (JSONL → records)", "records/s": n / load_s},
            {"stage": "encode (→ token ids, critical-token masks)", "records/s": n / encode_s},
            {"stage": "collate (→ padded batches of 32)", "records/s": n / collate_s}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/smoke")
    parser.add_argument("--teacher", help="a teacher model folder, instead of the run's teacher")
    parser.add_argument("--config", help="with --teacher: the config whose training split is cached")
    args = parser.parse_args()
    if args.teacher:
        if not args.config:
            sys.exit("--teacher needs --config (the config whose training split is cached)")
        cfg = load_config(args.config, ["--tracking.progress=false"])
        teacher = args.teacher
    else:
        run = RunDir(Path(args.run))
        if not run.is_finished():
            sys.exit(f"{run.root} has no finished run: `make smoke` trains it")
        cfg = load_config(run.config, ["--tracking.progress=false"])
        teacher = read_summary(run).teacher
    tokenizer = load_tokenizer(teacher)
    with tempfile.TemporaryDirectory() as tmp:
        rows = cache_rows(cfg, teacher, tokenizer, Path(tmp))
    data = data_rows(cfg, tokenizer)
    import pandas as pd

    print(pd.DataFrame(rows).to_string(index=False))
    print(pd.DataFrame(data).to_string(index=False))
    record("cache", {"rows": rows, "digits": 4, "note": (
        f"The smoke teacher ({teacher}, trained by `make smoke` on the embedded corpus, vocabulary "
        f"{len(tokenizer)}), over its {rows[0]['records']} training records. Write = the teacher's forward pass "
        "plus top-k and the files; read = the rows of every record collated into batches of 32. KL is against "
        "the distribution the loss reconstructs at T = 1 (the top-k, the tail spread uniformly); targets: "
        "≤ 256 bytes per token and ≤ 0.01 nats at k = 64 (the larger k say which k reaches it).")})
    record("data", {"rows": data, "digits": 0, "note": f"The smoke corpus' training split ({cfg.data.dir}, "
                    f"{rows[0]['records']} records), max_source_len {cfg.data.max_source_len}, max_target_len "
                    f"{cfg.data.max_target_len}; one process."})


if __name__ == "__main__":
    main()
