"""Known wrong: an integer GEMM written by hand drops the activation zero point's term:
sum_k (q_x - z) q_w = q_x . q_w - z * rowsum(q_w), and the z * rowsum(q_w) correction is
missing. With centred inputs z is about 0 and it passes; with shifted ones (z far from 0)
every output is off by many steps."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")
_Layer: Any = _base.QuantizedLinear


def _integer_gemm_without_zero_point_term(self: Any, x: Tensor) -> Tensor:
    rows = x.reshape(-1, self.in_features)  # (M, K)
    if self.act_scale is None or self.act_zero_point is None:
        lo, hi = torch.aminmax(rows)
        scale, zero = _base.compute_qparams(lo, hi, bits=8, symmetric=False)
    else:
        scale, zero = self.act_scale, self.act_zero_point
    codes = _base.quantize(rows, scale, zero, bits=8)  # (M, K) int8
    acc = codes.double() @ self.weight_q.double().t()  # (M, N) q_x . q_w, exact in float64
    y = acc * scale.double() * self.weight_scale.double()  # the bug: no - z * rowsum(q_w)
    if self.bias is not None:
        y = y + self.bias.double()
    out: Tensor = y.float().reshape(*x.shape[:-1], self.out_features)
    return out


_Layer._forward_fbgemm = _integer_gemm_without_zero_point_term

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 4  # whose tests reject it: `prep verify` runs them first
