"""trident.analysis.report: intervals, the comparison table, the HTML/PNG report, data gaps, W&B adapter."""
from __future__ import annotations

import os

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from trident.analysis import stats as st
from trident.analysis.figures import browser_path
from trident.analysis.report import build_report, parser
from conftest import tiny_overrides
from report_helpers import by_row, column, md_tables
from trident import metrics as tm

CHROMIUM = Path("/usr/bin/chromium")


# ---- intervals against known answers -----------------------------------------------------

def test_bootstrap_mean_interval_matches_the_normal_interval():
    x = np.random.default_rng(7).normal(loc=3.0, scale=2.0, size=400)
    se = x.std(ddof=1) / math.sqrt(len(x))
    lo, hi = st.bootstrap_mean_interval(x, replicates=5000, seed=0)
    # Closed form for the mean of n=400 draws: mean ± 1.96·s/√n. The percentile bootstrap
    # agrees up to Monte Carlo error (~0.05·se at 5000 replicates) and its ddof=0 spread.
    assert lo == pytest.approx(x.mean() - 1.96 * se, abs=0.15 * se)
    assert hi == pytest.approx(x.mean() + 1.96 * se, abs=0.15 * se)


def _stats(exact: list[float]) -> st.ExampleStats:
    n = len(exact)
    zeros = np.zeros(n)
    return st.ExampleStats(ids=[str(i) for i in range(n)], tp=zeros, fp=zeros, fn=zeros,
                           exact_match=np.asarray(exact, float), pans=zeros, ast_validity=zeros,
                           assertion_validity=zeros, semantic=None,
                           bleu=np.zeros((n, 10)))


def test_paired_delta_on_a_hand_made_case():
    a, b = _stats([1, 1, 1, 0]), _stats([1, 0, 1, 0])
    # Three resamples written out: the identity, {0,0,2,3} and {2,2,3,3}.
    weights = np.array([[1, 1, 1, 1], [2, 0, 1, 1], [0, 0, 2, 2]], float)
    ea = st.pooled_estimate([a], "exact_match", weights)
    eb = st.pooled_estimate([b], "exact_match", weights)
    np.testing.assert_allclose(ea.replicates, [3 / 4, 3 / 4, 2 / 4])
    np.testing.assert_allclose(eb.replicates, [2 / 4, 3 / 4, 2 / 4])
    d = st.paired_delta(ea, eb)
    assert d.value == pytest.approx(0.25)
    np.testing.assert_allclose(d.replicates, [0.25, 0.0, 0.0])
    assert (d.lo, d.hi) == pytest.approx(tuple(np.quantile([0.25, 0.0, 0.0], [0.025, 0.975])))
    # Pairing: a configuration against itself has a Δ interval of exactly zero width,
    # however wide its own interval is.
    w = st.replicate_weights(4, 500, seed=3)
    same = st.paired_delta(st.pooled_estimate([a], "exact_match", w), st.pooled_estimate([a], "exact_match", w))
    assert (same.lo, same.hi) == (0.0, 0.0)


PREDS = ["assertEquals(7, r);\nassertTrue(ok);", "Assert.assertNull( x );", "assertEquals(1, y)",
         "", "assertThat(a).isEqualTo(b);\nassertFalse(z);"]
REFS = [["assertEquals(7, r);"], ["assertNull(x);"], ["assertEquals(2, y);", "assertTrue(q);"],
        ["assertTrue(v);"], ["assertThat(a).isEqualTo(b);", "assertFalse(z);"]]


def test_identity_replicate_reproduces_trident_metrics():
    s = st.example_stats([str(i) for i in range(len(PREDS))], PREDS, REFS)
    expected = tm.compute_all(PREDS, REFS)
    for name in ("f1", "pans", "ast_validity", "assertion_validity", "exact_match", "bleu"):
        assert st.full_sample(s, name) == pytest.approx(expected[name], abs=1e-12), name


