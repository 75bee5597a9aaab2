"""The report's inference figures: size, memory and p50 latency in the cost table (the median
over a row's seeds), and the student/teacher line (the shares of the teacher's F1, pass rate and
mutation score a configuration keeps, and of its memory and latency it costs), with every
figure worked out by hand from run directories written by hand (tests/report_helpers.py).
Runs without figures (older runs, the retrieval baseline, --eval.speed=false) show n/a, never 0."""
from __future__ import annotations

import json

import pytest

from report_helpers import V1, by_row, inference, make_run, summary_fields
from trident.analysis.inference import ReportFigures, figure_text, parse_inference, summary_inference
from trident.analysis.report import build_report, parser
from trident.rundir import RunDir, Summary, read_summary

LEGACY = {"ce": {"start": 0.5, "end": 0.5}, "kl": {"start": 0.5, "end": 0.5}}
TRIDENT = {"focal": {"start": 0.5}, "jsd": {"start": 0.3}, "semantic": {"start": 0.2}, "pans": {"start": 0.05},
           "ast": {"start": 0.05}}
MB = 2 ** 20
COST = ("size (MB)", "memory (MB)", "p50 (ms)")


def _report(run_dirs, out, baseline="trident"):
    return build_report(parser().parse_args(["--runs", *map(str, run_dirs), "--baseline", baseline, "--out", str(out),
                                             "--no-png", "--bootstrap=50", "--semantic-model=none",
                                             "--beta-storage=none", "--contrastive-storage=none"]))


def _cost(markdown: str, label: str) -> tuple[str, ...]:
    return tuple(by_row(markdown, "Cost (")[label][c] for c in COST)


def _shares(markdown: str) -> list[str]:
    """The student/teacher lines of a Markdown report ([] where it has none)."""
    lines = markdown.splitlines()
    titles = [i for i, line in enumerate(lines) if line.startswith("**Student/teacher")]
    if not titles:
        return []
    out = []
    for line in lines[titles[0] + 2:]:
        if not line.startswith("- "):
            break
        out.append(line[2:])
    return out


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """One teacher; legacy × 2 seeds, trident (the baseline, measured with --eval.speed=false: no
    figures, not executed), trident-v1 × 3 seeds; and the retrieval baseline."""
    root = tmp_path_factory.mktemp("inference-runs")
    # F1 8/10, pass rate 8/10, mutation score 8 × ½ / 10 = 0.4; 400 MB, 1000 MB resident, p50 50 ms.
    teacher = make_run(root, "teacher-0123456789ab", LEGACY, 42, 8, 0, 300.0, role="teacher", executed=8,
                       inference=inference(400 * MB, 1000.0, 50.0))
    model = str(teacher / "model")
    dirs = [make_run(root, "legacy-s0", LEGACY, 0, 4, 0, 50.0, teacher=model, executed=3,
                     inference=inference(100 * MB, 300.0, 20.0)),
            make_run(root, "legacy-s1", LEGACY, 1, 7, 0, 50.0, teacher=model, executed=5,
                     inference=inference(120 * MB, 340.0, 30.0)),
            make_run(root, "trident-s0", TRIDENT, 0, 6, 0, 50.0, teacher=model)]
    # Three seeds, one slow outlier: the median (510 MB, 11 ms) is not the mean (636.7 MB, 20.3 ms).
    dirs += [make_run(root, f"v1-s{seed}", V1, seed, 8, 0, 50.0, teacher=model, executed=8,
                      inference=inference(200 * MB, memory, p50))
             for seed, memory, p50 in ((0, 500.0, 10.0), (1, 510.0, 11.0), (2, 900.0, 40.0))]
    dirs.append(make_run(root, "s-retrieval", LEGACY, 0, 2, 0, 1.0, role="baseline"))
    return _report(dirs, tmp_path_factory.mktemp("inference-report"))


def test_the_cost_table_shows_each_rows_median_figures(sweep):
    md = sweep.markdown
    assert list(by_row(md, "Cost (")) == ["legacy", "trident (baseline)", "trident-v1 (β=5)", "teacher", "retrieval"]
    # legacy: the median of two seeds is their mean: (100 + 120) / 2 MB, (300 + 340) / 2 MB, (20 + 30) / 2 ms.
    assert _cost(md, "legacy") == ("110", "320", "25.0")
    assert _cost(md, "trident-v1 (β=5)") == ("200", "510", "11.0")  # the middle of three
    assert _cost(md, "teacher") == ("400", "1000", "50.0")  # from its own summary.json
    # Not measured (--eval.speed=false) and no model (retrieval): n/a, never 0.
    assert _cost(md, "trident (baseline)") == _cost(md, "retrieval") == ("n/a", "n/a", "n/a")
    row = sweep.comparison.row("trident-v1 (β=5)")
    assert (row.size_mb, row.memory_mb, row.p50_ms) == (200.0, 510.0, 11.0)
    assert sweep.comparison.row("trident").memory_mb is None
    assert "Size: the model's weights on disk" in md and "each the median over a row's seeds" in md
    assert not any("inference" in m for m in sweep.messages)  # nothing damaged: no problem named


