"""`trident` command line: data synth, teacher, train (distil), evaluate."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from trident.config import describe
from trident.errors import ConfigError, DataError, NonFiniteTraining, TridentError

CONFIG_HELP = """config:
  --config FILE      a YAML run config (experiments/smoke.yaml, legacy.yaml, trident.yaml)
  --KEY=VALUE        override any config key by its dotted name (the form W&B sweep agents pass),
                     e.g. --train.lr=1e-4 --loss.components.jsd.end=0.4 --tracking.wandb=disabled

config keys (default, meaning):
"""


def _config_epilog() -> str:
    lines = [CONFIG_HELP]
    for key, default, doc in describe():
        lines.append(f"  {key} = {default}\n      {doc}")
    return "\n".join(lines)


def _mining_flags(parser: argparse.ArgumentParser, split_help: str) -> None:
    """The miner's options, the same on `data mine` and `data corpus build` (see _mine_options)."""
    parser.add_argument("--min-assertions", type=int, default=1, help="fewest assertions a record may have (default: 1)")
    parser.add_argument("--max-assertions", type=int, default=5, help="most assertions a record may have (default: 5)")
    parser.add_argument("--max-chars", type=int, default=10_000,
                        help="longest focal method + masked test + assertions, in characters (one assertion "
                             "longer than this alone: assertion_too_long); 0 = no limit (default: 10000)")
    parser.add_argument("--max-file-bytes", type=int, default=4_000_000,
                        help="skip (and count) .java files larger than this; 0 = no limit (default: 4000000)")
    parser.add_argument("--split", default="80/10/10", help=f"{split_help} (default: 80/10/10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default: 0)")
    parser.add_argument("--workers", type=int, default=0, help="parser processes; 0 = one per CPU core (default: 0)")


def _mine_options(args, **more):
    from trident.data.mining.miner import MineOptions
    from trident.data.mining.splits import parse_ratios

    return MineOptions(min_assertions=args.min_assertions, max_assertions=args.max_assertions,
                       max_chars=args.max_chars, ratios=parse_ratios(args.split), seed=args.seed,
                       max_file_bytes=args.max_file_bytes, workers=args.workers, **more)


