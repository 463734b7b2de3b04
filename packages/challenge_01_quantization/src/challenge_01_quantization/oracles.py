"""Reference computations from trusted libraries, used by the tests and the benchmark's checks
(not a TODO): torch.ao's observers give the qparams, torch's fake-quantize ops the codes, and a
worst-case error bound judges an INT8 linear layer whatever kernel it uses.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver


def int_range(bits: int) -> tuple[int, int]:
    """(qmin, qmax) of a signed ``bits``-bit integer."""
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def torch_qparams(
    lo: Tensor, hi: Tensor, *, bits: int = 8, symmetric: bool = True
) -> tuple[Tensor, Tensor]:
    """Task 1's answer by torch.ao's observers, with our integer range. Symmetric uses the
    restricted range [-qmax, qmax], so torch's scale is max|x| / qmax, like ours.

    Args:
        lo, hi: 0-d or (C,) float tensors.

    Returns:
        (scale float32, zero_point int32) of lo's shape.
    """
    qmin, qmax = int_range(bits)
    if symmetric:
        qscheme = torch.per_channel_symmetric if lo.dim() else torch.per_tensor_symmetric
        quant_min = -qmax
    else:
        qscheme = torch.per_channel_affine if lo.dim() else torch.per_tensor_affine
        quant_min = qmin
    kwargs: dict[str, Any] = {
        "dtype": torch.qint8,
        "qscheme": qscheme,
        "quant_min": quant_min,
        "quant_max": qmax,
    }
    observer = (
        PerChannelMinMaxObserver(ch_axis=0, **kwargs) if lo.dim() else MinMaxObserver(**kwargs)
    )
    observer(torch.stack([lo, hi], dim=-1).float())  # (C, 2) or (2,): exactly min and max
    scale, zero = observer.calculate_qparams()
    return scale.reshape(lo.shape).float(), zero.reshape(lo.shape).to(torch.int32)


def torch_fake_quantize(
    x: Tensor, scale: Tensor, zero_point: Tensor, *, bits: int = 8, axis: int | None = None
) -> Tensor:
    """quantize-then-dequantize by torch's fused ops (rounds half to even; computes x * (1/s),
    so a value within an ulp of a tie may land one code away from x / s)."""
    qmin, qmax = int_range(bits)
    if axis is None:
        return torch.fake_quantize_per_tensor_affine(x, float(scale), int(zero_point), qmin, qmax)
    return torch.fake_quantize_per_channel_affine(
        x, scale.float(), zero_point.to(torch.int32), axis % x.dim(), qmin, qmax
    )


class MinMaxOracleObserver:
    """A calibrated 8-bit affine observer that does not depend on task 3: min/max of everything
    seen, qparams by `torch_qparams`. Task 4's tests feed it to ``QuantizedLinear.from_float``."""

    bits = 8
    symmetric = False

    def __init__(self) -> None:
        self.lo = torch.tensor(float("inf"))
        self.hi = torch.tensor(float("-inf"))

    def update(self, x: Tensor) -> None:
        self.lo = torch.minimum(self.lo, x.detach().min().float())
        self.hi = torch.maximum(self.hi, x.detach().max().float())

    def qparams(self) -> tuple[Tensor, Tensor]:
        return torch_qparams(self.lo, self.hi, bits=8, symmetric=False)


def linear_error_bound(x: Tensor, weight: Tensor, weight_step: Tensor, act_step: Tensor) -> Tensor:
    """Worst case of |y_int8 - y_float| for y = x W^T when x and W are rounded to the nearest
    step: sum_k |x_k| s_w / 2 + |w_k| s_x / 2 + s_x s_w / 4, per output, in float64.

    Args:
        x: (M, K) float input (inside the activation range: no clipping).
        weight: (N, K) float weight; weight_step: (N,) its per-channel scales.
        act_step: 0-d activation scale.

    Returns:
        (M, N) bound.
    """
    sw, sx = weight_step.double(), act_step.double()
    k = x.shape[-1]
    per_input = x.double().abs().sum(-1, keepdim=True) * sw / 2  # (M, N)
    per_weight = weight.double().abs().sum(-1) * sx / 2  # (N,)
    return per_input + per_weight + k * sx * sw / 4


def fake_quant_linear(
    x: Tensor,
    weight_q: Tensor,
    weight_scale: Tensor,
    bias: Tensor | None,
    act_scale: Tensor,
    act_zero_point: Tensor,
    *,
    bits: int = 8,
) -> Tensor:
    """What an INT8 linear layer computes, in float64 from the same codes: the input
    fake-quantized with the given qparams (0-d: per tensor, or (M, 1): per row), times the
    dequantized per-channel weight, plus the bias.

    Args:
        x: (M, K) float input (already multiplied by any SmoothQuant input scale).
        weight_q: (N, K) int8 codes; weight_scale: (N,) their scales (zero points 0).
        bias: (N,) or None.
        act_scale, act_zero_point: 0-d, or (M, 1) for per-row activation qparams.
        bits: the activation codes' width.

    Returns:
        (M, N) float64.
    """
    qmin, qmax = int_range(bits)
    rows = x.double()
    scale, zero = act_scale.double(), act_zero_point.double()
    codes = torch.clamp(torch.round(rows / scale) + zero, qmin, qmax)  # (M, K) half to even
    x_hat = (codes - zero) * scale
    w_hat = weight_q.double() * weight_scale.double()[:, None]  # (N, K)
    y = x_hat @ w_hat.t()  # (M, N)
    return y if bias is None else y + bias.double()


def activation_step_bound(act_scale: Tensor, weight_q: Tensor, weight_scale: Tensor) -> Tensor:
    """How far one activation code off (a tie rounded the other way) moves each output: s_x *
    max_k |w_hat[n, k]|, shape (M or 1, N). An implementation that rounds like the oracle
    matches it to within this; floor rounding, 7-bit codes or unquantized activations do not.
    """
    w_max = (weight_q.double().abs().amax(1) * weight_scale.double())[None, :]  # (1, N)
    return act_scale.double().reshape(-1, 1) * w_max
