"""Known wrong: QuantizedLinear.from_float uses one scale for the whole weight (the largest
row's) repeated per channel, so a single outlier row costs every other row its resolution."""

from __future__ import annotations

from typing import Any

from torch import nn

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")
_Layer: Any = _base.QuantizedLinear


def _from_float_per_tensor(
    cls: Any, linear: nn.Linear, *, act_observer: Any = None, input_scale: Any = None
) -> Any:
    weight = linear.weight.detach().float()
    scale, zero = _base.compute_qparams(weight.min(), weight.max(), bits=8, symmetric=True)
    scales = scale.expand(
        weight.shape[0]
    ).contiguous()  # the bug: per tensor, posing as per channel
    weight_q = _base.quantize(weight, scales, zero.expand(weight.shape[0]).contiguous(), axis=0)
    act = None if act_observer is None else act_observer.qparams()
    bias = None if linear.bias is None else linear.bias.detach().float().clone()
    return cls(weight_q, scales, bias, act_qparams=act, input_scale=input_scale)


_Layer.from_float = classmethod(_from_float_per_tensor)

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 4  # whose tests reject it: `prep verify` runs them first