def _parser() -> argparse.ArgumentParser:
    from trident.sweeps.registry import ENGINES, PRUNERS

    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog="trident", formatter_class=fmt, description=(
        "Distil a fine-tuned CodeT5+ teacher into a small student that writes Java test assertions.\n\n"
        "Typical flow: trident data synth → trident teacher → trident train → trident evaluate.\n"
        "Your own data: trident data mine (Java repositories) or trident data import (methods2test, ATLAS, JSONL).\n"
        "Running the assertions: trident evaluate --execute, or trident execute PREDICTIONS.\n"
        "Every command runs offline on the embedded default (synthetic Java, tiny T5 presets)."))
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="data: synthetic corpus, mining Java repositories, importing corpora"
                          ).add_subparsers(dest="data_command", required=True)
    synth = data.add_parser("synth", help="write a synthetic Java corpus (train/val/test JSONL, 80/10/10)")
    synth.add_argument("--out", default="data/synth", help="output folder (default: data/synth)")
    synth.add_argument("--n", type=int, default=6000, help="number of records (default: 6000)")
    synth.add_argument("--seed", type=int, default=0, help="seed; the same seed gives the same corpus (default: 0)")

    mine = data.add_parser(
        "mine", formatter_class=fmt, help="build train/val/test records from Java source trees (tests → focal methods)",
        description="Find the JUnit 3/4/5 and TestNG test methods under each ROOT, map each to its focal class and "
                    "focal method (methods2test's heuristics; see docs/your-data.md), mask its "
                    "assertion statements and write DIR/{train,val,test}.jsonl and DIR/stats.json. Every file is "
                    "parsed once with tree-sitter-java, in parallel. Files that do not parse, and tests without a "
                    "focal method, are counted by reason, never dropped silently.")
    mine.add_argument("roots", nargs="+", metavar="ROOT", help="root folder of a Java repository (several: one per repository)")
    mine.add_argument("--out", required=True, help="output folder")
    _mining_flags(mine, "train/val/test shares")
    mine.add_argument("--group-by", default="auto", choices=["auto", "repo", "package", "class", "focal-class"],
                      help="unit the split keeps whole; auto = repo with several ROOTs, else focal class (which keeps "
                           "every test class whole too) (default: auto)")

    corpus = data.add_parser("corpus", help="a pinned list of repositories → one de-duplicated, licensed corpus"
                             ).add_subparsers(dest="corpus_command", required=True)
    cb = corpus.add_parser(
        "build", formatter_class=fmt, help="fetch, mine and de-duplicate the repositories of a list",
        description="LIST holds one repository a line: owner/name, a full commit SHA and the SPDX licence id "
                    "expected (tab- or space-separated; # comments). Each is fetched at that commit (git, from "
                    "--url or a local copy under --from), mined with `trident data mine`'s rules, and labelled "
                    "with the licence found in its LICENSE/COPYING file (a mismatch with the list is a warning); a "
                    "record that is a near-duplicate of an earlier one (same tokens, layout and comments aside) "
                    "is removed, the first in list order kept. Writes DIR/{train,val,test}.jsonl, split by repository, and DIR/stats.json.")
    cb.add_argument("list", help="the list file (e.g. corpora/java-100.tsv)")
    cb.add_argument("--out", required=True, help="output folder")
    cb.add_argument("--from", dest="source", help="folder of local copies, used instead of --url: DIR/owner/name "
                    "or DIR/owner+name (a checkout or a bare repository, optionally ending in .git), read at the "
                    "listed commit and never changed")
    cb.add_argument("--url", default="https://github.com/{repo}.git",
                    help="where to fetch a repository from; {repo}, {owner} and {name} are filled in "
                         "(default: https://github.com/{repo}.git)")
    _mining_flags(cb, "train/val/test shares, by repository")

    from trident.data.importers.registry import IMPORTERS

    imp = data.add_parser(
        "import", formatter_class=fmt, help="convert a public corpus (methods2test, ATLAS) or other JSONL into records",
        description="Convert a corpus into DIR/{train,val,test}.jsonl (the corpus' own split) and DIR/stats.json.\n"
                    + "\n".join(f"  {e.name}: {e.doc}" for e in IMPORTERS.values()))
    imp.add_argument("source", help="the corpus folder")
    imp.add_argument("--format", required=True, help="corpus format: " + ", ".join(IMPORTERS)
                     + ", or one a --plugins module registers")
    imp.add_argument("--plugins", default="", help="modules (import names or .py paths, comma-separated) to import "
                     "first, so the importers they register can be named by --format")
    imp.add_argument("--out", required=True, help="output folder")
    imp.add_argument("--map", default="", help="jsonl: TRIDENT_FIELD=SOURCE_FIELD,… e.g. focal_method=src_fm,test_method=target")
    imp.add_argument("--skip-bad-records", action="store_true",
                     help="skip malformed lines and count them by reason, instead of stopping at the first")

    for name, text in (("teacher", "fine-tune the teacher with cross-entropy (reused when already trained)"),
                       ("train", "distil the student from the fine-tuned teacher with the configured loss "
                                 "(trains that teacher first when there is none yet)")):
        sp = sub.add_parser(name, help=text, description=text, formatter_class=fmt, epilog=_config_epilog())
        sp.add_argument("--config", help="YAML run config; --KEY=VALUE overrides follow")
        if name == "teacher":
            sp.add_argument("--cache-logits", action="store_true",
                            help="then write the teacher-logit cache: its top-k (teacher.top_k) log-probabilities for "
                                 "every target token of the training split, which distillation reads instead of "
                                 "running the teacher (teacher.source=auto finds it)")
            sp.add_argument("--beams", type=int, metavar="N",
                            help="then write the teacher's N-best assertions by beam search (N beams) for each "
                                 "training record, next to its logit cache (sets teacher.beams=N); `seqkd` and "
                                 "loss.semantic_reference=teacher|both read them, and a run builds them itself "
                                 "when missing. With --cache-logits both are written")
            sp.add_argument("--verify-cache", action="store_true",
                            help="check every file of this config's teacher-logit cache (or teacher.cache) against "
                                 "the checksums written with it, and exit (each shard is also checked on its first "
                                 "use in training)")
        if name == "train":
            train_parser = sp
            sp.add_argument("--overwrite", action="store_true",
                            help="replace a finished run of the same name (its files are removed first)")

    bl = sub.add_parser("baseline", formatter_class=fmt, help="a baseline run: retrieval (copy the nearest training "
                        "record's assertions, BM25)", epilog=_config_epilog(),
                        description="Run a baseline on a config's data and write a run directory "
                                    "<runs_dir>/<name>-retrieval like a trained run's (summary.json, "
                                    "eval/val and eval/<split>), which trident evaluate, the trials table and the "
                                    "report read as a row. retrieval: for each record, the assertions of the "
                                    "training record nearest by BM25 over focal method + masked test, as many as "
                                    "the record has placeholders. Seconds, no model.")
    bl.add_argument("kind", choices=["retrieval"], help="the baseline")
    bl.add_argument("--config", help="YAML run config (its data and eval settings); --KEY=VALUE overrides follow")
    bl.add_argument("--split", action="append", choices=["train", "val", "test"], default=[],
                    help="also score this whole split (repeatable); validation is always scored as training "
                         "validates (data.max_val_records)")
    bl.add_argument("--execute", action="store_true",
                    help="also compile and run the copied assertions (as trident evaluate --execute)")

    ev = sub.add_parser("evaluate", formatter_class=fmt, help="generate on a split and score the predictions",
                        description="Generate for every record of a split (batched; greedy, or beam search with "
                                    "--eval.num_beams=N) and write <run>/eval/<split>/predictions.jsonl and "
                                    "metrics.json. Config overrides (--KEY=VALUE) apply on top of the run's config.yaml.")
    ev.add_argument("--run", required=True, help="run directory (runs/<name>)")
    ev.add_argument("--split", default="test", choices=["train", "val", "test"], help="split to evaluate (default: test)")
    ev.add_argument("--with-teacher", action="store_true",
                    help="also evaluate the teacher this run was distilled from and print both side by side")
    ev.add_argument("--no-retrieval", action="store_true",
                    help="leave out the retrieval baseline's row (the training record nearest by BM25, copied), "
                         "which every table has by default so it answers \"better than copying?\"")
    ev.add_argument("--execute", action="store_true",
                    help="also compile and run the predicted assertions (records with an `executable` field: the "
                         "synthetic corpus): compile_rate, pass_rate, mutation_score, and eval/<split>/execution.jsonl")

    ex = sub.add_parser("execute", formatter_class=fmt, help="compile and run the assertions of a predictions file",
                        description="Put each prediction of PREDICTIONS (a predictions.jsonl that `trident evaluate` "
                                    "wrote) into its record's test, compile it and run it on the focal method and on "
                                    "its mutants, in one JVM. Writes execution.jsonl next to PREDICTIONS and prints "
                                    "compile_rate, pass_rate and mutation_score. Needs Java 17+ and Debian's junit5, "
                                    "junit4, libassertj-core-java and libhamcrest-java (`make setup`).")
    ex.add_argument("predictions", help="a predictions.jsonl ({id, prediction} per line)")
    ex.add_argument("--records", help="the split file the predictions were made for (default: the run's data.dir "
                                      "and the split the predictions' folder is named for)")

    sw = sub.add_parser("sweep", formatter_class=fmt, help="run a W&B-format sweep file with Optuna (or W&B agents)",
                        description="Run a sweep file (W&B's sweep-config format). The default engine is Optuna: the "
                                    "study is stored in sweeps/studies/<name>.db (SQLite), or on --storage "
                                    "postgresql://… where any number of --worker processes on any machines share it. "
                                    "Each trial is one `trident train` run with its own run directory. Re-running a "
                                    "finished sweep runs nothing new.")
    sw.add_argument("file", help="sweep file, e.g. sweeps/beta.yaml")
    sw.add_argument("--engine", choices=list(ENGINES), default="optuna",
                    help="; ".join(f"{e.name}: {e.doc}" for e in ENGINES.values()) + " (default: optuna)")
    sw.add_argument("--storage", help="Optuna storage URL (default: sqlite:///sweeps/studies/<name>.db)")
    sw.add_argument("--worker", action="store_true",
                    help="attach as one more worker to the study (same file and storage); prints no final table")
    sw.add_argument("--pruner", choices=list(PRUNERS),
                    help="override the file's early_terminate: " + "; ".join(f"{e.name}: {e.doc}" for e in PRUNERS.values()))
    sw.add_argument("--heartbeat-interval", type=int, default=10,
                    help="seconds between a running trial's heartbeats (default: 10)")
    sw.add_argument("--grace-period", type=int, default=30,
                    help="seconds without a heartbeat after which a trial's worker counts as dead (default: 30)")
    sw.add_argument("--seed", type=int, help="sampler seed")
    sw.add_argument("--project", default="trident", help="W&B project (--engine wandb)")
    sw.add_argument("--entity", help="W&B entity (--engine wandb)")
    sw.add_argument("--count", type=int, help="trials this W&B agent runs (--engine wandb)")

    xp = sub.add_parser("export", formatter_class=fmt, help="export a run's model for CPU deployment: int8, ONNX",
                        description="Export a finished run's model (<run>/model) into a folder that `trident "
                                    "generate --model FOLDER` runs: --int8, the Linear layers (all but the LM head) "
                                    "dynamically quantized to int8 (torch.ao.quantization.quantize_dynamic); --onnx, encoder and decoder as "
                                    "ONNX graphs run by ONNX Runtime. Each folder holds export.json (format, source "
                                    "run, bytes, library versions) and the tokenizer. CPU only. Parity with the float "
                                    "model: benchmarks/export_parity.py.")
    xp.add_argument("--run", required=True, help="run directory (runs/<name>), finished")
    xp.add_argument("--int8", action="store_true", help="dynamic int8 quantization of the Linear layers (weights per channel; the LM head stays float)")
    xp.add_argument("--onnx", action="store_true", help="ONNX encoder and decoder (needs onnxruntime: pip install -e '.[onnx]')")
    xp.add_argument("--out", help="output folder (default: <run>/export/<format>); with one format only")

    ls = sub.add_parser("analyse-loss-scale", help="per-component magnitudes of a run and the β that balances them",
                        description="Read RUN/step_metrics.csv; report each component's running mean and std, its "
                                    "ratio to the core losses, and the semantic β that brings the scaled semantic "
                                    "term level with them (by value, and by gradient norm when logged).")
    ls.add_argument("run", help="run directory (runs/<name>)")
    ls.add_argument("--window", type=int, default=50, help="steps in the running mean (default: 50)")
    from trident.suggest.command import add_parser as add_generate_parser

    add_generate_parser(sub, fmt)
    for sp in (ev, ex, train_parser):
        sp.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run generated assertions without the bubblewrap sandbox (only inside a disposable "
                             "container of your own: a model's output is untrusted code)")
    return p


