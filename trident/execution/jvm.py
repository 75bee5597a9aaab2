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
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from trident.errors import TridentError

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


def harness_classes() -> Path:
    """The compiled harness, built once per harness version and kept in the temp folder."""
    sources = sorted(HARNESS.glob("*.java"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources) + classpath().encode()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"trident-exec-harness-{digest}"
    if (out / "tridentexec" / "Runner.class").is_file():
        return out
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    done = subprocess.run([_tool("javac"), "-d", str(tmp), "-cp", classpath(), "-nowarn", *map(str, sources)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise JavaUnavailable(f"the execution harness does not compile: {done.stderr.strip()[:2000]}")
    try:
        tmp.rename(out)
    except OSError:  # another process built it first
        shutil.rmtree(tmp, ignore_errors=True)
    return out


class JVM:
    """A running tridentexec.Runner. Use as a context manager; `compile` then `run`."""

    def __init__(self, timeout_s: float = 5.0):
        self.timeout_s = timeout_s
        self.restarts = 0
        self._classes: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue = queue.Queue()

    def __enter__(self) -> "JVM":
        self._start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        cp = os.pathsep.join([str(harness_classes()), classpath()])
        self._proc = subprocess.Popen([_tool("java"), *JVM_OPTIONS, "-cp", cp, "tridentexec.Runner"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True, encoding="utf-8", bufsize=1)
        self._lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self._proc, self._lines), daemon=True).start()

    @staticmethod
    def _pump(proc: subprocess.Popen, lines: queue.Queue) -> None:
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)  # the JVM is gone

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
            line = self._lines.get(timeout=600)
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
            seen: set[str] = set()
            while True:
                try:
                    line = self._lines.get(timeout=timeout_s + 30)
                except queue.Empty:
                    line = None
                if line == "DONE":
                    pending = [c for c in pending if c not in batch]
                    break
                if line is None or line.startswith("TIMEOUT\t"):
                    # The JVM died or hung: a test called System.exit, or could not be stopped.
                    # Start a new one and run what has no result yet one class at a time, so
                    # only the class that kills the JVM is charged with it.
                    self._restart()
                    culprit = line.split("\t")[1] if line else (batch[0] if one_by_one else None)
                    if culprit is not None:
                        results.setdefault(culprit, {})[""] = Outcome("timeout" if line else "error",
                                                       f"still running after {timeout_s:g} s" if line
                                                       else "the JVM exited during the test")
                        seen.add(culprit)
                    pending = [c for c in pending if c not in seen]
                    one_by_one = True
                    break
                _, cls, method, status, *message = line.split("\t")
                results.setdefault(cls, {})[method] = Outcome(status, message[0] if message else "")
                seen.add(cls)
        return results
