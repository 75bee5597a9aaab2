"""A throwaway PostgreSQL server for the tests: initdb in a temp dir, pg_ctl start on a free port.

A laptop has no server running and CI must not depend on one, so the suite starts its own
(Debian's `postgresql` package, installed by `make setup`, provides initdb and pg_ctl).
PostgreSQL refuses to run as root; as root the server runs as the `postgres` system user the
package creates.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator


class NoPostgres(RuntimeError):
    pass


def bin_dir() -> Path:
    """The newest installed server's bin folder (Debian keeps initdb off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise NoPostgres("no PostgreSQL server binaries (initdb): install Debian's `postgresql` "
                     "(`make setup` does) or set TRIDENT_TEST_PG to a server's URL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> dict:
    """subprocess arguments that drop root, which initdb and postgres insist on."""
    if os.geteuid() != 0:
        return {}
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise NoPostgres("running as root and there is no `postgres` user to run the server as") from exc
    return {"user": pw.pw_uid, "group": pw.pw_gid}


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a private server, yield its SQLAlchemy URL, stop it and delete its files."""
    bins = bin_dir()
    as_user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="trident-pg-"))
    if as_user:
        os.chown(root, as_user["user"], as_user["group"])
    data, port = root / "data", _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> None:
        proc = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, **as_user)
        if proc.returncode != 0:
            log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
            raise NoPostgres(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()} {log[-2000:]}")

    try:
        run(str(bins / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        # fsync off: a test server's durability is worth nothing, its speed is
        opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -F"
        run(str(bins / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "server.log"), "-w", "-t", "60", "start")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           cwd=root, env=env, capture_output=True, **as_user)
    finally:
        shutil.rmtree(root, ignore_errors=True)
