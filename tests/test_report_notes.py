"""The report's notes: where rows differ in more than what is compared (steps, data, teacher,
seed count), the seeds column as a count, the teacher's row, and no optimization history drawn
from fewer than two trials. Run directories are written by hand (tests/report_helpers.py)."""
from __future__ import annotations

import optuna
import pytest

from report_helpers import by_row, column, make_run
from trident.analysis import figures as fg
from trident.analysis.differences import RowRuns, differences
from trident.analysis.report import build_report, parser
from trident.analysis.sources import RunData

LEGACY = {"ce": {"start": 0.5, "end": 0.5}, "kl": {"start": 0.5, "end": 0.5}}
TRIDENT = {"focal": {"start": 0.5}, "jsd": {"start": 0.3}, "semantic": {"start": 0.2}, "pans": {"start": 0.05},
           "ast": {"start": 0.05}}
PREFIX = "⚠ the rows differ in "


def _run(run_name: str, label: str, steps: int | None = None, **config) -> RunData:
    return RunData(name=run_name, label=label, global_step=steps, val_records=10, config=config)


def test_like_for_like_rows_have_no_warning():
    # Loss, seed, name and bookkeeping differ; nothing that shapes the numbers does.
    rows = [RowRuns("legacy", [_run("a", "legacy", 12, seed=0, name="a", runs_dir="x", loss={"components": {"ce": {}}},
                                    tracking={"wandb": "offline"}, train={"max_steps": 12, "resume": True}),
                               _run("b", "legacy", 12, seed=1, name="b", runs_dir="y", train={"max_steps": 12})]),
            RowRuns("trident", [_run("c", "trident", 12, seed=0, loss={"components": {"focal": {}}},
                                     tracking={"wandb": "disabled"}, train={"max_steps": 12, "save_steps": 5}),
                                _run("d", "trident", 12, seed=5, train={"max_steps": 12})])]
    assert differences(rows) == []


def test_steps_data_and_seed_count_that_differ_are_named_row_by_row():
    rows = [RowRuns("legacy", [_run("a", "legacy", 12, train={"max_steps": 12, "lr": 0.003}, data={"dir": "d"}),
                               _run("b", "legacy", 80, train={"max_steps": 80, "lr": 0.003}, data={"dir": "d"})]),
            RowRuns("trident", [_run("c", "trident", 80, train={"max_steps": 80, "lr": 0.001}, data={"dir": "d"})]),
            # A reference row is held to its data only: that it trained nothing is no difference.
            RowRuns("retrieval", [_run("r", "retrieval", 0, train={"max_steps": 1}, data={"dir": "other"})],
                    reference=True)]
    # train.lr is a key the sweep varies: part of what is compared, not warned about.
    assert differences(rows, varied=["train.lr"]) == [
        PREFIX + "training as well as in what is compared: optimizer steps (legacy 12/80; trident 80), "
                 "train.max_steps (legacy 12/80; trident 80)",
        PREFIX + "data as well as in what is compared: data.dir (legacy d; trident d; retrieval other)",
        PREFIX + "seed count as well as in what is compared: legacy 2; trident 1"]
    assert differences(rows)[0] == PREFIX + (
        "training as well as in what is compared: optimizer steps (legacy 12/80; trident 80), "
        "train.max_steps (legacy 12/80; trident 80), train.lr (legacy 0.003; trident 0.001)")


