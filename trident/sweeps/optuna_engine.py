"""The Optuna engine: a sweep file becomes an Optuna study; each trial is one training run.

grid → GridSampler, random → RandomSampler, bayes → TPESampler; early_terminate hyperband →
HyperbandPruner (`--pruner median` for a MedianPruner); metric.goal → the study's direction;
run_cap → the trial budget. The study lives in an embedded SQLite file under sweeps/studies/
by default, or on a PostgreSQL server (`--storage postgresql://…`) that any number of
workers (`--worker`) on any machines attach to.

Guarantees across workers: a grid point is completed once (a trial that finds its point
already running or done under a lower trial number steps aside as PRUNED, with
`duplicate_of` set); a worker that dies mid-trial stops sending heartbeats, its trial is
marked failed after the grace period and re-queued with the same parameters
(RetryHeartbeatStaleTrialCallback), and another worker runs it; a restarted sweep skips what is done.
"""
from __future__ import annotations

import os
import re
import shlex
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from transformers import TrainerCallback

from trident import metrics
from trident.sweeps import distributions
from trident.sweeps.registry import PRUNERS, SAMPLERS, EngineOptions
from trident.errors import RunDirError, SweepError
from trident.sweeps.spec import SweepSpec, agent_command, decode_value, encode_value, point_values, train_argv

STUDIES_DIR = Path("sweeps/studies")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def default_storage(spec: SweepSpec) -> str:
    STUDIES_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{STUDIES_DIR / (spec.name + '.db')}"


def make_storage(url: str, heartbeat_interval: int, grace_period: int) -> optuna.storages.RDBStorage:
    """The study's storage; a URL that cannot be opened is a SweepError naming it (password masked)."""
    with warnings.catch_warnings():  # heartbeats and their retry are stable in practice, still flagged experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # Optuna ≥ 4.9 names the retry-on-stale-heartbeat hook differently; older releases take the second form.
        if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback"):
            retry = {"heartbeat_stale_trial_callback": optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)}
        else:
            retry = {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=3)}
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                engine_kwargs={"pool_pre_ping": True} if not url.startswith("sqlite") else None, **retry)
        except Exception as exc:  # SQLAlchemy's, the driver's, or a missing driver module: all one story
            raise SweepError(f"cannot open the study storage {masked_url(url)}: {storage_cause(exc)}") from None


def masked_url(url: str) -> str:
    """The URL with its password replaced by ***, whether or not SQLAlchemy can parse it."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def storage_cause(exc: BaseException) -> str:
    """The first line of the underlying error, without SQLAlchemy's statement dump and doc link."""
    inner = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    text = lines[0] if lines else type(inner).__name__
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", text)
    return f"{type(inner).__name__}: {text}"


def make_sampler(spec: SweepSpec, seed: int | None) -> optuna.samplers.BaseSampler:
    return SAMPLERS[spec.method].load()(spec, seed)


def make_pruner(spec: SweepSpec, pruner: str | None = None) -> optuna.pruners.BasePruner:
    """`--pruner NAME` when given, else the file's early_terminate type, else no pruning."""
    name = pruner or (spec.early_terminate or {}).get("type") or "none"
    if name not in PRUNERS:
        raise SweepError(f"unknown pruner {name!r}; known: {', '.join(PRUNERS)}")
    return PRUNERS[name].load()(spec)


def suggest(trial: optuna.Trial, spec: SweepSpec) -> dict[str, Any]:
    """The trial's parameter values, in the sweep file's order, decoded back to their YAML form,
    with W&B's meaning for every kind (trident/sweeps/distributions.py); recorded as the trial's
    `values` (for kinds drawn by quantile the Optuna parameter is the quantile, not the value)."""
    out = {}
    for name, p in spec.parameters.items():
        if "value" in p or ("values" in p and (spec.method == "grid" or "probabilities" not in p)):
            out[name] = decode_value(trial.suggest_categorical(name, [encode_value(v) for v in point_values(p)]))
        else:
            out[name] = distributions.draw(trial, name, p)
    trial.set_user_attr("values", {k: encode_value(v) for k, v in out.items()})
    return out


