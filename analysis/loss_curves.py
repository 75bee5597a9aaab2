"""`python analysis/loss_curves.py …`: loss components over steps, a column of panels per preset.

    python analysis/loss_curves.py --runs runs/legacy runs/trident runs/trident-v1
    python analysis/loss_curves.py --study beta                       # sweeps/studies/beta.db's trials
    python analysis/loss_curves.py --wandb runs/trident-v1            # the run's offline W&B log
    python analysis/loss_curves.py --wandb ENTITY/PROJECT/RUN_ID      # a W&B run online (needs a login)

Sources may be combined. Writes <out>/loss_curves.csv (every logged step of every run: run,
preset, seed, beta, source, then the columns of step_metrics.csv) and <out>/loss_curves.html.
Run from the repository root; the code is trident.analysis.histories.
"""
import argparse
import sys
from pathlib import Path

# Run as a script from a checkout: the checkout's trident, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trident.analysis import histories as h  # noqa: E402
from trident.analysis.history_figures import loss_figure, write_outputs  # noqa: E402
from trident.analysis.script_support import OUT, default_storage, run_script, warn  # noqa: E402
from trident.errors import DataError  # noqa: E402

PROG = "loss_curves"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python analysis/loss_curves.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", default=[], metavar="DIR", help="run directories")
    p.add_argument("--study", help="an Optuna study: its completed trials' run directories")
    p.add_argument("--storage", help="storage URL of --study (default sqlite:///sweeps/studies/<study>.db)")
    p.add_argument("--wandb", nargs="+", default=[], metavar="SOURCE",
                   help="W&B runs: a run directory or offline-run-* folder (read offline), or ENTITY/PROJECT/RUN_ID")
    p.add_argument("--kinds", nargs="+", default=["raw", "weighted"], choices=h.KINDS,
                   help="a row of panels per kind of component value (default: raw weighted)")
    p.add_argument("--x", default="step", choices=["step", "progress", "epoch"], help="x axis (default step)")
    p.add_argument("--out", default=str(OUT), help=f"output folder (default {OUT})")
    return p


def build(args: argparse.Namespace) -> list[Path]:
    runs = h.load_runs(args.runs)
    notes: list[str] = []
    if args.study:
        study_runs, notes = h.study_runs(args.study, args.storage or default_storage(args.study))
        runs += study_runs
    runs += [h.wandb_run(source) for source in args.wandb]
    steps = h.steps_frame(runs)
    warn(PROG, notes + h.problems(steps))
    long = h.components_long(steps, args.kinds)
    if long.empty:
        raise DataError("no run given has a step history with loss components to draw")
    if args.x not in long:
        raise DataError(f"the step histories have no {args.x} column")
    return write_outputs(args.out, "loss_curves", steps, loss_figure(long, args.x),
                         "Loss components over training, per preset")


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not (args.runs or args.study or args.wandb):
        p.error("give at least one of --runs, --study, --wandb")
    if args.storage and not args.study:
        p.error("--storage goes with --study")
    return run_script(PROG, lambda: build(args))


if __name__ == "__main__":
    sys.exit(main())
