"""Known wrong: all R resamples' indices (and permutation orders) drawn at once, gathered in blocks.

The gather is blocked, so it looks bounded, but the (R, n) index array is not: 4 GB at
n = 50,000 with 10,000 resamples, and 8 R (na + nb) bytes of orders for the permutation test.
The intervals and p-values are right; only the memory bound catches it.
"""

from __future__ import annotations

from collections.abc import Iterator

from prep.impl import patched


def _one_block(count: int, width: int) -> Iterator[slice]:
    yield slice(0, count)  # the bug: every resample's indices in one block


IMPLEMENTATION = patched("challenge_03_statistical_testing.solution", _index_blocks=_one_block)

TASK = 7  # whose tests reject it: `prep verify` runs them first
