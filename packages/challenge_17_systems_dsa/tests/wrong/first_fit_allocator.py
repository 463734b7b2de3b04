"""Known wrong: first fit (the lowest-offset block that fits) where best fit is specified. A
small request splits a large hole that a later large request needed."""

from __future__ import annotations

from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_17_systems_dsa.solution")


def _malloc_first_fit(self: Any, size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    rounded = -(-size // self.alignment) * self.alignment
    fits = sorted((offset, block) for block, offset in self._free if block >= rounded)
    if not fits:
        raise MemoryError(f"cannot allocate {size} bytes: largest free block is too small")
    offset, block = fits[0]
    self._remove_free(offset)
    self._size[offset] = rounded
    self._allocated.add(offset)
    if block > rounded:
        self._add_free(offset + rounded, block - rounded)
    return int(offset)


_base.BlockAllocator.malloc = _malloc_first_fit
IMPLEMENTATION = _base

TASK = 3  # whose tests reject it: `prep verify` runs them first