def test_keys_the_presets_themselves_differ_in_are_what_is_compared():
    # experiments/trident-v1-hidden.yaml sets teacher.source: online, trident-v1.yaml does not.
    rows = [RowRuns("trident-v1 (β=5)", [_run("a", "trident-v1", 12, teacher={"source": "auto"})]),
            RowRuns("trident-v1-hidden (β=5)", [_run("b", "trident-v1-hidden", 12, teacher={"source": "online"})])]
    assert differences(rows) == []
    rows[1].runs[0].label = "my-run"  # no preset file: the difference is its own
    assert differences(rows) == [PREFIX + "teacher as well as in what is compared: teacher.source "
                                 "(trident-v1 (β=5) auto; trident-v1-hidden (β=5) online)"]


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory):
    """legacy × 2 seeds for 12 steps on teacher A, trident × 1 seed for 80 steps on teacher B.
    The teachers' own config.yaml names legacy's loss, as `trident teacher` leaves it."""
    root = tmp_path_factory.mktemp("mismatched")
    data = {"data": {"dir": "data/synth", "max_train_records": 0}}
    teachers = {t: make_run(root, f"teacher-{t}", LEGACY, 42, right, 0, 300.0, role="teacher", steps=40, config=data)
                for t, right in (("aaa", 9), ("bbb", 8))}
    runs = [make_run(root, f"legacy-s{s}", LEGACY, s, 4 + s, 0, 50.0, steps=12, teacher=str(teachers["aaa"] / "model"),
                     config={**data, "train": {"max_steps": 12}, "tracking": {"wandb": ["offline", "disabled"][s]}})
            for s in (0, 1)]
    runs.append(make_run(root, "trident-s0", TRIDENT, 0, 6, 0, 60.0, steps=80, teacher=str(teachers["bbb"] / "model"),
                         config={**data, "train": {"max_steps": 80}}))
    out = tmp_path_factory.mktemp("mismatched-out")
    return build_report(parser().parse_args(["--runs", *map(str, runs), "--out", str(out), "--no-png",
                                             "--bootstrap=100", "--semantic-model=none", "--beta-storage=none",
                                             "--contrastive-storage=none"]))


def test_rows_on_different_steps_and_teachers_are_warned_about(mismatched):
    rep = mismatched
    notes = [line[2:] for line in rep.markdown.splitlines() if line.startswith("- ⚠")]
    assert notes == [
        PREFIX + "training as well as in what is compared: optimizer steps (legacy 12; trident 80), "
                 "train.max_steps (legacy 12; trident 80)",
        PREFIX + "teacher as well as in what is compared: teacher run (legacy teacher-aaa; trident teacher-bbb)",
        PREFIX + "seed count as well as in what is compared: legacy 2; trident 1"]
    listed = rep.markdown.split("Notes:\n\n", 1)[1].splitlines()
    assert [line[2:] for line in listed[:3]] == notes  # before every other note
    # The same warnings on the page, set apart from the other notes.
    html = rep.html_path.read_text()
    for note in notes:
        assert f"<li class=\"differs\">{note}</li>" in html


def test_each_teacher_is_a_row_of_its_own_and_seeds_are_counted(mismatched):
    rep = mismatched
    # Two teachers: one row each, named by their run directories, after the configurations; the
    # teachers' legacy loss does not pool them into legacy's row.
    assert column(rep.markdown, "Validation metrics (") == ["legacy", "trident (baseline)", "teacher-aaa",
                                                            "teacher-bbb"]
    values = by_row(rep.markdown, "Validation metrics (")
    assert [values[r]["seeds"] for r in values] == ["2", "1", "1", "1"]
    assert values["legacy"]["F1"].startswith("45.0 [")  # seeds 0 and 1: F1 0.4 and 0.5
    assert values["teacher-aaa"]["F1"].startswith("90.0 [") and values["teacher-bbb"]["F1"].startswith("80.0 [")
    assert "- seed values: legacy 0, 1; trident 0; teacher-aaa 42; teacher-bbb 42" in rep.markdown
    checks = by_row(rep.markdown, "Checks (")
    assert checks["teacher-aaa"]["ΔF1 ≥ +0.50"] == checks["teacher-aaa"]["no NaN/Inf steps"] == "n/a"
    assert by_row(rep.markdown, "Δ against the baseline, trident (")["teacher-aaa"]["Δ F1"].startswith("+30.00 [")
    assert ("The teacher row is the model the students were distilled from (one run: its interval covers example "
            "sampling only); it takes no checks.") in rep.markdown
    assert "teacher-aaa has 1 seed" not in rep.markdown  # the legend says it once for every teacher row


def test_a_teacher_that_is_not_here_is_named_in_the_notes(tmp_path):
    run = make_run(tmp_path, "legacy-s0", LEGACY, 0, 5, 0, 50.0, teacher="Salesforce/codet5p-770m")
    rep = build_report(parser().parse_args(["--runs", str(run), "--baseline", "legacy", "--out", str(tmp_path / "o"),
                                            "--no-png", "--bootstrap=50", "--semantic-model=none",
                                            "--beta-storage=none", "--contrastive-storage=none"]))
    assert column(rep.markdown, "Validation metrics (") == ["legacy (baseline)"]
    assert ("- no teacher row for Salesforce/codet5p-770m: it is not a finished teacher run directory here"
            in rep.markdown)


