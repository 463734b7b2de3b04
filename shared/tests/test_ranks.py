"""prep.ranks: forked gloo worlds return each rank's result, raise a rank's error, and turn a
hang into a TimeoutError."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import torch  # imported before the ranks fork, so they do not import it again
import torch.distributed as dist

from prep import ranks

pytestmark = pytest.mark.skipif(not ranks.can_fork(), reason="the rank pools fork processes")


def _sum_of_ranks(rank: int, world: int, offset: int) -> float:
    t = torch.tensor([float(rank + offset)])
    dist.all_reduce(t)
    return float(t.item())


def _fails_on_rank_one(rank: int, world: int) -> int:
    if rank == 1:
        raise ValueError("bad argument on rank 1")
    return rank


def _hangs(rank: int, world: int) -> None:
    time.sleep(30)


@pytest.fixture(scope="module")
def worlds() -> Iterator[ranks.Worlds]:
    pools = ranks.Worlds(timeout_s=5.0, deadline_s=3.0)
    yield pools
    pools.close()


def test_every_rank_runs_the_job(worlds: ranks.Worlds) -> None:
    assert worlds(2).run(_sum_of_ranks, 10) == [21.0, 21.0]


def test_a_rank_error_is_raised_with_its_rank(worlds: ranks.Worlds) -> None:
    with pytest.raises(ValueError, match="bad argument on rank 1") as info:
        worlds(2).run(_fails_on_rank_one)
    assert "(raised on rank 1 of 2)" in (info.value.__notes__ or [])
    assert worlds(2).run(_sum_of_ranks, 0) == [1.0, 1.0]  # the pool still works afterwards


def test_a_hang_fails_at_the_deadline_and_the_next_job_gets_a_fresh_pool(
    worlds: ranks.Worlds,
) -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish _hangs within 3 s"):
        worlds(2).run(_hangs)
    assert time.monotonic() - start < 15
    assert worlds(2).run(_sum_of_ranks, 1) == [3.0, 3.0]
