"""One JVM that compiles and runs a batch of generated JUnit 5 test classes (java/tridentexec/Runner.java).

The JVM compiles every source of a batch in one in-process javac task (files that do not compile
are left out and the rest compiled again), then runs each test class with the JUnit Platform
launcher inside the same JVM: one start-up for the whole batch. A test still running at its
timeout is stopped inside the JVM; if the JVM itself hangs or dies (a prediction that calls
System.exit, say), this side kills it, records that test, and starts a new JVM for the rest.

Java 17+ (`javac`) and the jars of Debian's junit5, libassertj-core-java, libhamcrest-java and
junit4 packages are needed; `TRIDENT_JAVA_CLASSPATH` replaces the jar search.
"""
from __future__ import annotations

import hashlib
import os
import queue
import secrets
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from trident.errors import TridentError
from trident.execution.sandbox import NOBODY, Sandbox, sandbox_enabled

HARNESS = Path(__file__).parent / "java" / "tridentexec"
JAR_DIRS = (Path("/usr/share/java"),)
# jar → the Debian package that ships it
JARS = {
    "junit-platform-console-standalone.jar": "junit5",
    "assertj-core.jar": "libassertj-core-java",
    "hamcrest.jar": "libhamcrest-java",
    "junit4.jar": "junit4",
}
# Start-up and short batches matter more than peak speed: C1 only, one GC thread.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss4m", "-Xmx1g")


class JavaUnavailable(TridentError):
    """No JDK or no test jars: names what to install."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one test class: `status` is pass, fail (an assertion or the test threw),
    error (it could not run), timeout, or compile_error; `message` is the first error, one line."""

    status: str
    message: str = ""

    @property
    def compiles(self) -> bool:
        return self.status != "compile_error"

    @property
    def passes(self) -> bool:
        return self.status == "pass"


def classpath() -> str:
    if os.environ.get("TRIDENT_JAVA_CLASSPATH"):
        return os.environ["TRIDENT_JAVA_CLASSPATH"]
    found, missing = [], []
    for jar, package in JARS.items():
        hit = next((d / jar for d in JAR_DIRS if (d / jar).is_file()), None)
        (found.append(str(hit)) if hit else missing.append(f"{jar} (Debian package {package})"))
    if missing:
        raise JavaUnavailable("running generated tests needs " + ", ".join(missing)
                              + " in /usr/share/java (`make setup` installs them), or TRIDENT_JAVA_CLASSPATH")
    return os.pathsep.join(found)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise JavaUnavailable(f"running generated tests needs `{name}` (Java 17+: Debian's openjdk-17-jdk-headless)")
    return path


def _under_tmp(*paths: str | Path) -> tuple[Path, ...]:
    """Those of `paths` inside the temp folder, which the sandbox replaces by an empty one."""
    tmp = Path(tempfile.gettempdir()).resolve()
    return tuple(Path(p) for p in paths if p and Path(p).resolve().is_relative_to(tmp))


def _readable_by_all(root: Path) -> None:
    """The sandbox's unprivileged user reads the harness (mkdtemp makes its folder 0700)."""
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