def _cmd_data(args) -> int:
    if args.data_command == "mine":
        from trident.data.mining.miner import format_stats, mine

        options = _mine_options(args, group_by=args.group_by)
        print(format_stats(mine(args.roots, args.out, options, progress=sys.stderr.isatty()), args.out))
        return 0
    if args.data_command == "corpus":
        from trident.data.corpus.build import CorpusOptions, build_corpus, format_stats

        options = CorpusOptions(mine=_mine_options(args), source=Path(args.source) if args.source else None, url=args.url)
        print(format_stats(build_corpus(args.list, args.out, options, progress=sys.stderr.isatty()), args.out))
        return 0
    if args.data_command == "import":
        from trident.data.importers.jsonl import parse_mapping
        from trident.data.importers.registry import ImportOptions
        from trident.data.importers.run import format_stats, import_corpus

        from trident.plugins import load_plugin

        for plugin in filter(None, (p.strip() for p in args.plugins.split(","))):
            load_plugin(plugin, "--plugins")
        options = ImportOptions(mapping=parse_mapping(args.map))
        stats = import_corpus(args.format, args.source, args.out, options, skip_bad=args.skip_bad_records)
        print(format_stats(stats, args.out))
        return 0
    from trident.data.synth import write_splits

    paths = write_splits(args.out, args.n, args.seed)
    for split, path in paths.items():
        print(f"{split}: {path}")
    return 0


