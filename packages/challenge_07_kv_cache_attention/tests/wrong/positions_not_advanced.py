"""Known wrong: ``KVCache.update`` writes the new tokens but never advances the lengths, so
every decode step overwrites the previous one and attention sees the prompt plus one token."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_07_kv_cache_attention.solution")
_update = _base.KVCache.update


def _update_in_place(self: Any, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    before = list(self._lengths[layer])
    out = _update(self, layer, k, v)
    self._lengths[layer] = before  # the bug: the write position stays where it was
    return out  # type: ignore[no-any-return]


_base.KVCache.update = _update_in_place

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 3  # whose tests reject it: `prep verify` runs them first