def test_replicate_recomputes_micro_f1_and_bleu_on_the_resample():
    s = st.example_stats([str(i) for i in range(len(PREDS))], PREDS, REFS)
    draw = [0, 0, 2, 4, 4]  # example 0 and 4 twice, 2 once, 1 and 3 not at all
    weights = np.bincount(draw, minlength=len(PREDS))[None, :].astype(float)
    preds, refs = [PREDS[i] for i in draw], [REFS[i] for i in draw]
    assert st.corpus_metric(s, "f1", weights)[0] == pytest.approx(tm.precision_recall_f1(preds, refs)[2])
    assert st.corpus_metric(s, "bleu", weights)[0] == pytest.approx(tm.bleu(preds, refs))
    # Micro-F1 is not the mean of per-example F1s: the recomputation matters.
    per_example = [tm.precision_recall_f1([p], [r])[2] for p, r in zip(preds, refs)]
    assert np.mean(per_example) != pytest.approx(tm.precision_recall_f1(preds, refs)[2])


# ---- tiny real runs --------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_runs(synth_dir, tmp_path_factory):
    """legacy × seeds 0 and 1, trident (baseline) and trident-v1, a few steps each."""
    from trident.cli import main

    runs = tmp_path_factory.mktemp("report-runs")
    base = tiny_overrides(synth_dir, runs)
    assert main(["teacher", "--config", "experiments/legacy.yaml", *base]) == 0
    teacher = next(runs.glob("teacher-*/model"))
    shared = [*base, f"--model.teacher_checkpoint={teacher}"]  # one teacher for every seed
    for config, name, extra in [("legacy", "legacy-s0", ["--seed=0"]), ("legacy", "legacy-s1", ["--seed=1"]),
                                ("trident", "trident-s0", ["--loss.seq_reward_every=2"]),
                                ("trident-v1", "v1-s0", ["--loss.seq_reward_every=2"])]:
        assert main(["train", "--config", f"experiments/{config}.yaml", *shared, f"--name={name}", *extra]) == 0
    return runs


def _args(*argv: str):
    return parser().parse_args([*argv, "--beta-storage=none", "--contrastive-storage=none", "--bootstrap=200"])


def _run_dirs(root: Path) -> list[str]:
    return [str(root / n) for n in ("legacy-s0", "legacy-s1", "trident-s0", "v1-s0")]


# 12.4 [10.4, 14.2]: a metric with its interval, on one line (semantic similarity, a cosine, may dip below 0)
VALUE = r"-?\d+\.\d \[-?\d+\.\d, -?\d+\.\d\]"
DELTA = r"[+-]\d+\.\d\d \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\]"  # +2.35 [+0.40, +4.10]


def _rows(markdown: str) -> list[str]:
    """The rows of the metrics table, top to bottom."""
    return column(markdown, "Validation metrics (")


