"""Known wrong: the number of weights to prune is int(amount * n) - truncated, not rounded as
torch.nn.utils.prune rounds it - so 35% of 10 weights removes 3, not 4, and masks disagree
with torch's whenever amount * n has a fractional part of one half or more."""

from __future__ import annotations

from prep.impl import patched


def _truncated(amount: float, n: int) -> int:
    return int(amount * n)  # the bug: floor instead of round


IMPLEMENTATION = patched("challenge_02_pruning_sparsity.solution", _prune_count=_truncated)

TASK = 1  # whose tests reject it: `prep verify` runs them first
