"""Known wrong: the causal mask is built with ``tril(diagonal=S - T - 1)``, one diagonal too
low, so no query sees its own key (and the first token of a prompt sees nothing at all)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_07_kv_cache_attention.solution")
_attention = _base.scaled_dot_product_attention


def _off_by_one(q: Tensor, k: Tensor, v: Tensor, *, mask: Any = None, is_causal: bool = False,
                scale: float | None = None) -> Tensor:  # fmt: skip
    if is_causal:
        T, S = q.shape[2], k.shape[2]
        causal = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(diagonal=S - T - 1)
        if mask is None:
            mask = causal
        elif mask.dtype == torch.bool:
            mask = mask & causal
        else:
            mask = mask.masked_fill(~causal, float("-inf"))
    return _attention(q, k, v, mask=mask, scale=scale)  # type: ignore[no-any-return]


vars(_base)["scaled_dot_product_attention"] = _off_by_one

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 1  # whose tests reject it: `prep verify` runs them first
