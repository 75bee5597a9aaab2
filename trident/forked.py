"""One function over chunks of work in forked worker processes, the results in chunk order.

For CPU-bound pure-Python work (the metrics' Java lexing and scoring) that threads cannot
spread over cores. A forked child starts with this process's memory as it is (its modules,
caches and the chunk itself), so nothing is pickled on the way in and a child starts in
milliseconds; only results are pickled back. Where fork is unavailable (macOS and Windows
default to spawn) or this process is a daemon (which may not have children), callers run
serially.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import traceback
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def available() -> bool:
    """Whether `map_forked` can fork here."""
    return "fork" in mp.get_all_start_methods() and not mp.current_process().daemon


def _child(conn, fn: Callable, chunk) -> None:
    try:
        conn.send((True, fn(chunk)))
    except BaseException:  # reported to the parent, which raises it with the child's traceback
        conn.send((False, traceback.format_exc()))
    finally:
        conn.close()


def map_forked(fn: Callable[[T], R], chunks: Sequence[T], what: str = "worker") -> list[R]:
    """[fn(chunk) for chunk in chunks]: chunks[1:] each in a forked child, chunks[0] in this
    process meanwhile. A child's exception, or a child that dies, raises here naming `what`."""
    ctx = mp.get_context("fork")
    readers, procs = [], []
    done = False
    try:
        for chunk in chunks[1:]:
            reader, writer = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(writer, fn, chunk), daemon=True)
            proc.start()
            writer.close()  # the child holds the writing end: EOF here when it dies
            readers.append(reader)
            procs.append(proc)
        results = [fn(chunks[0])] if chunks else []
        for reader, proc in zip(readers, procs):
            try:
                ok, value = reader.recv()
            except EOFError:
                proc.join()
                raise RuntimeError(f"{what} process {proc.pid} exited with code {proc.exitcode} "
                                   "before sending its results") from None
            if not ok:
                raise RuntimeError(f"{what} process {proc.pid} failed:\n{value}")
            results.append(value)
        done = True
        return results
    finally:
        for proc in procs:
            if not done:  # a failure here: the others' results are not wanted (a child may be blocked sending them)
                proc.kill()
                proc.join()
            # After its results a child only exits: not waited for, since tearing down a large
            # parent's copied address space takes as long as the fork did. multiprocessing reaps
            # it at the next start of a process, or at exit.
        for reader in readers:
            reader.close()
