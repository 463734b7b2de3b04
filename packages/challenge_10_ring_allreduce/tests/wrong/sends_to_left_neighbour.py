"""Known wrong: every rank sends to its left neighbour and also receives from its left
neighbour. With two ranks left and right coincide and it works; with three or more, each rank
waits for a message that its left neighbour sent elsewhere - a deadlock, which the tests must
turn into a failure by timeout rather than a hung suite."""

from __future__ import annotations

from challenge_10_ring_allreduce.comm import global_rank
from torch.distributed import ProcessGroup

from prep.impl import patched


def _neighbours(group: ProcessGroup, rank: int, world: int) -> tuple[int, int]:
    left = global_rank(group, (rank - 1) % world)
    return left, left  # the bug: "right" is the left neighbour too


IMPLEMENTATION = patched("challenge_10_ring_allreduce.solution", _neighbours=_neighbours)

TASK = 1  # whose tests reject it: `prep verify` runs them first
