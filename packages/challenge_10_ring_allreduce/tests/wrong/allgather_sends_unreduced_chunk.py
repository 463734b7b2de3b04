"""Known wrong: the all-gather reuses the reduce-scatter's chunk schedule, so each rank starts
by sending its own chunk ``r`` (holding part of the sum) instead of chunk ``r + 1``, the one it
finished reducing. Counts still match, so nothing hangs: the result is silently wrong."""

from __future__ import annotations

from prep.impl import patched


def _all_gather_chunks(rank: int, world: int, step: int) -> tuple[int, int]:
    return (rank - step) % world, (rank - step - 1) % world  # the bug: off by one chunk


IMPLEMENTATION = patched(
    "challenge_10_ring_allreduce.solution", _all_gather_chunks=_all_gather_chunks
)

TASK = 1  # whose tests reject it: `prep verify` runs them first
