"""Known wrong: with fewer kv heads than ranks, rank r takes kv head ``r % n_kv_heads``.

Round-robin looks natural, but query heads are cut in contiguous blocks, so rank r's query
heads belong to kv head ``r // (world / n_kv_heads)``: with 8 heads, 2 kv heads and 4 ranks,
rank 1 attends with kv head 1 although its query heads 2-3 use kv head 0."""

from __future__ import annotations

from prep.impl import fresh_copy

_base = fresh_copy("challenge_15_tensor_parallelism.solution")
_right = _base.head_ranges


def _head_ranges(n_heads: int, n_kv_heads: int, world_size: int, rank: int) -> tuple[range, range]:
    q, kv = _right(n_heads, n_kv_heads, world_size, rank)
    if n_kv_heads < world_size:
        kv = range(rank % n_kv_heads, rank % n_kv_heads + 1)  # the bug: round-robin
    return q, kv


vars(_base).update(head_ranges=_head_ranges)  # the module's own functions now call it
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