@pytest.fixture(scope="module")
def full_report(tiny_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-out")
    return build_report(_args("--runs", *_run_dirs(tiny_runs), "--out", str(out)))


def test_runs_mode_table_html_and_pngs(full_report):
    import re

    rep = full_report
    # The teacher the runs were distilled from is a row of its own, after the configurations.
    assert _rows(rep.markdown) == ["legacy", "trident (baseline)", "trident-v1 (β=5)", "teacher"]
    tables = md_tables(rep.markdown)
    values = by_row(rep.markdown, "Validation metrics (")
    assert values["legacy"]["seeds"] == "2"  # both seeds pooled into one row: a count
    assert [values[r]["seeds"] for r in _rows(rep.markdown)[1:]] == ["1", "1", "1"]
    assert "seed values: legacy 0, 1; trident 42; trident-v1 (β=5) 42; teacher 42" in rep.markdown
    more = by_row(rep.markdown, "Validation metrics, continued (2/2)")
    # Seven metrics: two tables of four and three (none wider than five, none left with one).
    assert list(next(iter(values.values()))) == ["configuration", "seeds", "F1", "PANS", "AST validity",
                                                  "assertion validity"]
    assert list(next(iter(more.values()))) == ["configuration", "exact match", "semantic sim.", "BLEU"]
    # No run was executed: those columns are left out, and a note says so.
    assert "not in the tables: compile rate, pass rate, mutation score (n/a in every row; the execution " \
           "metrics need runs trained with eval.execute)" in rep.markdown
    for label in _rows(rep.markdown):  # every metric cell one line: the value with its interval
        for column_name, cell in [*values[label].items(), *more[label].items()]:
            if column_name not in ("configuration", "seeds"):
                assert re.fullmatch(VALUE, cell), (label, column_name, cell)
    # Δs in a table of their own with the same rows, less the baseline's.
    deltas = by_row(rep.markdown, "Δ against the baseline, trident (")
    more_deltas = by_row(rep.markdown, "Δ against the baseline, continued (2/2)")
    assert list(deltas) == list(more_deltas) == ["legacy", "trident-v1 (β=5)", "teacher"]
    assert list(deltas["legacy"]) == ["configuration", "Δ F1", "Δ PANS", "Δ AST validity", "Δ assertion validity"]
    assert list(more_deltas["legacy"]) == ["configuration", "Δ exact match", "Δ semantic sim.", "Δ BLEU"]
    for label in deltas:
        for column_name, cell in [*deltas[label].items(), *more_deltas[label].items()]:
            if column_name != "configuration":
                assert re.fullmatch(DELTA, cell), (label, column_name, cell)
    costs = by_row(rep.markdown, "Cost (")
    assert list(costs["legacy"]) == ["configuration", "wall time (× baseline)", "size (MB)", "memory (MB)",
                                     "p50 (ms)", "NaN/Inf steps"]
    checks = by_row(rep.markdown, "Checks (")
    assert list(checks["legacy"]) == ["configuration", "ΔF1 ≥ +0.50", "AST ≥ baseline", "wall ≤ 1.10×",
                                      "no NaN/Inf steps"]
    for label in ("legacy", "trident-v1 (β=5)"):
        judged = [cell for name, cell in checks[label].items() if name.startswith(("ΔF1", "AST", "wall ≤", "no "))]
        assert len(judged) == 4 and all(cell[0] in "✔✘" for cell in judged), judged
    assert checks["teacher"]["ΔF1 ≥ +0.50"] == checks["teacher"]["no NaN/Inf steps"] == "n/a"  # not judged
    assert set(tables) == {"Validation metrics (points, 95% interval)", "Validation metrics, continued (2/2)",
                           "Δ against the baseline, trident (points, paired 95% interval)",
                           "Δ against the baseline, continued (2/2)",
                           "Cost (training wall time; size, memory and p50 latency per model, median over seeds)",
                           "Checks (judged on the point estimate)"}
    assert "trident-v1 (β=5) has 1 seed: the interval covers example sampling only" in rep.markdown
    assert rep.markdown_path.read_text() == rep.markdown
    html = rep.html_path.read_text()
    for key in ("metrics", "metrics-2", "deltas", "deltas-2", "cost", "checks"):
        assert f'<table class="comparison" id="{key}">' in html
    tables_html = html[html.index('<div id="comparison">'):html.index("</div>", html.index('<div id="comparison">'))]
    assert "<br>" not in tables_html  # one line per cell
    assert rep.figure_keys and {"metrics", "loss-raw", "loss-weighted", "weights", "wall-time"} <= set(rep.figure_keys)
    for key in rep.figure_keys:
        assert f'id="fig-{key}"' in html
    assert 'src="http' not in html and "Plotly.newPlot" in html  # plotly.js inline: no network
    if browser_path() is not None or os.environ.get("CI"):  # CI installs it: PNGs are then required, not optional
        assert sorted(p.name for p in rep.pngs) == sorted(f"{k}.png" for k in rep.figure_keys), rep.messages
        for p in rep.pngs:
            assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:  # a laptop without a browser: no PNGs, and the report says why instead of passing over it
        assert rep.pngs == [] and any("PNGs skipped: no Chrome/Chromium" in m for m in rep.messages), rep.messages


def test_estimates_are_the_runs_own_metrics(full_report, tiny_runs):
    c = full_report.comparison
    legacy = c.row("legacy")
    summaries = [json.loads((tiny_runs / n / "summary.json").read_text())["val_metrics"]
                 for n in ("legacy-s0", "legacy-s1")]
    for metric in ("f1", "pans", "ast_validity", "exact_match", "bleu"):
        expected = np.mean([s[metric] for s in summaries])
        assert legacy.cells[metric].value == pytest.approx(expected, abs=1e-9), metric
        assert legacy.cells[metric].lo <= legacy.cells[metric].value + 1e-12 <= legacy.cells[metric].hi + 2e-12
    assert 0 < legacy.cells["semantic"].value <= 1
    # The teacher's row is its own run's metrics (not pooled into legacy, whose loss its config names).
    teacher = c.row("teacher")
    (teacher_dir,) = tiny_runs.glob("teacher-*")
    assert teacher.kind == "teacher" and [r.run_dir for r in teacher.runs] == [teacher_dir]
    assert len(legacy.runs) == 2
    teacher_f1 = json.loads((teacher_dir / "summary.json").read_text())["val_metrics"]["f1"]
    assert teacher.cells["f1"].value == pytest.approx(teacher_f1, abs=1e-9)
    assert teacher.checks == {"nonfinite": None} and teacher.wall_ratio is None


def test_html_renders_in_headless_chromium(full_report, tmp_path):
    if not CHROMIUM.exists():  # make setup and .ci/run install Debian's chromium: a missing browser is a failure
        pytest.fail("no /usr/bin/chromium: `make setup` installs it (as root)")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        # A persistent context is how Playwright takes a fresh --user-data-dir of our own.
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), args=args, headless=True,
            viewport={"width": 1300, "height": 900})
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
            page.goto(full_report.html_path.as_uri())
            n = len(full_report.figure_keys)
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}",
                                   timeout=30_000)
            rendered = page.evaluate(
                "[...document.querySelectorAll('.js-plotly-plot')].filter(d => d.querySelector('.main-svg')).length")
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert rendered == n
    assert not errors, errors
    assert (tmp_path / "report.png").stat().st_size > 10_000


