"""trident.analysis.report with any presets a sweep names, each judged against a baseline chosen
by --baseline: trident-v1 against trident-v1-hidden / -seqkd / -gkd, built without training."""
from __future__ import annotations

from pathlib import Path

import pytest

from report_helpers import METHOD_COMPONENTS, N, V1, by_row, column, make_run
from trident.analysis.report import ReportError, build_report, main, parser
from trident.analysis.sources import RunData, label_from_components, load_run_dir

COMPONENTS = METHOD_COMPONENTS
# (preset, seed) -> (examples predicted exactly, examples predicted as a line that does not parse,
# wall time). Every other example gets a valid but wrong line (`assertEquals(i + 100, result);`),
# so each example holds one reference line and one predicted line: a right one is a true
# positive, a wrong one a false positive and a false negative, and micro-F1 = P = R = right / 10.
PLAN = {
    ("trident-v1", 0): (5, 0, 100.0), ("trident-v1", 1): (6, 0, 110.0),               # F1 0.50, 0.60
    ("trident-v1-hidden", 0): (7, 0, 120.0), ("trident-v1-hidden", 1): (8, 0, 130.0),  # F1 0.70, 0.80
    ("trident-v1-seqkd", 0): (5, 0, 100.0), ("trident-v1-seqkd", 1): (6, 0, 110.0),    # F1 0.50, 0.60
    ("trident-v1-gkd", 0): (6, 0, 105.0), ("trident-v1-gkd", 1): (6, 1, 105.0),        # F1 0.60, 0.60; AST 1, 0.9
}


@pytest.fixture(scope="module")
def preset_runs(tmp_path_factory) -> dict[tuple[str, int], Path]:
    """Four presets × 2 seeds; directory names say nothing of the preset (as a sweep names them)."""
    root = tmp_path_factory.mktemp("preset-runs")
    return {(preset, seed): make_run(root, f"methods-t{k:03d}", COMPONENTS[preset], seed, *plan)
            for k, ((preset, seed), plan) in enumerate(PLAN.items())}


def _args(*argv: str):
    return parser().parse_args([*argv, "--beta-storage=none", "--contrastive-storage=none", "--bootstrap=200",
                                "--semantic-model=none", "--no-png"])


def _first_cells(markdown: str) -> list[str]:
    """The rows of the metrics table, top to bottom."""
    return column(markdown, "Validation metrics (")


ROWS = ["trident-v1 (β=5) (baseline)", "trident-v1-gkd (β=5)", "trident-v1-hidden (β=5)", "trident-v1-seqkd (β=5)"]


def _check_against_trident_v1(rep) -> None:
    c = rep.comparison
    assert _first_cells(rep.markdown) == ROWS
    assert c.baseline == "trident-v1 (β=5)"
    assert "Δ is against the baseline (trident-v1 (β=5))" in rep.markdown
    base = c.row("trident-v1 (β=5)")
    assert base.cells["f1"].value == pytest.approx(0.55)  # (0.5 + 0.6) / 2
    assert base.seeds == [0, 1] and base.cells["f1"].delta is None
    hidden, seqkd, gkd = (c.row(f"trident-v1-{m} (β=5)") for m in ("hidden", "seqkd", "gkd"))
    # ΔF1 = mean over seeds of the preset's F1 − the baseline's.
    assert hidden.cells["f1"].delta.value == pytest.approx(0.75 - 0.55)
    assert seqkd.cells["f1"].delta.value == pytest.approx(0.0, abs=1e-12)
    assert gkd.cells["f1"].delta.value == pytest.approx(0.60 - 0.55)
    assert gkd.cells["ast_validity"].delta.value == pytest.approx(0.95 - 1.0)
    # Checks judged against trident-v1: ΔF1 ≥ +0.5 points, AST ≥ baseline, wall ≤ 1.10 × 105 s.
    assert hidden.checks == {"nonfinite": True, "f1": True, "ast": True, "wall": False}
    assert hidden.wall_ratio == pytest.approx(125 / 105)
    assert seqkd.checks == {"nonfinite": True, "f1": False, "ast": True, "wall": True}
    assert gkd.checks == {"nonfinite": True, "f1": True, "ast": False, "wall": True}
    # The Δ table has every row but the baseline's, in the same order; one line per cell.
    deltas = by_row(rep.markdown, "Δ against the baseline, trident-v1 (β=5)")
    assert list(deltas) == ROWS[1:]
    assert deltas["trident-v1-hidden (β=5)"]["Δ F1"].startswith("+20.00 [")
    assert deltas["trident-v1-seqkd (β=5)"]["Δ F1"].startswith("+0.00 [")
    assert deltas["trident-v1-gkd (β=5)"]["Δ AST validity"].startswith("-5.00 [")
    values = by_row(rep.markdown, "Validation metrics (")
    assert values["trident-v1 (β=5) (baseline)"]["F1"].startswith("55.0 [")
    assert values["trident-v1-hidden (β=5)"]["F1"].startswith("75.0 [")
    assert [row["seeds"] for row in values.values()] == ["2"] * 4  # a count; the values are in the notes
    assert "seed values: trident-v1 (β=5) 0, 1; trident-v1-gkd (β=5) 0, 1;" in rep.markdown
    checks = by_row(rep.markdown, "Checks (")
    assert checks["trident-v1-hidden (β=5)"]["ΔF1 ≥ +0.50"] == "✔ +20.00 vs +0.50"
    assert checks["trident-v1-hidden (β=5)"]["wall ≤ 1.10×"] == "✘ 1.19× vs 1.10×"
    assert checks["trident-v1-gkd (β=5)"]["AST ≥ baseline"] == "✘ -5.00 vs +0.00"
    assert list(checks["trident-v1 (β=5) (baseline)"].values()).count("— (baseline)") == 3
    assert "⚠" not in rep.markdown  # like for like: only the loss differs between these rows