def harness_classes() -> Path:
    """The compiled harness, built once per harness version and kept in the temp folder."""
    sources = sorted(HARNESS.glob("*.java"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources) + classpath().encode()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"trident-exec-harness-{digest}"
    if (out / "tridentexec" / "Runner.class").is_file():
        if out.stat().st_mode & 0o005 != 0o005:  # built by a trident from before the sandbox
            _readable_by_all(out)
        return out
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    done = subprocess.run([_tool("javac"), "-d", str(tmp), "-cp", classpath(), "-nowarn", *map(str, sources)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise JavaUnavailable(f"the execution harness does not compile: {done.stderr.strip()[:2000]}")
    _readable_by_all(tmp)
    try:
        tmp.rename(out)
    except OSError:  # another process built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


class JVM:
    """A running tridentexec.Runner, in the sandbox (trident.execution.sandbox) unless
    TRIDENT_UNSAFE_NO_SANDBOX=1. Use as a context manager; write sources under `work`
    (`workspace()`), then `compile` and `run`.

    Only lines that start with this JVM's nonce are the Runner's: it is sent on stdin when the
    JVM starts and held in the Runner's locals, so a test that prints a result line of its own (on
    System.out, or straight to file descriptor 1) cannot forge one; anything else on stdout is
    passed over."""

    def __init__(self, timeout_s: float = 5.0, workdir: str | Path | None = None):
        self.timeout_s = timeout_s
        self.restarts = 0
        self.noise_lines = 0  # stdout lines without the nonce: a test writing to the real stdout
        self.work = Path(tempfile.mkdtemp(prefix="trident-jvm-", dir=workdir))
        self.sandbox = Sandbox(self.work, _under_tmp(harness_classes(), *classpath().split(os.pathsep))) \
            if sandbox_enabled() else None
        self._classes: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue = queue.Queue()
        self._nonce = ""

    def __enter__(self) -> "JVM":
        if self.sandbox is not None:
            self.sandbox.prepare()
        self._start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def workspace(self) -> "tempfile.TemporaryDirectory[str]":
        """A folder for one batch's sources, inside the only folder the sandboxed JVM may write."""
        tmp = tempfile.TemporaryDirectory(prefix="batch-", dir=self.work)
        if self.sandbox is not None and self.sandbox.drops_root:
            os.chown(tmp.name, NOBODY, NOBODY)
        return tmp

    def _start(self) -> None:
        cp = os.pathsep.join([str(harness_classes()), classpath()])
        argv = [_tool("java"), *JVM_OPTIONS, "-XX:-UsePerfData", f"-Djava.io.tmpdir={self.work}", "-cp", cp,
                "tridentexec.Runner"]
        extra = {}
        if self.sandbox is not None:
            argv = self.sandbox.command(argv)
            extra = {"preexec_fn": self.sandbox.preexec, "env": {}}
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True, encoding="utf-8", errors="replace", bufsize=1, cwd=self.work,
                                      **extra)
        self._lines = queue.Queue()
        self._nonce = secrets.token_hex(16)
        threading.Thread(target=self._pump, args=(self._proc, self._lines), daemon=True).start()
        self._send(f"NONCE\t{self._nonce}")

    @staticmethod
    def _pump(proc: subprocess.Popen, lines: queue.Queue) -> None:
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)  # the JVM is gone

    def _next(self, timeout: float) -> str | None:
        """The Runner's next line without its nonce; None when the JVM is gone; queue.Empty
        after `timeout` s. Lines without the nonce are a test's own output: passed over."""
        prefix = self._nonce + "\t"
        while True:
            line = self._lines.get(timeout=timeout)
            if line is None or line.startswith(prefix):
                return None if line is None else line[len(prefix):]
            self.noise_lines += 1

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.stdin.write("QUIT\n")
                self._proc.stdin.flush()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
        self._proc = None

    def _send(self, line: str) -> None:
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def _restart(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
        self.restarts += 1
        self._start()
        if self._classes is not None:
            self._send(f"LOAD\t{self._classes}")

    def compile(self, sources: list[Path], classes: Path) -> dict[str, str]:
        """Compile `sources` into `classes`; returns {path: first error} for the files that do not compile."""
        listing = classes.parent / f"{classes.name}.sources"
        listing.write_text("\n".join(str(p) for p in sources) + "\n", encoding="utf-8")
        self._send(f"COMPILE\t{classes}\t{listing}")
        errors = {}
        while True:
            line = self._next(timeout=600)
            if line is None:
                raise TridentError("the Java compiler's JVM exited while compiling")
            kind, *rest = line.split("\t")
            if kind == "ERROR":
                errors[rest[0]] = rest[1] if len(rest) > 1 else ""
            elif kind == "COMPILED":
                self._classes = classes
                return errors

    def run(self, classes: list[str], variant: int = 0, timeout_s: float | None = None) -> dict[str, dict[str, Outcome]]:
        """Run compiled test classes with every focal method at mutant `variant`: class → test
        method → outcome. A class that could not run at all has the method "" only."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        results: dict[str, dict[str, Outcome]] = {}
        if not classes:
            return results
        pending = list(classes)
        one_by_one = False
        while pending:
            batch = pending[:1] if one_by_one else pending
            self._send(f"RUN\t{int(timeout_s * 1000)}\t{variant}\t" + "\t".join(batch))
            got: dict[str, dict[str, Outcome]] = {}
            while True:
                try:
                    line = self._next(timeout=timeout_s + 30)
                except queue.Empty:
                    line = None
                if line == "DONE":
                    results.update(got)
                    missing = [c for c in batch if c not in got]
                    pending = [c for c in pending if c not in batch]
                    if missing and one_by_one:  # alone, and still no result: its own doing
                        for c in missing:
                            results[c] = {"": Outcome("error", "no result from the test runner (the test wrote "
                                                               "over its output or read its input)")}
                    elif missing:
                        # A class with no result line (a test wrote over the Runner's output, or
                        # read its commands): a new JVM, and those classes again one at a time.
                        self._restart()
                        pending, one_by_one = missing + pending, True
                    break
                if line is None or line.startswith("TIMEOUT\t"):
                    # The JVM died or hung: a test called System.exit or Runtime.halt, or could not
                    # be stopped. Nothing this JVM printed in this batch is believed (a test may print
                    # a result and then halt): a new JVM runs every class of the batch again, one at a
                    # time, so only the class that kills the JVM is charged with it.
                    self._restart()
                    if one_by_one:
                        culprit = batch[0]
                    else:
                        culprit = line.split("\t")[1] if line and line.split("\t")[1] in batch else None
                    if culprit is not None:
                        results[culprit] = {"": Outcome("timeout" if line else "error",
                                                        f"still running after {timeout_s:g} s" if line
                                                        else "the JVM exited during the test")}
                    pending = [c for c in pending if c != culprit]
                    one_by_one = True
                    break
                parts = line.split("\t")
                if len(parts) >= 4 and parts[0] == "RESULT" and parts[1] in batch:
                    got.setdefault(parts[1], {})[parts[2]] = Outcome(parts[3], parts[4] if len(parts) > 4 else "")
        return results