# ---- missing and partial data ----------------------------------------------------------

def test_gaps_are_named_marked_and_never_filled(tiny_runs, tmp_path):
    runs = tmp_path / "runs"
    for n in ("legacy-s0", "trident-s0", "v1-s0"):
        shutil.copytree(tiny_runs / n, runs / n, ignore=shutil.ignore_patterns("model", "checkpoints", "tb"))
    steps = runs / "legacy-s0" / "step_metrics.csv"
    text = steps.read_text()
    steps.write_text(text[: text.rstrip("\n").rfind(",")])  # a crash mid-row: the last line is cut
    (runs / "v1-s0" / "summary.json").unlink()
    (runs / "trident-s0" / "eval" / "val" / "predictions.jsonl").unlink()

    rep = build_report(_args("--runs", *(str(runs / n) for n in ("legacy-s0", "trident-s0", "v1-s0")),
                             "--out", str(tmp_path / "out"), "--no-png"))
    messages = "\n".join(rep.messages)
    assert "legacy-s0: step_metrics.csv is truncated" in messages
    assert "legacy-s0: step_metrics.csv has 5 rows but summary.json says global_step=6" in messages
    assert "v1-s0: summary.json is missing" in messages
    assert "trident-s0: eval/val/predictions.jsonl is missing" in messages
    # Every metric, every Δ, wall time and the checks that need them: n/a (its step log still counts NaN/Inf).
    v1 = {**by_row(rep.markdown, "Validation metrics (")["trident-v1 (β=5)"],
          **by_row(rep.markdown, "Validation metrics, continued")["trident-v1 (β=5)"]}
    assert v1 == {"configuration": "trident-v1 (β=5)", "seeds": "0", "F1": "n/a", "PANS": "n/a", "AST validity": "n/a",
                  "assertion validity": "n/a", "exact match": "n/a", "semantic sim.": "n/a", "BLEU": "n/a"}, v1
    deltas = {**by_row(rep.markdown, "Δ against the baseline, trident (")["trident-v1 (β=5)"],
              **by_row(rep.markdown, "Δ against the baseline, continued")["trident-v1 (β=5)"]}
    assert set(deltas.values()) == {"trident-v1 (β=5)", "n/a"} and len(deltas) == 8
    label = "trident-v1 (β=5)"
    v1_cost = {**by_row(rep.markdown, "Cost (")[label], **by_row(rep.markdown, "Checks (")[label]}
    assert v1_cost == {
        "configuration": "trident-v1 (β=5)", "wall time (× baseline)": "n/a", "size (MB)": "n/a", "memory (MB)": "n/a",
        "p50 (ms)": "n/a", "NaN/Inf steps": "0",
        "ΔF1 ≥ +0.50": "n/a", "AST ≥ baseline": "n/a", "wall ≤ 1.10×": "n/a", "no NaN/Inf steps": "✔ 0 vs ≤ 0"}
    assert "trident-v1 (β=5): no finished run (v1-s0); its cells are n/a" in rep.markdown
    html = rep.html_path.read_text()
    assert 'class="warning" id="data-gaps"' in html
    for what in ("legacy-s0: step_metrics.csv is truncated", "v1-s0: summary.json is missing"):
        assert what in html
    # The truncated log still draws what it has: 5 of 6 rows.
    legacy = rep.comparison.row("legacy").runs[0]
    assert len(legacy.steps) == 5
    # The baseline lost its predictions: its point is its own summary, and its interval is not invented.
    base = rep.comparison.row("trident")
    assert base.cells["semantic"].value is None and base.cells["f1"].lo is None