def test_the_student_teacher_line_gives_the_shares_worked_out_by_hand(sweep):
    # legacy: F1 (0.4 + 0.7) / 2 = 0.55 of 0.8 = 68.75%; pass rate (0.3 + 0.5) / 2 = 0.4 of 0.8 = 50%;
    # mutation score 0.2 of 0.4 = 50%; memory 320 of 1000 MB = 32%; p50 25 of 50 ms = 50%.
    # trident: F1 0.6 of 0.8 = 75%; not executed, not measured: the rest n/a.
    # trident-v1: F1, pass rate and mutation score equal to the teacher's; 510 of 1000 MB; 11 of 50 ms.
    assert _shares(sweep.markdown) == [
        "legacy vs teacher: keeps 69% of the teacher's F1, 50% of its pass rate and 50% of its mutation score; "
        "costs 32% of its memory and 50% of its latency",
        "trident vs teacher: keeps 75% of the teacher's F1 (pass rate and mutation score: n/a); "
        "costs n/a of its memory and latency",
        "trident-v1 (β=5) vs teacher: keeps 100% of the teacher's F1, 100% of its pass rate and 100% of its "
        "mutation score; costs 51% of its memory and 22% of its latency"]
    html = sweep.html_path.read_text()
    assert '<div id="student-teacher">' in html
    assert "legacy vs teacher: keeps 69% of the teacher&#x27;s F1" in html


def test_a_teacher_without_figures_gives_na_shares_and_no_teacher_gives_no_line(tmp_path):
    teacher = make_run(tmp_path, "teacher-aaa", LEGACY, 42, 8, 0, 300.0, role="teacher")  # older: no figures
    student = make_run(tmp_path, "legacy-s0", LEGACY, 0, 4, 0, 50.0, teacher=str(teacher / "model"),
                       inference=inference(100 * MB, 300.0, 20.0))
    elsewhere = make_run(tmp_path, "trident-s0", TRIDENT, 0, 4, 0, 50.0, teacher="Salesforce/codet5p-770m")
    rep = _report([student, elsewhere], tmp_path / "o", baseline="legacy")
    assert _cost(rep.markdown, "teacher") == ("n/a", "n/a", "n/a")
    assert _shares(rep.markdown) == ["legacy vs teacher: keeps 50% of the teacher's F1 (pass rate and mutation "
                                     "score: n/a); costs n/a of its memory and latency",
                                     "trident: n/a (its teacher is no row of this report)"]
    alone = make_run(tmp_path, "solo", LEGACY, 0, 4, 0, 50.0, inference=inference(100 * MB, 300.0, 20.0))
    rep = _report([alone], tmp_path / "o2", baseline="legacy")
    assert _shares(rep.markdown) == [] and "Student/teacher" not in rep.markdown
    assert _cost(rep.markdown, "legacy (baseline)") == ("100", "300", "20.0")


def test_several_teachers_are_pooled_as_the_rows_pool_seeds(tmp_path):
    # Each seed distilled from its own teacher: F1 0.9 and 0.7 (mean 0.8), memory 1000 and 1400 MB
    # (median 1200), p50 40 and 60 ms (median 50). The students: F1 0.6, 300 MB, 10 ms.
    a = make_run(tmp_path, "teacher-aaa", LEGACY, 42, 9, 0, 300.0, role="teacher",
                 inference=inference(400 * MB, 1000.0, 40.0))
    b = make_run(tmp_path, "teacher-bbb", LEGACY, 43, 7, 0, 300.0, role="teacher",
                 inference=inference(400 * MB, 1400.0, 60.0))
    students = [make_run(tmp_path, f"legacy-s{seed}", LEGACY, seed, 6, 0, 50.0, teacher=str(t / "model"),
                         inference=inference(100 * MB, 300.0, 10.0)) for seed, t in ((0, a), (1, b))]
    rep = _report(students, tmp_path / "o", baseline="legacy")
    assert _shares(rep.markdown) == [
        "legacy vs teacher-aaa, teacher-bbb: keeps 75% of its 2 teachers' F1 (pass rate and mutation score: n/a); "
        "costs 25% of its memory and 20% of its latency"]
    assert _cost(rep.markdown, "teacher-aaa") == ("400", "1000", "40.0")


