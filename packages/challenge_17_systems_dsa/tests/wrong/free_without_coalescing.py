"""Known wrong: ``free`` returns the block to the free list without merging it with free
neighbours. Memory fragments into small blocks: after freeing everything, one large request
fails although every byte is free."""

from __future__ import annotations

from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_17_systems_dsa.solution")


def _free_without_coalescing(self: Any, offset: int) -> None:
    if offset not in self._allocated:
        raise ValueError(f"no allocated block starts at offset {offset!r} (double free?)")
    self._allocated.remove(offset)
    size = self._size.pop(offset)
    self._add_free(offset, size)


_base.BlockAllocator.free = _free_without_coalescing
IMPLEMENTATION = _base

TASK = 3  # whose tests reject it: `prep verify` runs them first
