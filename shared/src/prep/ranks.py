"""Real multi-process worlds for tests: pools of forked gloo ranks that run jobs on request.

Starting processes and a process group costs about a second, so a test session keeps one pool
of forked worker processes per world size. A test sends a job (a function defined at the top of
a test module, and its arguments) to every rank; each rank runs ``job(rank, world, *args)`` in
its own process and its own gloo group. Whatever a rank raises is raised in the test (the first
rank's error, with its rank noted), so a starter's ``NotImplementedError`` or a rank's
``AssertionError`` reads as usual.

Every job has a deadline: ranks that deadlock fail the test with ``TimeoutError`` instead of
hanging the suite (gloo's own timeout usually fires first and reads as a ``RuntimeError``).
After any failure other than a clean ``NotImplementedError``, ``ValueError`` or ``TypeError`` on
every rank, the pool is torn down and the next job gets a fresh one, so one broken collective
cannot leak into the next test. A challenge's conftest makes the session fixture::

    @pytest.fixture(scope="session")
    def worlds() -> Iterator[ranks.Worlds]:
        if not ranks.can_fork():
            pytest.skip("the rank pools fork their processes: run on Linux or macOS")
        pools = ranks.Worlds(timeout_s=6.0, deadline_s=45.0)
        yield pools
        pools.close()

torch is imported in the ranks only, so importing this module does not need it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

PG_TIMEOUT_S = 6.0  # gloo's default timeout for one collective here: test ops take milliseconds
JOB_DEADLINE_S = 45.0  # a whole job; past it the ranks are killed and the test fails
START_DEADLINE_S = 120.0  # forking the ranks and joining the group (torch's import included)
_CLEAN_ERRORS = (NotImplementedError, ValueError, TypeError)  # raised before any traffic


def can_fork() -> bool:
    """Whether this platform can fork rank processes (Linux, macOS; not Windows)."""
    return sys.platform != "win32" and "fork" in mp.get_all_start_methods()


def _worker(rank: int, world: int, store_path: str, timeout_s: float, conn: Connection) -> None:
    """One rank: join the gloo group, then run jobs until told to stop."""
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.set_debug_level_from_env()  # type: ignore[attr-defined]  # as the test set it before forking
    store = dist.FileStore(store_path, world)  # type: ignore[attr-defined]
    dist.init_process_group(
        "gloo", store=store, rank=rank, world_size=world, timeout=timedelta(seconds=timeout_s)
    )
    conn.send(("up", None))
    while True:
        message = conn.recv()
        if message is None:
            break
        job, args = message
        try:
            reply: tuple[str, Any] = ("ok", job(rank, world, *args))
        except BaseException as exc:
            try:
                reply = ("err", pickle.dumps(exc))
            except Exception:  # an unpicklable exception still reports its type and text
                reply = ("err", pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}")))
        conn.send(reply)
    dist.destroy_process_group()


class RankPool:
    """``world`` forked processes, each rank of one gloo process group."""

    def __init__(
        self, world: int, timeout_s: float = PG_TIMEOUT_S, deadline_s: float = JOB_DEADLINE_S
    ) -> None:
        self.world, self.timeout_s, self.deadline_s = world, timeout_s, deadline_s
        self._procs: list[BaseProcess] = []
        self._conns: list[Connection] = []
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def _start(self) -> None:
        context = mp.get_context("fork")
        self._tmp = tempfile.TemporaryDirectory(prefix="prep-ranks-")
        store = os.path.join(self._tmp.name, "store")
        for rank in range(self.world):
            parent, child = context.Pipe()
            proc = context.Process(
                target=_worker,
                args=(rank, self.world, store, self.timeout_s, child),
                daemon=True,
            )
            proc.start()
            child.close()
            self._procs.append(proc)
            self._conns.append(parent)
        replies = self._collect(max(self.deadline_s, START_DEADLINE_S), "start")
        if any(kind != "up" for kind, _ in replies):
            self.close()
            raise RuntimeError(f"a {self.world}-rank gloo group did not start: {replies}")

    def _collect(self, seconds: float, what: str) -> list[tuple[str, Any]]:
        deadline = time.monotonic() + seconds
        replies: list[tuple[str, Any] | None] = [None] * self.world
        while any(r is None for r in replies):
            for rank, (proc, conn) in enumerate(zip(self._procs, self._conns, strict=True)):
                if replies[rank] is not None:
                    continue
                if conn.poll(0.005):
                    try:
                        replies[rank] = conn.recv()
                    except EOFError:
                        replies[rank] = ("died", proc.exitcode)
                elif not proc.is_alive():
                    replies[rank] = ("died", proc.exitcode)
            if time.monotonic() > deadline:
                waiting = [r for r, reply in enumerate(replies) if reply is None]
                self.close()
                raise TimeoutError(
                    f"ranks {waiting} of {self.world} did not finish {what} within "
                    f"{seconds:.0f} s: a deadlock (a send, receive or collective whose peer "
                    "never posts the matching call?)"
                )
        return [r for r in replies if r is not None]

    def replies(self, job: Callable[..., Any], *args: Any) -> list[tuple[str, Any]]:
        """Run ``job(rank, world, *args)`` on every rank; return each rank's raw reply:
        ``("ok", result)``, ``("err", pickled exception)`` or ``("died", exit code)``."""
        if not self._procs:
            self._start()
        for conn in self._conns:
            conn.send((job, args))
        return self._collect(self.deadline_s, job.__name__)

    def run(self, job: Callable[..., Any], *args: Any) -> list[Any]:
        """Run ``job(rank, world, *args)`` on every rank; return each rank's result, or
        raise the first rank's exception."""
        replies = self.replies(job, *args)
        errors = [
            (rank, pickle.loads(value) if kind == "err" else None, kind)
            for rank, (kind, value) in enumerate(replies)
            if kind != "ok"
        ]
        if not errors:
            return [value for _, value in replies]
        clean = len(errors) == self.world and all(
            isinstance(exc, _CLEAN_ERRORS) for _, exc, _ in errors
        )
        if not clean:
            self.close()
        for rank, exc, _ in errors:
            if exc is not None:
                exc.add_note(f"(raised on rank {rank} of {self.world})")
                raise exc
        died = [rank for rank, _, _ in errors]
        raise RuntimeError(f"ranks {died} of {self.world} died while running {job.__name__}")

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):  # a rank that died has closed its end
                conn.send(None)
        for proc in self._procs:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=2)
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class Worlds:
    """One pool per (world size, timeout), started on first use: ``worlds(n)`` is the pool of
    ``n`` ranks (``worlds(n, timeout_s=...)`` for a group with another gloo timeout)."""

    def __init__(self, timeout_s: float = PG_TIMEOUT_S, deadline_s: float = JOB_DEADLINE_S) -> None:
        self.timeout_s, self.deadline_s = timeout_s, deadline_s
        self._pools: dict[tuple[int, float], RankPool] = {}

    def __call__(self, world: int, timeout_s: float | None = None) -> RankPool:
        key = (world, self.timeout_s if timeout_s is None else timeout_s)
        if key not in self._pools:
            self._pools[key] = RankPool(world, key[1], self.deadline_s)
        return self._pools[key]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