# ---- an Optuna study, and the sweep figures --------------------------------------------

def _add(study, params: dict, value: float, attrs: dict, choices: dict):
    """A finished trial, as an Optuna sweep would have stored it (categorical grid parameters)."""
    import optuna

    dists = {k: optuna.distributions.CategoricalDistribution(choices[k]) for k in params}
    study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value, user_attrs=attrs))


def test_study_mode_with_beta_and_contrastive_studies(tiny_runs, tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'ba.db'}"
    main = optuna.create_study(study_name="before-after-test", storage=url, direction="maximize")
    grid = {"config": [f"experiments/{c}.yaml" for c in ("legacy", "trident", "trident-v1")], "seed": [0, 1]}
    for config, seed, name, f1 in [("legacy", 0, "legacy-s0", 0.1), ("legacy", 1, "legacy-s1", 0.2),
                                   ("trident", 0, "trident-s0", 0.3), ("trident-v1", 0, "v1-s0", 0.4)]:
        _add(main, {"config": f"experiments/{config}.yaml", "seed": seed}, f1, {"run_dir": str(tiny_runs / name)},
             grid)
    _add(main, {"config": grid["config"][0], "seed": 0}, 0.0, {"run_dir": "x", "duplicate_of": 0}, grid)
    beta = optuna.create_study(study_name="beta", storage=f"sqlite:///{tmp_path / 'beta.db'}", direction="maximize")
    betas = {"loss.semantic_loss_scale": [3, 5, 7]}
    for b, f1, attrs in [(3, 0.40, {"f1": 0.40}), (5, 0.45, {"run_dir": str(tiny_runs / "v1-s0")}),
                         (7, 0.42, {"f1": 0.42})]:
        _add(beta, {"loss.semantic_loss_scale": b}, f1, attrs, betas)
    con = optuna.create_study(study_name="contrastive", storage=f"sqlite:///{tmp_path / 'c.db'}",
                              direction="maximize")
    scheds = [json.dumps({"end": e, "start": s}) for s, e in [(0.05, 0.1), (0.1, 0.2)]]
    space = {"loss.components.contrastive": scheds, "loss.contrastive_temperature": [0.05, 0.1]}
    for k, sched in enumerate(scheds):
        for tau, f1 in [(0.05, 0.3), (0.1, 0.35)]:
            _add(con, {"loss.components.contrastive": sched, "loss.contrastive_temperature": tau}, f1 + k / 10, {},
                 space)

    argv = ["--study", "before-after-test", "--storage", url, "--out", str(tmp_path / "out"), "--no-png",
            "--bootstrap=100", f"--beta-storage=sqlite:///{tmp_path / 'beta.db'}",
            f"--contrastive-storage=sqlite:///{tmp_path / 'c.db'}", "--semantic-model=none"]
    rep = build_report(parser().parse_args(argv))
    assert _rows(rep.markdown) == ["legacy", "trident (baseline)", "trident-v1 (β=5)", "teacher"]
    assert {"beta", "contrastive", "history-before-after-test", "importance-before-after-test",
            "history-beta", "importance-beta"} <= set(rep.figure_keys)
    heat = rep.figures.figures["contrastive"][1].data[0]
    assert list(heat.y) == ["0.05→0.1", "0.1→0.2"] and list(heat.x) == ["τ=0.05", "τ=0.1"]
    np.testing.assert_allclose(heat.z, [[30, 35], [40, 45]])
    points = rep.figures.figures["beta"][1].data[0]
    assert list(points.x) == [3, 5, 7]
    # β=5 comes from its run's predictions (with an interval); the others from the trial's F1 (none).
    assert points.y[0] == pytest.approx(40) and points.y[2] == pytest.approx(42)
    assert list(points.error_y.array)[0] == 0 and points.error_y.visible
    assert "trial 4" not in rep.markdown  # the duplicate grid point is ignored