def _load(args, extra, settings=None):
    from trident.config import load_run_config
    from trident.tracking import set_progress_bars

    cfg = load_run_config([*(["--config", args.config] if args.config else []), *extra], settings)
    set_progress_bars(cfg.tracking.progress)  # before any weights are loaded
    return cfg


def _check_models_first(args, extra, refs_of) -> None:
    """Resolve the models the command loads (trident.model_names) from the config before it is
    validated: that needs torch, and a misspelt or unreachable model should be said at once."""
    from trident.config import load_run_config
    from trident.model_names import resolve_models

    argv = [*(["--config", args.config] if args.config else []), *extra]
    resolve_models(refs_of(load_run_config(argv, check=False)))


def _cmd_teacher(args, extra) -> int:
    from trident.model_names import teacher_refs

    if not args.verify_cache:
        checkpoint = args.cache_logits or args.beams is not None  # caching loads the fine-tuned teacher
        _check_models_first(args, extra, lambda cfg: teacher_refs(cfg, checkpoint))
    from trident.teacher import ensure_teacher, train_teacher

    # --beams N is teacher.beams=N resolved (and range-checked) with the rest of the config, never patched in after
    cfg = _load(args, extra, {"teacher": {"beams": args.beams}} if args.beams is not None else None)
    if args.verify_cache:
        return _verify_cache(cfg)
    if not args.cache_logits and args.beams is None:
        summary = train_teacher(cfg)
        print(json.dumps({"teacher": summary.run_dir, "val_metrics": summary.val_metrics}, indent=2))
        return 0
    from trident import teacher_beams, teacher_cache
    from trident.models import load_tokenizer

    teacher_path = ensure_teacher(cfg)  # model.teacher_checkpoint, or the stage's teacher (trained when missing)
    tokenizer = load_tokenizer(cfg.model.tokenizer or teacher_path)
    written = {"teacher": teacher_path}
    if args.cache_logits:
        cache = teacher_cache.ensure(cfg, teacher_path, tokenizer, progress=cfg.tracking.progress)
        print(teacher_cache.describe(cache))
        written["cache"] = str(cache.path)
    if args.beams is not None:
        beams = teacher_beams.ensure(cfg, teacher_path, tokenizer, progress=cfg.tracking.progress)
        print(teacher_beams.describe(beams))
        written["beams"] = str(beams.path)
    print(json.dumps(written, indent=2))
    return 0


