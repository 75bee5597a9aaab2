"""The sandbox generated code runs in: a model's assertions are untrusted code.

The JVM that compiles and runs predictions is started inside bubblewrap (`bwrap`, Debian's
`bubblewrap` package) with:

- a read-only view of the whole system (`--ro-bind / /`), an empty private /tmp, and one
  writable folder: the JVM's work folder (sources, classes; nothing else can be written);
- its own network namespace with no interface but loopback (no connection leaves it, and the
  host's loopback services, a database on 127.0.0.1, are not reachable either), and its own
  PID, IPC, UTS and user namespaces (it sees no other process and cannot signal one);
- an environment reduced to PATH, LANG, HOME and JAVA_HOME (no inherited secret: tokens, keys);
- limits on processes and threads (RLIMIT_NPROC), on the size of a file it writes
  (RLIMIT_FSIZE) and on CPU seconds (RLIMIT_CPU);
- no root: when trident runs as root the JVM runs as `nobody` (uid/gid 65534), so files outside
  the work folder that only root may read stay unread.

What it does not do: hide files that any user may read (the ro view is the whole system), stop
a test from using CPU and memory up to those limits, or make the JVM's own output trustworthy
(trident.execution.jvm authenticates result lines with a per-run nonce and reruns classes whose
JVM died). `TRIDENT_UNSAFE_NO_SANDBOX=1` (the CLI's `--unsafe-no-sandbox`) runs the JVM without
it, for users who run trident inside a container of their own.
"""
from __future__ import annotations

import os
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

from trident.errors import TridentError

UNSAFE_ENV = "TRIDENT_UNSAFE_NO_SANDBOX"
NOBODY = 65534
# Limits: the JVM itself runs ~20 threads (each counts as a process); a test writes no big file;
# CPU seconds bound a whole long-lived JVM (the exec reward keeps one for a training run).
MAX_PROCESSES = 256
MAX_FILE_BYTES = 64 << 20
MAX_CPU_SECONDS = 3600
KEPT_ENV = ("PATH", "LANG", "JAVA_HOME")


class SandboxUnavailable(TridentError):
    """Generated code would run unconfined: the sandbox tool is missing or does not work here."""


def sandbox_enabled() -> bool:
    return os.environ.get(UNSAFE_ENV, "") not in ("1", "true", "yes")


def bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "running generated assertions needs bubblewrap (`bwrap`, Debian package bubblewrap) for its sandbox: "
            "`make setup` installs it; or pass --unsafe-no-sandbox (TRIDENT_UNSAFE_NO_SANDBOX=1) if trident "
            "itself runs in a disposable container")
    return path


@dataclass(frozen=True)
class Sandbox:
    """How to start one command confined to `work` (writable) with `visible` folders (read-only)
    that live under /tmp, which the sandbox otherwise replaces by an empty one."""

    work: Path
    visible: tuple[Path, ...] = ()

    @property
    def drops_root(self) -> bool:
        return os.geteuid() == 0

    def prepare(self) -> None:
        """Give the work folder to the unprivileged user the JVM will run as."""
        self.work.mkdir(parents=True, exist_ok=True)
        if self.drops_root:
            os.chown(self.work, NOBODY, NOBODY)

    def command(self, argv: list[str]) -> list[str]:
        home = str(self.work)
        args = [bwrap(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for folder in self.visible:
            args += ["--ro-bind", str(folder), str(folder)]
        args += ["--bind", home, home, "--chdir", home, "--unshare-all", "--die-with-parent", "--new-session",
                 "--clearenv", "--setenv", "HOME", home]
        for key in KEPT_ENV:
            if os.environ.get(key):
                args += ["--setenv", key, os.environ[key]]
        return [*args, "--", *argv]

    def preexec(self) -> None:
        """In the child before bwrap starts: limits (inherited by the JVM), then no root."""
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_CPU, (MAX_CPU_SECONDS, MAX_CPU_SECONDS))
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
        if self.drops_root:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