def _same_point(a: dict, b: dict) -> bool:
    return {k: encode_value(v) for k, v in a.items()} == {k: encode_value(v) for k, v in b.items()}


def duplicate_of(study: optuna.Study, trial: optuna.Trial) -> int | None:
    """A lower-numbered trial already running or done at this grid point (the lower one keeps it)."""
    for other in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.COMPLETE)):
        if other.number < trial.number and other.params == trial.params and not other.user_attrs.get("duplicate_of"):
            return other.number
    return None


class ReportToTrial(TrainerCallback):
    """Reports the validation metric after every evaluation, prunes, records the W&B run id."""

    def __init__(self, trial: optuna.Trial, metric: str):
        self.trial, self.metric, self.evaluations = trial, metric, 0

    def on_train_begin(self, args, state, control, **kwargs):
        try:
            import wandb
        except ImportError:
            return
        if wandb.run is not None:
            self.trial.set_user_attr("wandb_run_id", wandb.run.id)
            wandb.run.config.update({"optuna_trial": self.trial.number, "optuna_study": self.trial.study.study_name},
                                    allow_val_change=True)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        key = f"eval_{self.metric}"
        if not metrics or key not in metrics:
            return
        self.evaluations += 1
        self.trial.report(float(metrics[key]), step=self.evaluations)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after evaluation {self.evaluations}: {self.metric}={metrics[key]:.4g}")


def metric_key(spec: SweepSpec) -> str:
    """`eval/f1` (the key W&B logs) → `f1` (the key in val metrics)."""
    return spec.metric.split("/")[-1].removeprefix("eval_")


def run_name(spec: SweepSpec, study: optuna.Study, trial: optuna.Trial) -> str:
    """`<sweep>-t<NNN>`. A trial re-queued because its worker died (the retry callback records the
    first trial as `failed_trial`) runs in that trial's directory: the dead worker's lock there is
    stale and is taken over, and the run starts over in it, so a grid point keeps one directory."""
    frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
    origin = frozen.system_attrs.get("failed_trial")
    return f"{spec.name}-t{trial.number if origin is None else origin:03d}"


def objective_for(spec: SweepSpec, study: optuna.Study):
    from trident.config import load_run_config
    from trident.distill import distill
    from trident.tracking import set_progress_bars

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, spec)
        trial.set_user_attr("worker_pid", os.getpid())
        if spec.method == "grid":
            first = duplicate_of(study, trial)
            if first is not None:
                trial.set_user_attr("duplicate_of", first)
                raise optuna.TrialPruned(f"grid point already taken by trial {first}")
        argv = train_argv(spec, params)
        trial.set_user_attr("command", shlex.join(agent_command(spec, params)))
        group = load_run_config(argv).tracking.wandb_group or spec.name

        def trial_config(name: str):
            return load_run_config(argv, {"name": name, "tracking": {"wandb_group": group, "sweep": spec.name,
                                                                     "trial": trial.number}})

        cfg = trial_config(run_name(spec, study, trial))
        set_progress_bars(cfg.tracking.progress)  # the trial's own flag, for the weights its stages load
        trial.set_user_attr("run_dir", str(cfg.run_dir))
        try:  # the study owns its trials' directories: one left by an earlier study of this name is replaced
            summary = distill(cfg, callbacks=[ReportToTrial(trial, metric_key(spec))], overwrite=True)
        except RunDirError:
            own = f"{spec.name}-t{trial.number:03d}"
            if cfg.name == own:
                raise
            # The retried trial's worker still runs (only its heartbeats stopped): leave it its directory.
            cfg = trial_config(own)
            trial.set_user_attr("run_dir", str(cfg.run_dir))
            summary = distill(cfg, callbacks=[ReportToTrial(trial, metric_key(spec))], overwrite=True)
        if spec.method == "grid":
            # Checked again at the end: a lower-numbered trial that drew the same point may not have
            # written its parameters yet when this one started, and then both ran. The lower keeps it.
            first = duplicate_of(study, trial)
            if first is not None:
                trial.set_user_attr("duplicate_of", first)
                raise optuna.TrialPruned(f"grid point also run by trial {first}, which keeps it")
        for k in (*metrics.REPORTED_KEYS, *metrics.EXECUTION_KEYS):
            trial.set_user_attr(k, summary.val_metrics.get(k))
        trial.set_user_attr("wall_time_s", summary.wall_time_s)  # the run's own time, not its teacher's
        return float(summary.val_metrics[metric_key(spec)])

    return objective