def _verify_cache(cfg) -> int:
    from trident import teacher_cache
    from trident.models import load_tokenizer
    from trident.teacher import teacher_dir

    if cfg.teacher.cache:
        path = Path(cfg.teacher.cache)
    else:
        teacher_path = cfg.model.teacher_checkpoint or str(teacher_dir(cfg) / "model")
        if not Path(teacher_path).exists() and not cfg.model.teacher_checkpoint:
            raise TridentError(f"no teacher for this config yet ({teacher_path}), so no teacher-logit cache to verify")
        tokenizer = load_tokenizer(cfg.model.tokenizer or teacher_path)
        path = teacher_cache.default_dir(cfg, teacher_cache.key_for(cfg, teacher_path, tokenizer))
    checked = teacher_cache.TeacherLogitCache(path).verify()
    if not checked:
        print(f"{path}: written before checksums were recorded; its sizes are consistent, its bytes cannot be checked")
    else:
        print(f"{path}: {len(checked)} files match their checksums")
    return 0


def agent_run_id() -> str | None:
    """Under a W&B sweep agent every run is the sweep file's command, so has the same --name: each
    run gets its own directory, `<name>-<W&B run id>` (the agent sets WANDB_SWEEP_ID and WANDB_RUN_ID)."""
    run_id = os.environ.get("WANDB_RUN_ID")
    return run_id if os.environ.get("WANDB_SWEEP_ID") and run_id else None