# ---- W&B --------------------------------------------------------------------------------

class FakeRun:
    """The part of wandb.apis.public.Run the adapter uses, with the keys transformers logs."""

    def __init__(self, run_id: str, config_file: str, seed: int, f1: float, runtime: float, nan_at: int | None = None):
        self.id, self.name, self.state = run_id, f"run-{run_id}", "finished"
        self.config = {"config": config_file, "seed": seed, "learning_rate": 3e-3}
        self.summary = {"eval/f1": f1, "eval/pans": f1 / 2, "eval/ast_validity": 0.5, "eval/exact_match": f1 / 3,
                        "eval/bleu": f1 / 4, "_runtime": runtime}
        self.rows = [{"_step": i, "train/global_step": i + 1, "train/loss_total": 2.0 - 0.1 * i,
                      "train/ce/raw": 3.0 - 0.1 * i, "train/ce/weight": 0.5, "train/ce/weighted": 1.5 - 0.05 * i,
                      "train/nonfinite_skipped": 0} for i in range(5)]
        self.rows.append({"_step": 5, "eval/f1": f1})  # an eval row: no loss_total
        if nan_at is not None:
            self.rows[nan_at]["train/loss_total"] = float("nan")
            for r in self.rows[nan_at:5]:
                r["train/nonfinite_skipped"] = 1

    def scan_history(self, keys=None, page_size=1000):
        return iter(self.rows)

    def history(self, samples=500, keys=None, pandas=True):
        import pandas as pd

        return pd.DataFrame(self.rows)


class FakeApi:
    def __init__(self, runs):
        self._runs, self.calls = runs, []

    def runs(self, path, filters=None, order=None, per_page=50):
        self.calls.append((path, filters))
        return [r for r in self._runs if filters and filters.get("sweep") == "sw1"]


