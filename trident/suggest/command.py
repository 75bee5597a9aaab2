"""`trident generate`: the parser (cheap to build: nothing heavy imported) and the command.

Exit codes: 0 when every target was generated for and written out as asked; 1 when something
was reported instead (a file that does not parse, a test without a focal method, a method no
suggestion of which parses, placeholders left unfilled, a backup in the way); 2 for an error
that stops the command before any output (trident's usual one-line errors).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DESCRIPTION = """\
Write assertions into Java tests with a trained model (a run directory such as runs/smoke, its
model/ folder or any seq2seq model folder with config.json, or an export folder).

Targets: every test method holding `<AssertPlaceHolder>;` statements (the records' placeholder),
and with --missing, every test method that calls the code under test but asserts nothing (the
assertions go after its last statement). Each test is linked to its focal method with the
miner's rules (`trident data mine`), looked up in the --source roots; the model reads the same
encoding as in training. The default output is a unified diff on stdout; --write edits the
files in place (atomically, with a FILE.orig backup); --jsonl writes one object per method with
every suggestion and its log-probability (the sum of its generated tokens' log-probabilities,
end token included). With --records, a JSONL record file is annotated instead (one object per
record id).

A file that does not parse, and a test whose focal method is not found (the miner's reason),
are reported as FILE:LINE on stderr and left alone. Exit code: 0 when everything was generated,
1 when anything was reported, 2 on an error."""


def add_parser(sub, formatter_class=argparse.RawDescriptionHelpFormatter) -> argparse.ArgumentParser:
    g = sub.add_parser("generate", formatter_class=formatter_class, description=DESCRIPTION,
                       help="write assertions into Java test files (or annotate a record file) with a trained model")
    g.add_argument("paths", nargs="*", metavar="PATH", help="Java test files or folders (walked for .java files)")
    g.add_argument("--model", required=True, help="run directory (runs/<name>), model folder (config.json) or "
                                                   "export folder (export.json)")
    g.add_argument("--source", action="append", default=[], metavar="DIR",
                   help="source root in which focal classes are looked up, e.g. src/main/java (repeatable)")
    g.add_argument("--missing", action="store_true",
                   help="also write assertions for test methods that call the code under test but assert nothing")
    g.add_argument("--write", action="store_true", help="edit the files in place (atomically) instead of printing a diff")
    g.add_argument("--no-backup", action="store_true", help="with --write: no FILE.orig copy of each changed file")
    g.add_argument("--jsonl", metavar="FILE", help="write one JSON object per method (or record) to FILE; - for stdout "
                                                  "(then no diff is printed)")
    g.add_argument("--records", metavar="FILE", help="annotate a JSONL record file (trident's record format) instead "
                                                    "of Java files: suggestions per record id, to --jsonl (default stdout)")
    g.add_argument("--num-return", type=int, default=1, metavar="N",
                   help="suggestions per method, best first: beam search when N > 1 (default: 1, greedy)")
    g.add_argument("--num-beams", type=int, metavar="B", help="beams (at least --num-return; default: --num-return)")
    g.add_argument("--device", default="auto", help="torch device: cpu, cuda, cuda:1 … (default: auto, cuda when available)")
    g.add_argument("--max-new-tokens", type=int, metavar="N",
                   help="longest suggestion in tokens (default: the run's eval.max_new_tokens, else 64)")
    g.add_argument("--batch-size", type=int, metavar="N", help="records per generate() call (default: the run's "
                                                              "eval.batch_size, else 32)")
    g.add_argument("--execute", action="store_true",
                   help="with --records: compile and run every suggestion of each executable record (an `executable` "
                        "field, as the synthetic corpus writes) in the sandbox, as trident execute does; each "
                        "suggestion gets its `execution` (compiles, passes, killed_mutants, mutants, error)")
    g.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="with --execute: run the assertions without the bubblewrap sandbox (only inside a disposable "
                        "container of your own: a model's output is untrusted code)")
    return g


def _emit_jsonl(dest: str, rows: list[dict]) -> None:
    from trident.io import atomic_write_jsonl

    if dest == "-":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        atomic_write_jsonl(dest, rows)


def _suggestion_rows(suggestions) -> list[dict]:
    from trident.suggest.edits import valid

    return [{**s.to_dict(), "valid": valid(s)} for s in suggestions]


def _options(args, student):
    from trident.suggest.suggestions import DecodeOptions

    return DecodeOptions(num_return=args.num_return, num_beams=args.num_beams,
                         max_new_tokens=args.max_new_tokens or student.max_new_tokens,
                         batch_size=args.batch_size or student.batch_size)


def _annotate_records(args) -> int:
    from trident.data.records import iter_records
    from trident.suggest.model import load_student
    from trident.suggest.suggestions import suggest

    records = list(iter_records(args.records))  # a bad line stops here, with file:line
    student = load_student(Path(args.model), args.device)
    options = _options(args, student)
    suggestions = suggest(student, records, options)
    rows = [{"id": r.id, "suggestions": _suggestion_rows(s), "references": r.assertions}
            for r, s in zip(records, suggestions)]
    if args.execute:
        _execute(records, suggestions, rows)
    _emit_jsonl(args.jsonl or "-", rows)
    print(f"generated for {len(records)} records of {args.records} with {student.name} "
          f"(encoding: {student.encoding.origin})", file=sys.stderr)
    return 0


def _execute(records, suggestions, rows: list[dict]) -> None:
    """Every suggestion of each executable record compiled and run with the existing runner
    (trident.execution: the record's focal class, its mutants, one sandboxed JVM for all); a
    suggestion of a record that is not executable gets `execution: null`."""
    from trident.execution.execute import Example, execute

    examples, slots = [], []
    for i, (record, per) in enumerate(zip(records, suggestions)):
        for k, s in enumerate(per):
            rows[i]["suggestions"][k]["execution"] = None
            example = Example.of(record, s.text, example_id=f"{record.id}#{k}")
            if example is not None:
                examples.append(example)
                slots.append((i, k))
    for (i, k), result in zip(slots, execute(examples, progress=sys.stderr.isatty())):
        rows[i]["suggestions"][k]["execution"] = {key: value for key, value in result.to_dict().items() if key != "id"}
    ran = sum(1 for i, k in slots if rows[i]["suggestions"][k]["execution"]["executable"])
    print(f"executed {len(slots)} suggestions of {len({i for i, _ in slots})} executable records "
          f"({ran} whose record's own assertions pass)", file=sys.stderr)


def _method_row(job, suggestions, applied: int | None) -> dict:
    """One method's JSONL object; `applied`: the rank of the suggestion in the diff or the
    written file, None when the method (or its file) was left alone."""
    t, extra = job.target.test, job.record.extra
    return {"file": job.target.file.display, "line": t.line, "method": t.name, "test_class": extra["test_class"],
            "kind": job.target.kind, "placeholders": 0 if job.target.spots[0].insert else len(job.target.spots),
            "focal_class": extra["focal_class"], "focal_method_name": extra["focal_method_name"],
            "focal_rule": extra["focal_rule"], "focal_method": job.record.focal_method,
            "test_method_masked": job.record.test_method_masked, "suggestions": _suggestion_rows(suggestions),
            "applied": applied}


def run(args, extra: list[str]) -> int:
    from trident.errors import ConfigError

    if extra:
        raise ConfigError(f"unrecognised arguments: {' '.join(extra)}")
    if args.no_backup and not args.write:
        raise ConfigError("--no-backup goes with --write")
    if args.execute and not args.records:
        raise ConfigError("--execute runs the suggestions of executable records: it goes with --records (a test "
                          "file of your own project is compiled and run by your build)")
    if args.records:
        if args.paths or args.write or args.missing or args.source:
            raise ConfigError("--records annotates a record file: give no Java PATHs, --source, --missing or --write")
        return _annotate_records(args)
    if not args.paths:
        raise ConfigError("give Java test files or folders (or --records FILE)")
    if not args.source:
        raise ConfigError("give at least one --source DIR (the source root the focal classes are in, "
                          "e.g. src/main/java)")

    from trident.suggest.edits import choose, edit_file, unified_diff, write_file
    from trident.suggest.linking import link
    from trident.suggest.model import load_student
    from trident.suggest.suggestions import suggest

    linked = link([Path(p) for p in args.paths], [Path(s) for s in args.source], args.missing)  # before the model loads
    problems = list(linked.problems)
    suggestions, used = [], "no model loaded: nothing to generate for"
    if linked.jobs:
        student = load_student(Path(args.model), args.device)
        suggestions = suggest(student, [j.record for j in linked.jobs], _options(args, student))
        used = f"with {student.name} (encoding: {student.encoding.origin})"
    choices = [choose(j.target, s) for j, s in zip(linked.jobs, suggestions)]
    problems += [c.problem for c in choices if c.problem is not None]

    done: set[int] = set()  # the files diffed or written
    by_file: dict[int, list] = {}
    for c in choices:
        if c.fills:
            by_file.setdefault(id(c.target.file), []).append(c)
    for f in linked.test_files:
        if id(f) not in by_file:
            continue
        edited = edit_file(f, by_file[id(f)])
        if edited.problem is not None:
            problems.append(edited.problem)
            continue
        if args.write:
            trouble = write_file(f, edited.text, backup=not args.no_backup)
            if trouble is not None:
                problems.append(trouble)
                continue
            print(f"wrote {f.display}" + ("" if args.no_backup else f" (backup: {f.display}.orig)"), file=sys.stderr)
        elif args.jsonl != "-":
            sys.stdout.write(unified_diff(f, edited.text))
        done.add(id(f))

    rows = [_method_row(job, sugg, choice.rank if id(job.target.file) in done else None)
            for job, sugg, choice in zip(linked.jobs, suggestions, choices)]
    if args.jsonl:
        _emit_jsonl(args.jsonl, rows)

    for p in sorted(problems, key=lambda p: (p.file, p.line)):
        print(str(p), file=sys.stderr)
    for note in linked.notes:  # not the user's tests: said, but no reason for a non-zero exit
        print(f"note: {note}; its classes are not looked up as focal classes", file=sys.stderr)
    filled = sum(1 for c in choices if c.fills and id(c.target.file) in done)
    print(f"generated for {filled} of {len(choices)} methods in {len(done)} file(s) {used}; {len(problems)} reported",
          file=sys.stderr)
    return 1 if problems else 0
