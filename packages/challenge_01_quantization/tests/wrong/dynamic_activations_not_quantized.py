"""Known wrong: the "dynamic" INT8 layer never quantizes its activations - it multiplies the
float input by the dequantized INT8 weight. Its error is even smaller than the real thing, so a
test that only bounds the error passes it; it is weight-only INT8 posing as W8A8 (no integer
GEMM, none of its speed)."""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.nn import functional

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")
_Layer: Any = _base.QuantizedLinear
_forward = _Layer.forward


def _forward_float_activations(self: Any, x: Tensor) -> Tensor:
    if self.is_static or x.shape[-1] != self.in_features or not x.is_floating_point():
        return _forward(self, x)  # type: ignore[no-any-return]  # (its checks raise)
    scaled = x.float() if self.input_scale is None else x.float() * self.input_scale
    weight = self.dequantized_weight().to(x.device)
    return functional.linear(scaled, weight, self.bias).to(x.dtype)  # the bug: x stays float


_Layer.forward = _forward_float_activations

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 4  # whose tests reject it: `prep verify` runs them first