def test_wandb_adapter_and_seed_intervals(tmp_path):
    from trident.analysis.compare import compare
    from trident.analysis.comparison_table import markdown_report
    from trident.analysis.wandb_source import runs_from_wandb

    api = FakeApi([FakeRun("a", "experiments/legacy.yaml", 1, 0.30, 100), FakeRun("b", "experiments/legacy.yaml", 2, 0.34, 110),
                   FakeRun("c", "experiments/trident.yaml", 1, 0.40, 120), FakeRun("d", "experiments/trident.yaml", 2, 0.44, 125),
                   FakeRun("e", "experiments/trident-v1.yaml", 1, 0.47, 130, nan_at=2)])
    runs = runs_from_wandb("ent/proj", "sw1", Path.cwd(), api=api)
    assert api.calls == [("ent/proj", {"sweep": "sw1"})]
    assert [(r.label, r.seed) for r in runs] == [("legacy", 1), ("legacy", 2), ("trident", 1), ("trident", 2),
                                                 ("trident-v1", 1)]
    v1 = runs[-1]
    assert v1.beta == 5.0  # not swept: read from the config file the sweep named
    assert list(v1.steps["step"]) == [1, 2, 3, 4, 5] and "ce/raw" in v1.steps
    assert v1.nonfinite_steps == 1 and runs[0].nonfinite_steps == 0

    c = compare(runs, replicates=500, seed=0, semantic_model=None)
    trident = c.row("trident")
    # Two seeds, no examples: a t-interval over seeds, mean 0.42 ± t(0.975, 1)·0.02·√2/√2.
    half = 12.706204736 * 0.02
    assert trident.cells["f1"].value == pytest.approx(0.42)
    assert (trident.cells["f1"].lo, trident.cells["f1"].hi) == pytest.approx((0.42 - half, 0.42 + half))
    assert trident.cells["semantic"].value is None  # W&B has no semantic similarity: n/a, not 0
    v1_row = c.row("trident-v1 (β=5)")
    assert v1_row.cells["f1"].delta.value == pytest.approx(0.05) and v1_row.checks["f1"] is True
    assert v1_row.checks["nonfinite"] is False and v1_row.wall_ratio == pytest.approx(130 / 122.5)
    md = markdown_report(c, "w")
    assert "trident-v1 (β=5) has 1 seed and no per-example predictions: no interval" in md
    assert "t-intervals over its 2 seeds" in md


# ---- the retrieval baseline's row -------------------------------------------------------

@pytest.fixture(scope="module")
def retrieval_run(tiny_runs):
    """The retrieval baseline on the tiny runs' data and validation records (legacy-s0's config)."""
    from dataclasses import replace

    from trident.baseline import run_retrieval
    from trident.config import load_config

    cfg = load_config(tiny_runs / "legacy-s0" / "config.yaml")
    return Path(run_retrieval(replace(cfg, name="tiny")).run_dir)


def test_the_retrieval_run_is_a_row_of_its_own_last_and_unjudged(tiny_runs, retrieval_run, tmp_path):
    rep = build_report(_args("--runs", *_run_dirs(tiny_runs), str(retrieval_run), "--out", str(tmp_path),
                             "--no-png", "--semantic-model=none"))
    assert _rows(rep.markdown) == ["legacy", "trident (baseline)", "trident-v1 (β=5)", "teacher", "retrieval"]
    assert by_row(rep.markdown, "Validation metrics (")["retrieval"]["seeds"] == "n/a"  # no seed: it trained nothing
    assert list(by_row(rep.markdown, "Δ against the baseline, trident (")) == ["legacy", "trident-v1 (β=5)",
                                                                               "teacher", "retrieval"]
    checks = {**by_row(rep.markdown, "Cost (")["retrieval"], **by_row(rep.markdown, "Checks (")["retrieval"]}
    # No check applies to copying: no ✔ or ✘ (its NaN/Inf count is shown, not judged); it has no
    # model, so no size, memory or latency: n/a, never 0.
    assert checks == {"configuration": "retrieval", "wall time (× baseline)": "n/a (0 s)", "size (MB)": "n/a",
                      "memory (MB)": "n/a", "p50 (ms)": "n/a", "NaN/Inf steps": "0",
                      "ΔF1 ≥ +0.50": "n/a", "AST ≥ baseline": "n/a", "wall ≤ 1.10×": "n/a", "no NaN/Inf steps": "n/a"}
    row = rep.comparison.row("retrieval")
    summary = json.loads((retrieval_run / "summary.json").read_text())
    assert row.cells["f1"].value == pytest.approx(summary["val_metrics"]["f1"])
    assert row.cells["f1"].delta is not None  # how far the baseline configuration is above copying
    assert "The retrieval row copies the assertions of the nearest training record (BM25)" in rep.markdown