def _cmd_train(args, extra) -> int:
    from trident.model_names import encoder_refs, resolve_models, student_refs

    # every model before anything is generated, trained or written
    _check_models_first(args, extra, student_refs)
    cfg = _load(args, extra)
    resolve_models(encoder_refs(cfg))  # which encoders, the loss components say (their module imports torch)
    run_id = agent_run_id()
    if run_id and not cfg.tracking.sweep:  # not an Optuna trial, which names its own runs
        cfg = _load(args, extra, {"name": f"{cfg.name}-{run_id}"})
    from trident.distill import distill

    summary = distill(cfg, overwrite=args.overwrite)
    print(json.dumps({"run": summary.run_dir, "val_metrics": summary.val_metrics}, indent=2))
    return 0


def _cmd_baseline(args, extra) -> int:
    from trident.baseline import run_retrieval

    cfg = _load(args, extra)
    summary = run_retrieval(cfg, splits=args.split, execute=args.execute or None)
    print(json.dumps({"run": summary.run_dir, "wall_time_s": round(summary.wall_time_s, 2),
                      "val_metrics": summary.val_metrics}, indent=2))
    return 0


def _cmd_evaluate(args, extra) -> int:
    from trident.runs import existing_run

    run = existing_run(Path(args.run))  # before the imports below, which take seconds

    import pandas as pd

    from trident import metrics
    from trident.baseline import evaluate_retrieval, is_baseline
    from trident.config import load_config
    from trident.evaluate import evaluate_model, evaluate_run
    from trident.execution.scoring import EXEC_KEYS
    from trident.model_names import ModelRef, resolve_models
    from trident.rundir import read_summary

    baseline_run = is_baseline(run)
    if args.with_teacher and not baseline_run:  # a teacher checkpoint may be a hub name
        resolve_models([ModelRef("the run's teacher (summary.json)", read_summary(run).teacher)])
    rows = {"student" if args.with_teacher else run.name: evaluate_run(run.root, args.split, extra, args.execute)}
    cfg = load_config(run.config, extra)
    if args.with_teacher and not baseline_run:
        teacher = Path(read_summary(run).teacher)
        rows = {"teacher": evaluate_model(teacher, cfg, args.split, run.eval_dir(args.split, teacher=True),
                                          execute=args.execute), **rows}
    if not args.no_retrieval and not baseline_run:
        rows["retrieval"] = evaluate_retrieval(cfg, args.split, run.eval_dir(args.split, retrieval=True),
                                               execute=args.execute)
    keys = list(metrics.METRIC_KEYS) + (list(EXEC_KEYS) if args.execute else [])
    table = pd.DataFrame({name: {k: m.get(k) for k in keys} for name, m in rows.items()}).T
    print(f"\n{args.split} split ({next(iter(rows.values()))['records']} records"
          + (f", {next(iter(rows.values()))['executable_records']} executable" if args.execute else "") + "):")
    print(table.to_string(float_format=lambda v: f"{v:.4f}", na_rep="n/a"))
    print(f"\npredictions and metrics: {run.root / 'eval'}")
    return 0