def test_damaged_or_partial_figures_are_named_and_shown_as_na(tmp_path):
    bad = inference(100 * MB, 300.0, 20.0)
    bad["latency_p50_ms"] = "fast"
    del bad["peak_rss_mb"]
    runs = [make_run(tmp_path, "legacy-s0", LEGACY, 0, 4, 0, 50.0, inference=bad),
            make_run(tmp_path, "legacy-s1", LEGACY, 1, 4, 0, 50.0),
            make_run(tmp_path, "trident-s0", TRIDENT, 0, 4, 0, 50.0, inference=[1, 2])]  # type: ignore[arg-type]
    rep = _report(runs, tmp_path / "o")
    messages = "\n".join(rep.messages)
    assert "legacy-s0: summary.json: `inference.latency_p50_ms` is 'fast', not a finite number ≥ 0; shown as n/a" \
        in messages
    assert "legacy-s0: summary.json: `inference.peak_rss_mb` is missing; shown as n/a" in messages
    assert "trident-s0: summary.json: `inference` is a list, not a mapping" in messages
    # Only the size survives, from one of legacy's two runs: the note says whose figures are missing.
    assert _cost(rep.markdown, "legacy") == ("100", "n/a", "n/a")
    assert _cost(rep.markdown, "trident (baseline)") == ("n/a", "n/a", "n/a")
    assert ("legacy: size, memory and latency are the median of 1 of its 2 runs (legacy-s1 has no inference "
            "figures)") in rep.markdown


def test_figures_measured_with_different_settings_are_warned_about(tmp_path):
    teacher = make_run(tmp_path, "teacher-aaa", LEGACY, 42, 8, 0, 300.0, role="teacher",
                       inference=inference(400 * MB, 1000.0, 5.0, device="cuda:0", threads=1))
    student = make_run(tmp_path, "legacy-s0", LEGACY, 0, 4, 0, 50.0, teacher=str(teacher / "model"),
                       inference=inference(100 * MB, 300.0, 20.0))
    rep = _report([student], tmp_path / "o", baseline="legacy")
    assert ("- ⚠ the rows' size, memory and latency were measured with different settings: "
            "device (legacy cpu; teacher cuda:0), threads (legacy 2; teacher 1)") in rep.markdown


# ---- reading the figures ----------------------------------------------------------------

def test_the_figures_are_read_from_the_summary_field(tmp_path):
    figures = inference(3 * MB + 512 * 1024, 123.5, 7.25)
    run = make_run(tmp_path, "r", LEGACY, 0, 4, 0, 1.0, inference=figures)
    data = json.loads(RunDir(run).summary.read_text())
    assert data["inference"] == figures  # summary.json's own key
    summary = read_summary(RunDir(run))
    assert summary_inference(summary) == figures
    # A summary written before the figures existed reads as None (n/a in the report), not an error.
    older = Summary.from_json({k: v for k, v in data.items() if k != "inference"})
    assert summary_inference(older) is None
    parsed, problems = parse_inference(figures, "x/summary.json")
    assert problems == [] and parsed.size_mb == 3.5 and parsed.peak_rss_mb == 123.5
    assert parsed.latency_p95_ms == 1.5 * 7.25 and parsed.device == "cpu" and parsed.threads == 2
    assert summary_fields(None) == {}


def test_bad_figures_are_named_not_guessed():
    assert parse_inference(None, "s") == (None, [])
    parsed, problems = parse_inference({"bytes_on_disk": 10.5, "peak_rss_mb": -1, "latency_p50_ms": float("nan"),
                                        "params": True}, "s")
    assert parsed == ReportFigures()
    assert problems == ["s: `inference.params` is True, not a finite number ≥ 0 (a whole one); shown as n/a",
                        "s: `inference.bytes_on_disk` is 10.5, not a finite number ≥ 0 (a whole one); shown as n/a",
                        "s: `inference.peak_rss_mb` is -1, not a finite number ≥ 0; shown as n/a",
                        "s: `inference.latency_p50_ms` is nan, not a finite number ≥ 0; shown as n/a"]


@pytest.mark.parametrize("value, text", [(0.00412, "0.00412"), (0.412, "0.412"), (4.12, "4.12"), (9.999, "10.0"),
                                         (41.24, "41.2"), (99.99, "100"), (412.4, "412"), (4123.4, "4123"),
                                         (None, "n/a"), (float("nan"), "n/a")])
def test_figures_print_with_three_significant_digits(value, text):
    assert figure_text(value) == text


def test_a_share_of_nothing_is_na_and_a_real_zero_is_kept():
    from trident.analysis.shares import share

    assert share(0.5, 0.0) is None  # a teacher at F1 0 (the tiny embedded pair): no share to speak of
    assert share(None, 0.8) is None and share(0.4, None) is None and share(float("nan"), 0.8) is None
    assert share(0.0, 0.8) == 0.0  # a measured 0 stays 0: it is a figure, not a gap
    assert share(0.3, 0.4) == pytest.approx(0.75)
