"""Tasks 1-3: a rank that never joins, or dies, makes the others fail within the process
group's timeout instead of hanging."""

from __future__ import annotations

import os
import pickle
import time
from typing import Any

import pytest
import torch

from prep.impl import load

PACKAGE = "challenge_10_ring_allreduce"
TIMEOUT_S = 1.5  # the gloo group's timeout in these tests
FUNCTIONS = (
    pytest.param("naive_allreduce", marks=pytest.mark.task(2), id="naive"),
    pytest.param("ring_allreduce", marks=pytest.mark.task(1), id="ring"),
    pytest.param("tree_allreduce", marks=pytest.mark.task(3), id="tree"),
)


def job_missing_rank(rank: int, world: int, fn: str, fault: str) -> tuple[str, float]:
    """The last rank never calls the collective ("absent") or exits ("dies"); the others
    report how they ended and after how long. A starter's NotImplementedError propagates."""
    impl = load(PACKAGE)
    if rank == world - 1:
        if fault == "dies":
            os._exit(3)
        return ("absent", 0.0)
    start = time.monotonic()
    try:
        getattr(impl, fn)(torch.ones(100_000), "sum")
    except NotImplementedError:
        raise
    except Exception as exc:
        return (f"raised {type(exc).__name__}", time.monotonic() - start)
    return ("returned", time.monotonic() - start)


# Every schedule faces a rank that never joins; the ring also one that dies mid-job.
CASES = [
    *(pytest.param(*p.values, "absent", marks=p.marks, id=f"{p.id}-absent") for p in FUNCTIONS),
    pytest.param("ring_allreduce", "dies", marks=pytest.mark.task(1), id="ring-dies"),
]


@pytest.mark.parametrize(("fn", "fault"), CASES)
def test_missing_rank_raises_within_the_timeout(worlds: Any, fn: str, fault: str) -> None:
    pool = worlds(3, timeout_s=TIMEOUT_S)
    try:
        replies = pool.replies(job_missing_rank, fn, fault)
    finally:
        pool.close()  # the group is broken now: the next test gets a fresh one
    for kind, value in replies:
        if kind == "err":
            raise pickle.loads(value)
    for rank, (kind, value) in enumerate(replies[:-1]):
        assert kind == "ok", f"rank {rank}: {kind} {value}"
        how, seconds = value
        assert how.startswith("raised"), f"rank {rank} {how} although rank 2 never took part"
        # A few sequential waits may each take up to the timeout; a hang would take forever.
        assert seconds < 4 * TIMEOUT_S + 2.0, f"rank {rank} took {seconds:.1f} s to fail"
