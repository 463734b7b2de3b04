"""Known wrong: ``generate`` reuses its preallocated cache across calls without resetting it,
so the second prompt is appended after the first one's tokens."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_07_kv_cache_attention.solution")


def _prefill_without_reset(self: Any, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
    held = int(self.cache.lengths[0])  # the bug: no self.cache.reset(); the old tokens stay
    T = input_ids.shape[1]
    past = torch.ones(attention_mask.shape[0], held, dtype=attention_mask.dtype)
    mask = torch.cat([past, attention_mask], dim=1)
    logits: Tensor = self.model(input_ids, attention_mask=mask, cache=self.cache)[:, -1]
    self.valid.zero_()
    self.valid[:, : held + T] = mask.bool()
    self.position.copy_(mask.long().sum(-1, keepdim=True))
    self.slot.fill_(held + T)
    return logits


_base._StaticDecoder.prefill = _prefill_without_reset

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 5  # whose tests reject it: `prep verify` runs them first