def _grid_state(study: optuna.Study) -> tuple[int, int, int]:
    """(points done, points running, waiting trials)."""
    trials = study.get_trials(deepcopy=False)
    real = [t for t in trials if not t.user_attrs.get("duplicate_of")]
    done = {tuple(sorted(t.params.items())) for t in real if t.state in FINISHED}
    running = {tuple(sorted(t.params.items())) for t in real if t.state == TrialState.RUNNING} - done
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    return len(done), len(running), waiting


def run(spec: SweepSpec, options: EngineOptions) -> int:
    """The `optuna` engine: work on the study until its budget is done, then (unless a --worker)
    print the trials table."""
    from trident.sweeps.table import retrieval_baseline, summary_text

    study = run_worker(spec, options.storage, options.pruner, options.heartbeat_interval, options.grace_period,
                       options.seed)
    if not options.worker:
        print(summary_text(spec, study, retrieval_baseline(spec, study)))
    return 0


def run_worker(spec: SweepSpec, storage_url: str | None = None, pruner: str | None = None,
               heartbeat_interval: int = 10, grace_period: int = 30, seed: int | None = None,
               log=print) -> optuna.Study:
    url = storage_url or default_storage(spec)
    storage = make_storage(url, heartbeat_interval, grace_period)
    study = optuna.create_study(study_name=spec.name, storage=storage, sampler=make_sampler(spec, seed),
                                pruner=make_pruner(spec, pruner), direction=spec.direction, load_if_exists=True)
    with warnings.catch_warnings():  # stable since Optuna 3.2, still flagged experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # the objective's name in optuna-dashboard and the study's exports (else "Objective 0" / "value")
        study.set_metric_names([spec.metric])
    grid_size = len(spec.grid()) if spec.method == "grid" else None
    budget = spec.run_cap or grid_size or 10
    if grid_size is not None:
        budget = min(budget, grid_size)
    objective = objective_for(spec, study)
    while True:
        with warnings.catch_warnings():  # stable since Optuna 2.9, still flagged experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # a dead worker's trial goes back in the queue
        if grid_size is not None:
            done, running, waiting = _grid_state(study)
            if done >= budget:
                break
            if not waiting and done + running >= budget:
                time.sleep(min(heartbeat_interval, 5))  # the rest is running elsewhere; watch for deaths
                continue
        else:
            finished = [t for t in study.get_trials(deepcopy=False) if t.state in FINISHED]
            if len(finished) >= budget:
                break
        before = {t.number for t in study.get_trials(deepcopy=False)}
        study.optimize(objective, n_trials=1, catch=())
        for t in study.get_trials(deepcopy=False):
            if t.number not in before:
                log(trial_line(spec, t, budget))
    return study


def trial_line(spec: SweepSpec, t, budget: int) -> str:
    params = ", ".join(f"{k}={decode_value(v)}" for k, v in t.params.items())
    if t.user_attrs.get("duplicate_of") is not None:
        return f"[sweep {spec.name}] trial {t.number}: {params} already taken by trial {t.user_attrs['duplicate_of']}"
    value = "" if t.value is None else f" → {spec.metric}={t.value:.4f}"
    wall = t.user_attrs.get("wall_time_s")
    return (f"[sweep {spec.name}] trial {t.number} ({budget} planned): {params} {t.state.name.lower()}{value}"
            + (f" in {wall:.0f} s" if wall else ""))
