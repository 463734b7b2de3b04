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

Int4WeightOnlyLinear = _base.Int4WeightOnlyLinear
MSEObserver = _base.MSEObserver
MinMaxObserver = _base.MinMaxObserver
PercentileObserver = _base.PercentileObserver
QuantizedLinear = _base.QuantizedLinear
compute_qparams = _base.compute_qparams
dequantize = _base.dequantize
pack_int4 = _base.pack_int4
quantize = _base.quantize
quantize_int4_weight_only = _base.quantize_int4_weight_only
quantize_model = _base.quantize_model
unpack_int4 = _base.unpack_int4
