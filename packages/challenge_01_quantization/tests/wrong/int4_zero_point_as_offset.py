"""Known wrong: the fused INT4 kernel's (scale, zero) pairs get the integer zero point as the
"zero". tinygemm dequantizes w = (q_u - 8) * scale + zero, with zero a float offset: for our
w = (q - z) * s it must be -z * s. The stored codes and unpack_weight stay right; only the
kernel's output is off."""

from __future__ import annotations

from typing import Any

import torch

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")
_Layer: Any = _base.Int4WeightOnlyLinear
_layout = _Layer._tinygemm_weight


def _weight_with_integer_zero(self: Any, device: torch.device, dtype: torch.dtype) -> Any:
    packed, _ = _layout(self, device, dtype)
    zeros = self.zero_points.float()  # the bug: an integer zero point, not -z * s
    pairs = torch.stack([self.scales.t(), zeros.t()], dim=-1).to(device, dtype).contiguous()
    return packed, pairs


_Layer._tinygemm_weight = _weight_with_integer_zero

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 6  # whose tests reject it: `prep verify` runs them first
