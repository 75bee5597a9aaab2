"""Export parity: each export format of the smoke student against the float model, in one
process: bytes of weights on disk, p50 latency per record at batch 1 (greedy; the models run
interleaved on the same records after a warm-up), and agreement with the float model's greedy
predictions on the whole test split (share of identical predictions) with the F1 of each and
ΔF1 (trident.metrics). A format below 99% identical predictions is flagged in the table, not
left out. Needs the run `make smoke` writes (`make bench` trains it first when missing).

    python benchmarks/export_parity.py [--run runs/smoke] [--formats int8,onnx] [--latency-records 40]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from transformers import AutoModelForSeq2SeqLM

from record import record
from trident.config import load_config
from trident.data.encoding import encode_records
from trident.export.loading import load_exported
from trident.export.parity import (PARITY_TARGET, greedy_predictions, interleaved_latency, p50_ms, parity)
from trident.export.run import export_run
from trident.models import load_tokenizer
from trident.runs import load_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/smoke")
    parser.add_argument("--split", default="test")
    parser.add_argument("--formats", default="int8,onnx")
    parser.add_argument("--latency-records", type=int, default=40, help="records timed at batch 1 (default: 40)")
    parser.add_argument("--warmup", type=int, default=3, help="records run first and not timed (default: 3)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch of the agreement pass (default: 32)")
    parser.add_argument("--no-record", action="store_true", help="print only; leave results.json alone")
    args = parser.parse_args()
    run = Path(args.run)
    if not (run / "summary.json").exists():
        sys.exit(f"{run} has no finished run: `make smoke` trains it")
    torch.manual_seed(0)
    cfg = load_config(run / "config.yaml")
    tokenizer = load_tokenizer(run / "model")
    float_model = AutoModelForSeq2SeqLM.from_pretrained(run / "model").eval()
    records = load_records(cfg, args.split, {})
    inputs = [f["input_ids"] for f in encode_records(records, tokenizer, cfg.data.max_source_len, cfg.data.max_target_len,
                                                     focal_context=cfg.data.focal_context)]
    max_new = cfg.eval.max_new_tokens
    started = time.perf_counter()
    float_preds = greedy_predictions(float_model, tokenizer, inputs, max_new, args.batch_size)
    float_s = time.perf_counter() - started
    timed = inputs[:args.warmup + args.latency_records]
    rows = []
    for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
        folder, manifest, export_s = export_run(run, fmt)
        model, _ = load_exported(folder, "cpu")
        started = time.perf_counter()
        preds = greedy_predictions(model, tokenizer, inputs, max_new, args.batch_size)
        pass_s = time.perf_counter() - started
        p = parity(float_preds, preds, [r.assertions for r in records])
        float_t, export_t = interleaved_latency([float_model, model], tokenizer, timed, max_new, args.warmup)
        rows.append({"format": fmt, "weights (bytes)": manifest.bytes, "float (bytes)": manifest.float_bytes,
                     "size vs float": round(manifest.bytes / manifest.float_bytes, 3),
                     "p50 ms (batch 1)": round(p50_ms(export_t), 1), "float p50 ms": round(p50_ms(float_t), 1),
                     "latency vs float": round(p50_ms(export_t) / p50_ms(float_t), 3),
                     "records": p.records, "identical": p.identical, "agreement": round(p.agreement, 4),
                     f"≥ {PARITY_TARGET:.0%}": "yes" if p.meets_target else "NO (below target)",
                     "f1 float": round(p.f1_float, 4), "f1 export": round(p.f1_export, 4),
                     "ΔF1": round(p.delta_f1, 4), "export s": round(export_s, 1),
                     f"{args.split} pass s (batch {args.batch_size})": round(pass_s, 1),
                     f"float pass s": round(float_s, 1)})
        del model
    print(pd.DataFrame(rows).to_string(index=False))
    if not args.no_record:
        record("export", {"rows": rows, "digits": 3, "note": (
            f"`trident export` of {run} ({cfg.model.student}), each format against the float model in one process: "
            f"weights on disk; p50 latency per record at batch 1, greedy, up to {max_new} new tokens, "
            f"{len(timed) - args.warmup} {args.split} records after {args.warmup} of warm-up, the two models "
            f"interleaved; agreement: share of the {len(records)} {args.split} records whose greedy prediction "
            f"is identical to the float model's (batches of {args.batch_size}); ΔF1 = export − float. "
            "int8: torch.ao.quantization.quantize_dynamic, weights per output channel, every Linear layer but the LM head. ONNX: torch.onnx (dynamo) "
            "encoder and decoder, no key/value cache, ONNX Runtime CPU.")})


if __name__ == "__main__":
    main()
