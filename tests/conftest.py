import os

import pytest
from transformers import TrainerCallback

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    from trident.data.synth import write_splits

    out = tmp_path_factory.mktemp("data") / "synth"
    write_splits(out, 120, seed=0)
    return out


class StopAt(TrainerCallback):
    """Ends training after optimizer step `step`, as if the process had been stopped there."""

    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            control.should_training_stop = True


def tiny_overrides(data_dir, runs_dir, **extra) -> list[str]:
    """A pipeline small enough for the unit suite: a few optimizer steps on ~100 records."""
    values = {
        "data.dir": data_dir, "runs_dir": runs_dir, "data.max_source_len": 96, "data.max_target_len": 32,
        "model.vocab_size": 400, "tracking.wandb": "disabled", "tracking.progress": "false",
        "teacher_train.max_steps": 6, "teacher_train.batch_size": 8, "teacher_train.lr": 3e-3,
        "train.max_steps": 6, "train.batch_size": 8, "train.lr": 3e-3,
        "eval.max_new_tokens": 12, "eval.batch_size": 16,
        # the inference figures start a measuring process per run; tests that check them turn them on
        "eval.speed": "false",
    }
    values.update(extra)
    return [f"--{k}={v}" for k, v in values.items()]


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server for the multi-worker tests: TRIDENT_TEST_PG when set, otherwise a
    throwaway server this session starts (and stops) itself; a missing server is a failure."""
    url = os.environ.get("TRIDENT_TEST_PG")
    if url:
        yield url
        return
    from pgserver import NoPostgres, throwaway_postgres

    try:
        server = throwaway_postgres()
        url = server.__enter__()
    except NoPostgres as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
