"""Known wrong: compute_qparams uses [min, max] as observed, without widening it to include 0,
and leaves the zero point unclamped: for data in [2, 5] the zero point is far below -128, so
0.0 has no code (padding and ReLU zeros come back wrong) and the zero point overflows int8."""

from __future__ import annotations

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")
_compute_qparams = _base.compute_qparams


def _qparams_not_widened(
    min_val: Tensor, max_val: Tensor, *, bits: int = 8, symmetric: bool = True
) -> tuple[Tensor, Tensor]:
    if symmetric:
        return _compute_qparams(min_val, max_val, bits=bits, symmetric=True)  # type: ignore[no-any-return]
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    lo, hi = min_val.float(), max_val.float()
    scale = torch.clamp((hi - lo) / (qmax - qmin), min=torch.finfo(torch.float32).eps)
    return scale, (qmin - torch.round(lo / scale)).to(torch.int32)  # neither widened nor clamped


vars(_base)["compute_qparams"] = _qparams_not_widened

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 1  # whose tests reject it: `prep verify` runs them first
