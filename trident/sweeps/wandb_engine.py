"""The W&B engine: `wandb sweep FILE` registers the sweep, `wandb agent` runs its trials.

For users with a W&B account and the network; the agent runs each trial as the sweep file's
command (`trident train … --key=value`), exactly the command the Optuna engine runs
in-process (see spec.agent_command). This adapter only starts W&B's own CLI.
"""
from __future__ import annotations

import re
import shutil
import subprocess

from trident.errors import SweepError
from trident.sweeps.registry import EngineOptions
from trident.sweeps.spec import SweepSpec


def sweep_id_from(output: str) -> str:
    found = re.search(r"wandb agent (\S+)", output)
    if not found:
        raise SweepError(f"`wandb sweep` did not report a sweep id:\n{output}")
    return found.group(1)


def run(spec: SweepSpec, options: EngineOptions) -> int:
    """The `wandb` engine: register the sweep with W&B and run one agent on it."""
    return run_wandb(spec, options.project, options.entity, options.count)


def run_wandb(spec: SweepSpec, project: str, entity: str | None = None, count: int | None = None) -> int:
    exe = shutil.which("wandb")
    if exe is None:
        raise SweepError("the `wandb` command is not installed")
    cmd = [exe, "sweep", "--project", project, *(["--entity", entity] if entity else []), str(spec.path)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SweepError(f"`{' '.join(cmd)}` failed (W&B needs an account and the network; "
                         f"use the default Optuna engine offline):\n{output}")
    agent = [exe, "agent", *(["--count", str(count)] if count else []), sweep_id_from(output)]
    print("[trident] " + " ".join(agent), flush=True)
    return subprocess.run(agent).returncode
