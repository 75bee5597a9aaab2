"""`trident data import`: run an importer, apply the bad-input policy, write the splits."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trident.data.importers.registry import IMPORTERS, ImportOptions, Imported, Skipped
from trident.data.records import SPLITS
from trident.errors import BadRecord, ConfigError, DataError
from trident.io import atomic_write_json, atomic_write_jsonl


@dataclass
class ImportStats:
    format: str
    source: str
    records: dict = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    skipped: dict = field(default_factory=dict)  # cases the corpus holds that are not records, by reason
    bad_records: dict = field(default_factory=dict)  # malformed lines skipped with --skip-bad-records


def import_corpus(fmt: str, source: str | Path, out_dir: str | Path, options: ImportOptions = ImportOptions(),
                  skip_bad: bool = False) -> ImportStats:
    if fmt not in IMPORTERS:
        raise ConfigError(f"unknown import format {fmt!r}; available: {', '.join(IMPORTERS)}")
    source = Path(source)
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError(f"--out {out_dir} is a file, not a folder")
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    rows: dict[str, list[dict]] = {s: [] for s in SPLITS}
    skipped, bad = Counter(), Counter()
    for item in IMPORTERS[fmt].load()(source, options):
        if isinstance(item, BadRecord):
            if not skip_bad:
                raise item
            bad[item.reason] += 1
        elif isinstance(item, Skipped):
            skipped[item.reason] += 1
        elif isinstance(item, Imported):
            rows[item.split].append(item.record)
    if not any(rows.values()):
        raise DataError(f"{source}: no records found for --format {fmt}")
    out_dir = Path(out_dir)
    stats = ImportStats(format=fmt, source=str(source), skipped=dict(sorted(skipped.items())),
                        bad_records=dict(sorted(bad.items())))
    for split in SPLITS:
        atomic_write_jsonl(out_dir / f"{split}.jsonl", rows[split])
        stats.records[split] = len(rows[split])
    atomic_write_json(out_dir / "stats.json", asdict(stats))
    return stats


def format_stats(stats: ImportStats, out_dir: str | Path) -> str:
    lines = [f"imported {sum(stats.records.values())} records from {stats.source} ({stats.format}): "
             + ", ".join(f"{s} {n}" for s, n in stats.records.items())]
    if stats.skipped:
        lines.append("skipped: " + ", ".join(f"{k} {v}" for k, v in stats.skipped.items()))
    if stats.bad_records:
        lines.append("bad lines skipped: " + ", ".join(f"{k} {v}" for k, v in stats.bad_records.items()))
    lines.append(f"written: {Path(out_dir) / 'train.jsonl'} (and val, test, stats.json)")
    return "\n".join(lines)
