"""`python analysis/beta_sweep.py …`: a sweep's objective against β (loss.semantic_loss_scale).

    python analysis/beta_sweep.py                                      # sweeps/studies/beta.db, study beta
    python analysis/beta_sweep.py --study beta --storage postgresql://…
    python analysis/beta_sweep.py --runs runs/v1-b3 runs/v1-b5 runs/v1-b7   # β from each config.yaml
    python analysis/beta_sweep.py --wandb ENTITY/PROJECT --sweep SWEEP_ID   # online (needs a login)

One marker per trial (or run) with its 95% bootstrap interval over validation examples where
the run directory kept its predictions (eval/val/predictions.jsonl) and the metric recomputed
from them is the recorded objective; W&B holds no predictions, so no intervals there. A dotted
line joins the mean at each β. Writes <out>/beta_sweep.csv (one row per trial: objective,
objective_lo, objective_hi, interval, the parameters, the recorded metrics) and
<out>/beta_sweep.html. Run from the repository root; the code is trident.analysis.histories.
"""
import argparse
import sys
from pathlib import Path

# Run as a script from a checkout: the checkout's trident, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trident.analysis import histories as h  # noqa: E402
from trident.analysis.history_figures import sweep_figure, write_outputs  # noqa: E402
from trident.analysis.script_support import OUT, default_storage, run_script, warn  # noqa: E402
from trident.errors import DataError  # noqa: E402
from trident.metrics import REPORTED_KEYS  # noqa: E402

PROG = "beta_sweep"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python analysis/beta_sweep.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--study", help="Optuna study (default beta, when neither --runs nor --wandb is given)")
    src.add_argument("--runs", nargs="+", metavar="DIR", help="run directories, each at its own β")
    src.add_argument("--wandb", metavar="ENTITY/PROJECT", help="a W&B project; with --sweep")
    p.add_argument("--storage", help="storage URL of --study (default sqlite:///sweeps/studies/<study>.db)")
    p.add_argument("--sweep", metavar="ID", help="W&B sweep id, with --wandb")
    p.add_argument("--param", default=h.BETA,
                   help=f"with --study: the swept parameter on the x axis (default {h.BETA})")
    p.add_argument("--metric", default="f1", choices=REPORTED_KEYS,
                   help="the metric the sweep optimised, for the intervals (default f1)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    p.add_argument("--out", default=str(OUT), help=f"output folder (default {OUT})")
    return p


def build(args: argparse.Namespace) -> list[Path]:
    if args.runs:
        frame, title = h.runs_objective(h.load_runs(args.runs), args.metric, args.bootstrap, args.seed), "runs"
    elif args.wandb:
        frame = h.runs_objective(h.wandb_runs(args.wandb, args.sweep), args.metric)
        title = f"W&B sweep {args.wandb}/{args.sweep}"
    else:
        study = args.study or "beta"
        frame = h.study_trials(study, args.storage or default_storage(study), args.metric, replicates=args.bootstrap,
                               seed=args.seed)
        title = f"study {study}"
        if args.param not in frame:
            swept = [c for c in frame.columns if "." in c or c in ("config", "seed")]
            raise DataError(f"{title} has no parameter {args.param} (its parameters: {', '.join(swept) or 'none'})")
    warn(PROG, h.problems(frame))
    fig = sweep_figure(frame, args.param, args.metric)
    if not len(fig.data[0].x):
        raise DataError(f"{title}: no completed trial or finished run with a numeric {args.param} and {args.metric}")
    return write_outputs(args.out, "beta_sweep", frame, fig, f"Validation {args.metric} vs {args.param}: {title}")


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if bool(args.wandb) != bool(args.sweep):
        p.error("--wandb ENTITY/PROJECT and --sweep SWEEP_ID go together")
    if args.storage and (args.runs or args.wandb):
        p.error("--storage goes with --study")
    if args.param != h.BETA and (args.runs or args.wandb):
        p.error(f"--param applies to --study (runs are placed by their {h.BETA})")
    return run_script(PROG, lambda: build(args))


if __name__ == "__main__":
    sys.exit(main())