def _study(tmp_path: Path, preset_runs, name="methods-test") -> str:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'methods.db'}"
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    grid = {"config": [f"experiments/{p}.yaml" for p in COMPONENTS], "seed": [0, 1]}
    dists = {k: optuna.distributions.CategoricalDistribution(v) for k, v in grid.items()}
    for (preset, seed), run_dir in preset_runs.items():
        study.add_trial(optuna.trial.create_trial(
            params={"config": f"experiments/{preset}.yaml", "seed": seed}, distributions=dists,
            value=PLAN[(preset, seed)][0] / N, user_attrs={"run_dir": str(run_dir)}))
    return url


def test_study_with_four_presets_against_trident_v1(preset_runs, tmp_path):
    url = _study(tmp_path, preset_runs)
    rep = build_report(_args("--study", "methods-test", "--storage", url, "--out", str(tmp_path / "out"),
                             "--baseline", "trident-v1"))
    _check_against_trident_v1(rep)
    # One colour per configuration, the same in the metrics and the wall-time figures; the four
    # per-configuration loss panels wrap (3 to a row).
    figs = rep.figures.figures
    bars = {t.name: t.marker.color for t in figs["metrics"][1].data}
    assert list(bars) == [r.removesuffix(" (baseline)") for r in ROWS] and len(set(bars.values())) == 4
    assert {t.name: t.marker.color for t in figs["wall-time"][1].data} == bars
    panels = figs["loss-raw"][1]
    assert [a.text for a in panels.layout.annotations] == list(bars) and panels.layout.height == 840


def test_runs_dirs_of_new_presets_are_told_apart(preset_runs, tmp_path):
    # No config file is known for run directories: each loss matches its preset in experiments/
    # exactly, so trident-v1-hidden (trident-v1 + hidden) is a row of its own, seeds pooled.
    rep = build_report(_args("--runs", *map(str, preset_runs.values()), "--out", str(tmp_path / "out"),
                             "--baseline", "experiments/trident-v1.yaml"))
    _check_against_trident_v1(rep)


def test_label_from_components_is_exact(tmp_path):
    v1 = set(V1)
    assert label_from_components({"ce", "kl"}, "x") == "legacy"
    assert label_from_components(v1 - {"contrastive"}, "x") == "trident"
    assert label_from_components(v1, "x") == "trident-v1"
    assert label_from_components(v1 | {"hidden"}, "x") == "trident-v1-hidden"  # experiments/ in the cwd
    assert label_from_components(v1 | {"hidden"}, "x", root=tmp_path) == "x"  # no experiments/ there
    assert label_from_components(v1 | {"hidden", "seqkd"}, "x") == "x"  # no preset has this loss
    assert label_from_components({"focal", "jsd", "semantic"}, "x") == "x"  # not trident without pans/ast
    # A run of trident-v1.yaml with two components added keeps its config name only if that is no preset's.
    run = load_run_dir(make_run(tmp_path, "mix-s0", {**V1, "hidden": {}, "seqkd": {}}, 0, 5, 0, 1.0,
                                cfg_name="trident-v1"))
    assert (run.label, run.display) == ("mix-s0", "mix-s0 (β=5)")
    run = load_run_dir(make_run(tmp_path, "mix-s1", {**V1, "hidden": {}, "seqkd": {}}, 1, 5, 0, 1.0,
                                cfg_name="v1-hidden-seqkd"))
    assert run.label == "v1-hidden-seqkd"
    # β in the label as before for the original presets.
    assert RunData("a", "trident", beta=1.0).display == "trident"
    assert RunData("a", "legacy").display == "legacy"
    assert RunData("a", "trident-v1", beta=5.0).display == "trident-v1 (β=5)"
    assert RunData("a", "trident-v1-gkd", beta=2.5).display == "trident-v1-gkd (β=2.5)"


