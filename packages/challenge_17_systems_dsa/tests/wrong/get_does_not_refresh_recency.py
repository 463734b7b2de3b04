"""Known wrong: ``get`` returns the value but leaves the entry where it was, so a key read on
every request is still evicted as if it were never used (a FIFO cache, not an LRU)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_17_systems_dsa.solution")


def _get_without_refresh(self: Any, key: Hashable, default: Any = None) -> Any:
    with self._lock:
        entry = self._entries.get(key)
        return default if entry is None else entry.value


_base.LRUCache.get = _get_without_refresh
IMPLEMENTATION = _base

TASK = 2  # whose tests reject it: `prep verify` runs them first