# ---- the optimization history ----------------------------------------------------------

def _study(name: str, values: list[float]):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, direction="maximize")
    dist = {"train.lr": optuna.distributions.FloatDistribution(1e-4, 1e-2)}
    for k, v in enumerate(values):
        study.add_trial(optuna.trial.create_trial(params={"train.lr": 1e-3 * (k + 1)}, distributions=dist, value=v))
    return study


def test_no_history_is_drawn_from_fewer_than_two_trials():
    for values, why in (([], "study s0 has 0 completed trials: an optimization history needs at least 2"),
                        ([0.4], "study s1 has 1 completed trial: an optimization history needs at least 2")):
        study = _study(f"s{len(values)}", values)
        figures = {key: (fig, reason) for key, _, fig, reason in fg.optuna_figures(study)}
        assert figures[f"history-s{len(values)}"] == (None, why)
    figures = {key: fig for key, _, fig, _ in fg.optuna_figures(_study("s2", [0.4, 0.6]))}
    assert list(figures["history-s2"].data[0].y) == [0.4, 0.6]  # two trials: drawn, every trial a point


def test_a_one_trial_study_says_so_on_the_page_instead(tmp_path):
    run = make_run(tmp_path, "trident-s0", TRIDENT, 0, 6, 0, 60.0)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'one.db'}"
    study = optuna.create_study(study_name="one", storage=url, direction="maximize")
    dists = {"config": optuna.distributions.CategoricalDistribution(["experiments/trident.yaml"])}
    study.add_trial(optuna.trial.create_trial(params={"config": "experiments/trident.yaml"}, distributions=dists,
                                              value=0.6, user_attrs={"run_dir": str(run)}))
    rep = build_report(parser().parse_args(["--study", "one", "--storage", url, "--out", str(tmp_path / "o"),
                                            "--no-png", "--bootstrap=50", "--semantic-model=none",
                                            "--beta-storage=none", "--contrastive-storage=none"]))
    assert "history-one" not in rep.figure_keys
    html = rep.html_path.read_text()
    assert 'id="fig-history-one"' not in html
    assert ("<h2>Optuna optimization history: one</h2><div class=\"note skipped\">Not drawn: study one has 1 "
            "completed trial: an optimization history needs at least 2</div>") in html


def test_a_teacher_scored_on_fewer_examples_does_not_narrow_the_configurations(tmp_path):
    teacher = make_run(tmp_path, "teacher-ccc", LEGACY, 42, 9, 0, 300.0, role="teacher")
    preds = teacher / "eval" / "val" / "predictions.jsonl"
    preds.write_text("".join(preds.read_text().splitlines(keepends=True)[:8]))  # examples 0-7 of 10
    runs = [make_run(tmp_path, f"legacy-s{s}", LEGACY, s, 4 + s, 0, 50.0, teacher=str(teacher / "model"))
            for s in (0, 1)]
    rep = build_report(parser().parse_args(["--runs", *map(str, runs), "--baseline", "legacy", "--out",
                                            str(tmp_path / "o"), "--no-png", "--bootstrap=50",
                                            "--semantic-model=none", "--beta-storage=none",
                                            "--contrastive-storage=none"]))
    c = rep.comparison
    assert c.examples == 10  # the configurations' bootstrap still resamples all ten
    assert c.row("legacy").cells["f1"].value == pytest.approx(0.45) and c.row("legacy").cells["f1"].lo is not None
    teacher_row = c.row("teacher")
    assert teacher_row.cells["f1"].value == pytest.approx(0.9)  # its summary's, on its own examples
    assert teacher_row.cells["f1"].lo is None and not teacher_row.bootstrap
    assert by_row(rep.markdown, "Validation metrics (")["teacher"]["F1"] == "90.0"
    assert ("- teacher-ccc: its predictions miss 2 of the 10 validation examples the configurations share; its "
            "row has its own metrics, without an interval") in rep.markdown
