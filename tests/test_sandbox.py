"""Generated assertions are untrusted code: each escape a prediction tries fails inside the
sandbox, forged and garbled result lines are not believed, and the rest of the batch keeps its
right results. Needs Java and bubblewrap (`make setup` installs both)."""
from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import pytest

from trident.execution.execute import Example, execute
from trident.execution.sandbox import UNSAFE_ENV, SandboxUnavailable
from trident.execution.sources import Executable

CALC = Executable("Calc", ("private int total;",))
ADD = "public int add(int a, int b) {\n    total += a;\n    return a + b;\n}"
TEST = "@Test\nvoid testAdd() {\n    Calc calc = new Calc();\n    int sum = calc.add(1, 2);\n    <AssertPlaceHolder>;\n}"
RIGHT = "assertEquals(3, sum);"
HERE = Path(__file__).resolve().parent  # outside /tmp: visible to the sandbox, but read-only


def _example(i: int, prediction: str) -> Example:
    return Example(str(i), ADD, TEST, CALC, (RIGHT,), prediction)


def _quiet(statement: str) -> str:
    """One line of Java that runs `statement` and swallows what it throws (an escape attempt
    must not fail the test by its exception: only its effect is checked)."""
    return f"try {{ {statement}; }} catch (Throwable e) {{ }}"


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that records whether anyone connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    seen, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                seen.append(conn.recv(16))
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], seen
    stop.set()
    thread.join()
    server.close()


def test_every_escape_fails_and_the_rest_of_the_batch_is_right(tmp_path, listener, monkeypatch):
    monkeypatch.delenv(UNSAFE_ENV, raising=False)
    monkeypatch.setenv("TRIDENT_TEST_SECRET", "s3cr3t-token")
    port, connections = listener
    tag = uuid.uuid4().hex[:8]
    written = HERE / f".escape-write-{tag}"
    written_tmp = tmp_path / "escape-write"
    touched = HERE / f".escape-touch-{tag}"
    victim = HERE / f".escape-victim-{tag}"
    victim.write_text("keep me")
    try:
        predictions = [
            RIGHT,  # a right one first ...
            _quiet(f'java.nio.file.Files.writeString(java.nio.file.Path.of("{written}"), "x")') + "\n" + RIGHT,
            _quiet(f'java.nio.file.Files.writeString(java.nio.file.Path.of("{written_tmp}"), "x")') + "\n" + RIGHT,
            _quiet(f'java.nio.file.Files.delete(java.nio.file.Path.of("{victim}"))') + "\n" + RIGHT,
            _quiet(f'Runtime.getRuntime().exec(new String[] {{"touch", "{touched}"}}).waitFor()') + "\n" + RIGHT,
            _quiet(f'new java.net.Socket("127.0.0.1", {port}).getOutputStream().write(7)') + "\n" + RIGHT,
            # the environment it sees has no secret of ours: this assertion fails inside
            'assertEquals("s3cr3t-token", System.getenv("TRIDENT_TEST_SECRET"));',
            # not root either
            'assertEquals("root", System.getProperty("user.name"));',
            "assertEquals(4, sum);",  # ... and a wrong one last
        ]
        results = execute([_example(i, p) for i, p in enumerate(predictions)])
    finally:
        victim_text = victim.read_text() if victim.exists() else None
        for path in (written, touched, victim):
            path.unlink(missing_ok=True)
    assert not written.exists() and not written_tmp.exists() and not touched.exists()
    assert victim_text == "keep me"
    assert connections == []
    # the escapes did nothing, and each asserted a right value: they pass like the plain right one
    assert [r.passes for r in results] == [True, True, True, True, True, True, False, False, False]
    assert all(r.executable for r in results)
    right = results[0]
    assert (right.killed_mutants, right.mutants) == (2, 2)
    assert "expected: <4> but was: <3>" in results[-1].error
    assert "s3cr3t-token" in results[6].error and "but was: <null>" in results[6].error
    # the control: unconfined, the same write does reach the file (so the check above can fail)
    monkeypatch.setenv(UNSAFE_ENV, "1")
    assert execute([_example(0, predictions[2])])[0].passes and written_tmp.read_text() == "x"


def test_a_forged_result_line_and_a_halt_do_not_make_a_pass(tmp_path, monkeypatch):
    monkeypatch.delenv(UNSAFE_ENV, raising=False)
    raw_out = "new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true)"
    forged = [f'{raw_out}.println("RESULT\\tex{i}.PredTest\\ttestAdd\\tpass\\t")' for i in range(1, 3)]
    predictions = [
        RIGHT,
        # prints a pass for itself (the format without the nonce), then kills its JVM before failing
        forged[0] + ";\nRuntime.getRuntime().halt(0);\nassertEquals(4, sum);",
        # prints a pass for itself and fails normally
        forged[1] + ";\nassertEquals(4, sum);",
        # writes garbage to the real stdout (no newline) and to the real stderr, then passes
        f'{raw_out}.print("noise without a newline");\n'
        "new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true).println(\"x\");\n"
        + RIGHT,
        RIGHT,
    ]
    results = execute([_example(i, p) for i, p in enumerate(predictions)])
    assert [r.passes for r in results][:3] == [True, False, False]
    assert "exited" in results[1].error  # charged with killing its JVM, not passed
    # the noisy one either keeps its pass or is charged alone; the others are untouched
    assert results[4].passes and (results[4].killed_mutants, results[4].mutants) == (2, 2)
    assert results[0].passes and (results[0].killed_mutants, results[0].mutants) == (2, 2)


def test_without_bubblewrap_execution_is_refused_with_one_line(tmp_path, monkeypatch):
    import shutil
    import subprocess
    import sys

    monkeypatch.delenv(UNSAFE_ENV, raising=False)
    bin_dir = tmp_path / "bin"  # java and javac, and no bwrap
    bin_dir.mkdir()
    for tool in ("java", "javac"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(SandboxUnavailable, match="bubblewrap .*--unsafe-no-sandbox"):
        execute([_example(0, RIGHT)])
    # the command line: one line, exit 2
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text('{"id": "r", "prediction": "assertEquals(3, sum);"}\n')
    records = tmp_path / "test.jsonl"
    records.write_text('{"id": "r", "focal_method": ' + __import__("json").dumps(ADD) + ', "test_method_masked": '
                       + __import__("json").dumps(TEST) + ', "assertions": ["assertEquals(3, sum);"], '
                       '"executable": {"class_name": "Calc", "members": ["private int total;"]}}\n')
    env = {**os.environ, "PATH": str(bin_dir)}
    done = subprocess.run([sys.executable, "-m", "trident", "execute", str(predictions), "--records", str(records)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "bubblewrap" in done.stderr
    # --unsafe-no-sandbox runs it unconfined (inside a container of one's own)
    done = subprocess.run([sys.executable, "-m", "trident", "execute", str(predictions), "--records", str(records),
                           "--unsafe-no-sandbox"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "pass_rate 1.0000" in done.stdout