def _cmd_execute(args, extra) -> int:
    from trident.config import load_config
    from trident.data.records import iter_records, load_split
    from trident.execution.scoring import EXEC_KEYS, execute_predictions
    from trident.io import atomic_write_jsonl
    from trident.rundir import EXECUTION_FILE

    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    predictions_path = Path(args.predictions)
    predictions = {}
    for line, row in enumerate(predictions_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not row.strip():
            continue
        try:
            item = json.loads(row)
            predictions[str(item["id"])] = str(item["prediction"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{predictions_path}:{line}: not a prediction ({{\"id\", \"prediction\"}}): {exc}") from None
    if args.records:
        records = list(iter_records(args.records, id_prefix=Path(args.records).name.split(".")[0]))
    else:
        run_dir, split = predictions_path.parent.parent.parent, predictions_path.parent.name.removesuffix("-teacher")
        if not (run_dir / "config.yaml").exists():
            raise ConfigError(f"{predictions_path} is not inside a run's eval/<split>/ folder: give --records")
        records = load_split(load_config(run_dir / "config.yaml").data.dir, split)
    missing = [r.id for r in records if r.id not in predictions]
    if missing:
        raise DataError(f"{predictions_path} has no prediction for {len(missing)} record(s), e.g. {missing[0]}")
    results, rates = execute_predictions(records, [predictions[r.id] for r in records], progress=sys.stderr.isatty())
    atomic_write_jsonl(predictions_path.parent / EXECUTION_FILE, (r.to_dict() for r in results))
    shown = {k: ("n/a" if rates[k] is None else f"{rates[k]:.4f}") for k in EXEC_KEYS}
    print(f"{rates['executable_records']} of {len(records)} records executable: "
          + ", ".join(f"{k} {v}" for k, v in shown.items()))
    print(f"per example: {predictions_path.parent / EXECUTION_FILE}")
    return 0


def _cmd_generate(args, extra) -> int:
    from trident.suggest.command import run

    return run(args, extra)


def _cmd_sweep(args, extra) -> int:
    from trident.sweeps.registry import ENGINES, EngineOptions
    from trident.sweeps.spec import check_trial_models, load_sweep

    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    options = EngineOptions(storage=args.storage, worker=args.worker, pruner=args.pruner,
                            heartbeat_interval=args.heartbeat_interval, grace_period=args.grace_period,
                            seed=args.seed, project=args.project, entity=args.entity, count=args.count)
    spec = load_sweep(args.file)
    check_trial_models(spec)  # before a study (or a W&B sweep) exists
    return ENGINES[args.engine].load()(spec, options)


def _cmd_export(args, extra) -> int:
    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    formats = [f for f in ("int8", "onnx") if getattr(args, f)]
    if not formats:
        raise ConfigError("no export format: give --int8, --onnx or both")
    if args.out and len(formats) > 1:
        raise ConfigError("--out names one folder: give one format with it (without --out each goes to "
                          "<run>/export/<format>)")
    from trident.export.run import export_run, finished_model

    finished_model(Path(args.run))  # a missing or unfinished run is said before the imports below
    for fmt in formats:
        folder, manifest, seconds = export_run(Path(args.run), fmt, Path(args.out) if args.out else None)
        print(f"{fmt}: {folder} ({manifest.bytes:,} bytes of weights; the float model's: "
              f"{manifest.float_bytes:,}; {seconds:.1f} s)")
    return 0


def _end_process_group(finished: bool) -> None:
    """Tear down a multi-process run's process group (torchrun) before the interpreter exits.

    Left to exit-time destructors, gloo's threads can be destroyed while still joinable, and the
    rank aborts (SIGABRT, "terminate called without an active exception") after its work is done;
    it happened to the rank that finished first, while rank 0 was still saving. So: after a
    command that `finished`, every rank waits for the others (a failed one does not wait: the
    others may never arrive, and torchrun stops them when this rank exits), the group goes, and
    the objects that hold it (DDP's reducer inside a finished Trainer, often in a reference
    cycle) are collected now, with the interpreter alive."""
    if "torch" not in sys.modules:
        return
    import gc

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        try:
            if finished:
                dist.barrier()
        finally:
            dist.destroy_process_group()
        gc.collect()


def main(argv: list[str] | None = None) -> int:
    args, extra = _parser().parse_known_args(argv)
    if getattr(args, "unsafe_no_sandbox", False):
        from trident.execution.sandbox import UNSAFE_ENV

        os.environ[UNSAFE_ENV] = "1"  # read where the JVM starts; subprocesses (torchrun ranks) inherit it
    try:
        if args.command == "data":
            if extra:
                raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
            return _cmd_data(args)
        if args.command == "sweep":
            return _cmd_sweep(args, extra)
        if args.command == "export":
            return _cmd_export(args, extra)
        if args.command == "analyse-loss-scale":
            from trident.analysis.loss_scale import analyse, format_report

            print(format_report(analyse(args.run, args.window)))
            return 0
        handler = {"teacher": _cmd_teacher, "train": _cmd_train, "baseline": _cmd_baseline, "evaluate": _cmd_evaluate,
                   "execute": _cmd_execute, "generate": _cmd_generate}[args.command]
        code = 1
        try:
            code = handler(args, extra)
            return code
        finally:
            _end_process_group(finished=code == 0)
    except NonFiniteTraining as exc:
        print(f"trident: training stopped: {exc}", file=sys.stderr)
        return 3
    except (TridentError, FileNotFoundError) as exc:
        print(f"trident: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