def test_a_study_names_its_retrieval_run_and_the_report_finds_it(tiny_runs, tmp_path):
    import optuna

    from trident.sweeps.spec import load_sweep
    from trident.sweeps.table import BASELINE_ATTR, retrieval_baseline, summary_text

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'ba.db'}"
    study = optuna.create_study(study_name="ba-retrieval", storage=url, direction="maximize")
    grid = {"config": [f"experiments/{c}.yaml" for c in ("legacy", "trident")], "seed": [0, 1]}
    for config, seed, name in [("legacy", 0, "legacy-s0"), ("legacy", 1, "legacy-s1"), ("trident", 0, "trident-s0")]:
        f1 = json.loads((tiny_runs / name / "summary.json").read_text())["val_metrics"]["f1"]
        _add(study, {"config": f"experiments/{config}.yaml", "seed": seed}, f1,
             {"run_dir": str(tiny_runs / name), "f1": f1}, grid)
    sweep = tmp_path / "ba-retrieval.yaml"
    sweep.write_text("name: ba-retrieval\nprogram: trident\nmethod: grid\nmetric: {name: eval/f1, goal: maximize}\n"
                     "parameters: {seed: {values: [0, 1]}}\n"
                     "command: ['${env}', '${interpreter}', '-m', 'trident', 'train', '${args}']\n")
    spec = load_sweep(sweep)
    baseline = retrieval_baseline(spec, study)
    # run on the first completed trial's data, named for the sweep, recorded on the study
    assert baseline.name == "ba-retrieval-retrieval" and baseline.parent == tiny_runs
    assert study.user_attrs[BASELINE_ATTR] == str(baseline)
    text = summary_text(spec, study, baseline)
    table = text.splitlines()
    assert table[-1].startswith("against retrieval: trial ") and "F1 lead [" in table[-1]
    assert any(line.startswith("retrieval") and "baseline" in line for line in table)
    rep = build_report(parser().parse_args(["--study", "ba-retrieval", "--storage", url, "--out", str(tmp_path / "o"),
                                            "--no-png", "--bootstrap=100", "--beta-storage=none",
                                            "--contrastive-storage=none", "--semantic-model=none"]))
    assert _rows(rep.markdown) == ["legacy", "trident (baseline)", "teacher", "retrieval"]


def test_the_design_cards_command_runs_from_the_repository_root(tiny_runs, tmp_path):
    """`python analysis/report.py --study …`, exactly as written, in a subprocess from the checkout."""
    import subprocess
    import sys

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'small.db'}"
    study = optuna.create_study(study_name="small", storage=url, direction="maximize")
    grid = {"config": [f"experiments/{c}.yaml" for c in ("legacy", "trident")], "seed": [0, 1]}
    for config, seed, name in [("legacy", 0, "legacy-s0"), ("trident", 0, "trident-s0")]:
        _add(study, {"config": f"experiments/{config}.yaml", "seed": seed}, 0.0, {"run_dir": str(tiny_runs / name)},
             grid)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "analysis/report.py", "--study", "small", "--storage", url, "--out",
                           str(tmp_path / "out"), "--no-png", "--bootstrap=50", "--semantic-model=none",
                           "--beta-storage=none", "--contrastive-storage=none"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "| legacy |" in done.stdout and "| trident (baseline) |" in done.stdout
    assert (tmp_path / "out" / "report.md").read_text() in done.stdout