def test_unknown_loss_and_label_flag(preset_runs, tmp_path):
    v1 = [str(preset_runs[("trident-v1", s)]) for s in (0, 1)]
    odd = [str(make_run(tmp_path, f"hs-s{s}", {**V1, "hidden": {}, "seqkd": {}}, s, 9, 0, 100.0)) for s in (0, 1)]
    rep = build_report(_args("--runs", *v1, *odd, "--out", str(tmp_path / "a"), "--baseline", "trident-v1"))
    # A loss no preset has never joins trident-v1: each run is its own row, under its own name.
    assert _first_cells(rep.markdown) == ["trident-v1 (β=5) (baseline)", "hs-s0 (β=5)", "hs-s1 (β=5)"]
    # --label names them outright (a glob over directory names), and their seeds pool.
    rep = build_report(_args("--runs", *v1, *odd, "--label", "hs-*=trident-v1-hs", "--out", str(tmp_path / "b"),
                             "--baseline", "trident-v1"))
    assert _first_cells(rep.markdown) == ["trident-v1 (β=5) (baseline)", "trident-v1-hs (β=5)"]
    hs = rep.comparison.row("trident-v1-hs (β=5)")
    assert hs.seeds == [0, 1] and hs.cells["f1"].delta.value == pytest.approx(0.9 - 0.55)
    # The baseline may be one of the labelled runs, named by its path as given.
    rep = build_report(_args("--runs", *v1, *odd, "--label", f"{odd[0]}=hs", "--label", "hs-s1=hs",
                             "--out", str(tmp_path / "c"), "--baseline", "hs"))
    assert _first_cells(rep.markdown) == ["trident-v1 (β=5)", "hs (β=5) (baseline)"]
    assert rep.comparison.row("trident-v1 (β=5)").cells["f1"].delta.value == pytest.approx(0.55 - 0.9)


def test_baseline_that_names_no_configuration_is_an_error(preset_runs, tmp_path, capsys):
    dirs = [str(p) for p in preset_runs.values()]
    code = main(["--runs", *dirs, "--baseline", "trident", "--out", str(tmp_path / "out"), "--no-png",
                 "--semantic-model=none", "--beta-storage=none", "--contrastive-storage=none"])
    err = capsys.readouterr().err
    assert code == 2
    assert ("report: error: --baseline: baseline 'trident' matches no configuration of these runs; the "
            "configurations found are: trident-v1 (β=5), trident-v1-gkd (β=5), trident-v1-hidden (β=5), "
            "trident-v1-seqkd (β=5)") in err
    assert not (tmp_path / "out" / "report.md").exists()
    # Two β of one preset: `trident-v1` is ambiguous; the row's own label picks one.
    other = make_run(tmp_path, "v1-b3", V1, 0, 4, 0, 100.0, beta=3)
    code = main(["--runs", *dirs[:2], str(other), "--baseline", "trident-v1", "--out", str(tmp_path / "o2"),
                 "--no-png", "--semantic-model=none", "--beta-storage=none", "--contrastive-storage=none"])
    assert code == 2
    assert "matches 2 configurations (trident-v1 (β=3), trident-v1 (β=5)): name one of them exactly" in \
        capsys.readouterr().err
    rep = build_report(_args("--runs", *dirs[:2], str(other), "--baseline", "trident-v1 (β=3)",
                             "--out", str(tmp_path / "o3")))
    assert _first_cells(rep.markdown) == ["trident-v1 (β=3) (baseline)", "trident-v1 (β=5)"]
    assert rep.comparison.row("trident-v1 (β=5)").cells["f1"].delta.value == pytest.approx(0.55 - 0.4)
    # --label is for run directories only; a --label naming none of them is an error too.
    with pytest.raises(ReportError, match="none of the --runs directories"):
        build_report(_args("--runs", *dirs[:2], "--label", "nope=x", "--out", str(tmp_path / "o4")))
