"""Known wrong: flat_offset recomputes row-major strides from the shape and ignores the ones it
is given. Right for every contiguous tensor, wrong for a transposed or permuted view: the
mistake behind "my kernel reads garbage after .T"."""

from __future__ import annotations

from collections.abc import Sequence

from challenge_11_cuda_kernels import contracts

from prep.impl import patched


def _row_major_offset(coord: Sequence[int], shape: Sequence[int], strides: Sequence[int]) -> int:
    point = contracts.int_sequence(coord, "coord")
    dims = contracts.shape(shape)
    steps = contracts.int_sequence(strides, "strides")
    contracts.same_length(dims, steps, "shape", "strides")
    contracts.coordinate(point, dims)
    offset = 0
    for i, size in zip(point, dims, strict=True):
        offset = offset * size + i  # the bug: the layout is assumed, `strides` unused
    return offset


IMPLEMENTATION = patched("challenge_11_cuda_kernels.solution", flat_offset=_row_major_offset)

TASK = 6  # whose tests reject it: `prep verify` runs them first
