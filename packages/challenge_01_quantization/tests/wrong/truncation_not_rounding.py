"""Known wrong: quantize truncates toward zero (``x.to(torch.int8)`` style) instead of rounding
half to even, so the round-trip error reaches a whole step instead of half of one and every
code is biased toward 0."""

from __future__ import annotations

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")


def _quantize_truncating(
    x: Tensor, scale: Tensor, zero_point: Tensor, *, bits: int = 8, axis: int | None = None
) -> Tensor:
    s, z = _base._broadcast_qparams(scale, zero_point, x.shape, axis)
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    codes: Tensor = (torch.trunc(x.float() / s) + z).clamp(qmin, qmax).to(torch.int8)  # the bug
    return codes


vars(_base)["quantize"] = _quantize_truncating  # the copy's layers and INT4 path call this one too

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 2  # whose tests reject it: `prep verify` runs them first
