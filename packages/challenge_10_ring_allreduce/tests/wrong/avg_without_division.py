"""Known wrong: ``op="avg"`` reduces like ``"sum"`` and never divides by the world size (the
division was planned for "the end" and forgotten), in the ring, the tree and the averager."""

from __future__ import annotations

from torch import Tensor

from prep.impl import patched


def _average(tensor: Tensor, world: int) -> None:
    """The bug: leaves the sum as it is."""


IMPLEMENTATION = patched("challenge_10_ring_allreduce.solution", _average=_average)

TASK = 1  # whose tests reject it: `prep verify` runs them first
