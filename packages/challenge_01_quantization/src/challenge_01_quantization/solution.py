"""Challenge 01 - post-training quantization. Reference solution (production grade).

Integer conventions, shared with the starter and the baseline (README task 1):
- ``bits`` b in 2..8 stores values in the signed range [qmin, qmax] = [-2^(b-1), 2^(b-1) - 1],
  in an ``int8`` tensor.
- Symmetric: scale = max(|min|, |max|) / qmax, zero point 0 (the code -2^(b-1) stays unused, so
  +x and -x quantize to opposite codes).
- Asymmetric: the range is first widened to include 0 (so 0.0 - padding, ReLU zeros - is exact);
  scale = (max - min) / (qmax - qmin), zero point = clamp(qmin - round(min / scale), qmin, qmax).
- scale >= float32 eps (an all-zero range still gets a usable scale).
- quantize: q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax);
  dequantize: x_hat = (q - zero_point) * scale.

The INT8 linear layer computes with real integer GEMMs: on CPU PyTorch's fbgemm kernels
(``quantized::linear_dynamic`` and ``quantized::linear_with_input_q_dq_qweight_dq_output_fp32``)
fed with the weight scales computed here and the calibrated activation qparams; on CUDA two
fused Triton kernels for dynamic activations (``gpu_kernels``: per-row quantization, then an
INT8 GEMM with the rescale and bias in its epilogue) and ``torch._int_mm`` for static ones.
fbgemm is fast on every x86 CPU; ``torch._int_mm`` on a CPU is fast on some
(AVX-512 VNNI) and a fallback 30x slower than fp32 on others (AVX2), so the CPU path never uses it.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from collections.abc import Sequence
from fnmatch import fnmatch
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn import functional

from challenge_01_quantization.config import (
    ActivationMode,
    ActivationObserver,
    ObserverKind,
    QuantConfig,
)
from challenge_01_quantization.kernel_support import CompileOrEager, fbgemm_reduce_range
from challenge_01_quantization.report import LayerReport, QuantReport
from challenge_01_quantization.tracing import (
    layernorm_feeds,
    norm_affine,
    relative_error,
    run_model,
)

__all__ = [
    "Float8Linear",
    "Int4WeightOnlyLinear",
    "MSEObserver",
    "MinMaxObserver",
    "PercentileObserver",
    "QuantizedLinear",
    "compute_qparams",
    "dequantize",
    "pack_int4",
    "quantize",
    "quantize_int4_weight_only",
    "quantize_model",
    "unpack_int4",
]

_EPS = torch.finfo(torch.float32).eps  # smallest scale: an all-zero range stays usable


# ---------------------------------------------------------------------------------------------
# Task 1: scale and zero point


def _check_bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"bits must be an int, got {type(bits).__name__}")
    if not 2 <= bits <= 8:
        raise ValueError(f"bits must be in 2..8 (int8 storage), got {bits}")
    return bits


def _int_range(bits: int) -> tuple[int, int]:
    """(qmin, qmax) of a signed ``bits``-bit integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _check_float_tensor(name: str, value: object) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


def compute_qparams(
    min_val: Tensor, max_val: Tensor, *, bits: int = 8, symmetric: bool = True
) -> tuple[Tensor, Tensor]:
    """Scale and zero point that map [min_val, max_val] onto ``bits``-bit integers.

    Args:
        min_val, max_val: float tensors of the same shape: 0-d (per tensor) or (C,) (per
            channel), with min_val <= max_val elementwise, finite.
        bits: integer width, 2..8.
        symmetric: zero point 0 and scale = max(|min|, |max|) / qmax; else affine.

    Returns:
        (scale, zero_point): float32 and int32 tensors of min_val's shape.

    Raises:
        TypeError: non-tensor or non-float inputs, or bits not an int.
        ValueError: bits outside 2..8, shapes differ or are not 0-d/1-d, NaN or inf,
            min_val > max_val somewhere.
    """
    _check_bits(bits)
    _check_float_tensor("min_val", min_val)
    _check_float_tensor("max_val", max_val)
    if min_val.shape != max_val.shape:
        raise ValueError(
            f"min_val {tuple(min_val.shape)} and max_val {tuple(max_val.shape)} differ"
        )
    if min_val.dim() > 1:
        raise ValueError(
            f"min_val must be 0-d (per tensor) or 1-d (per channel), got {min_val.dim()}-d"
        )
    if not (torch.isfinite(min_val).all() and torch.isfinite(max_val).all()):
        raise ValueError("min_val and max_val must be finite (no NaN or inf)")
    if bool((min_val > max_val).any()):
        raise ValueError("min_val must be <= max_val elementwise")
    qmin, qmax = _int_range(bits)
    lo = torch.clamp(min_val.float(), max=0.0)  # widen to include 0: 0.0 is then exact
    hi = torch.clamp(max_val.float(), min=0.0)
    if symmetric:
        scale = torch.clamp(torch.maximum(-lo, hi) / qmax, min=_EPS)
        return scale, torch.zeros_like(scale, dtype=torch.int32)
    scale = torch.clamp((hi - lo) / float(qmax - qmin), min=_EPS)
    zero_point = torch.clamp(qmin - torch.round(lo / scale), qmin, qmax).to(torch.int32)
    return scale, zero_point


# ---------------------------------------------------------------------------------------------
# Task 2: quantize / dequantize


def _broadcast_qparams(
    scale: object, zero_point: object, shape: torch.Size, axis: int | None
) -> tuple[Tensor, Tensor]:
    """Validate (scale, zero_point) for a tensor of ``shape``; return them shaped to broadcast."""
    if not isinstance(scale, Tensor) or not scale.is_floating_point():
        raise TypeError("scale must be a floating-point tensor")
    if (
        not isinstance(zero_point, Tensor)
        or zero_point.is_floating_point()
        or zero_point.is_complex()
    ):
        raise TypeError("zero_point must be an integer tensor")
    if zero_point.dtype == torch.bool:
        raise TypeError("zero_point must be an integer tensor, got bool")
    if scale.shape != zero_point.shape:
        raise ValueError(
            f"scale {tuple(scale.shape)} and zero_point {tuple(zero_point.shape)} differ"
        )
    if not bool((scale > 0).all()):
        raise ValueError("scale must be positive")
    if axis is None:
        if scale.numel() != 1 or scale.dim() > 1:
            raise ValueError(
                f"axis=None quantizes per tensor and needs a 0-d scale, got shape "
                f"{tuple(scale.shape)}; pass axis= for per-channel scales"
            )
        return scale.reshape(()), zero_point.reshape(())
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"axis must be an int or None, got {type(axis).__name__}")
    ndim = len(shape)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for a {ndim}-d tensor")
    axis %= ndim
    if scale.shape != (shape[axis],):
        raise ValueError(
            f"per-channel scale must have shape ({shape[axis]},) for axis {axis}, got {tuple(scale.shape)}"
        )
    view = [1] * ndim
    view[axis] = shape[axis]
    return scale.reshape(view), zero_point.reshape(view)


def quantize(
    x: Tensor, scale: Tensor, zero_point: Tensor, *, bits: int = 8, axis: int | None = None
) -> Tensor:
    """Affine-quantize ``x``: clamp(round_half_even(x / scale) + zero_point, qmin, qmax).

    Args:
        x: float tensor, any shape, no NaN.
        scale, zero_point: 0-d (axis=None, per tensor) or (x.shape[axis],) (per channel);
            float32 and integer.
        bits: integer width, 2..8.
        axis: the channel axis of per-channel qparams, or None.

    Returns:
        int8 tensor of x's shape.

    Raises:
        TypeError: x not a float tensor, zero_point not integer, bits not an int.
        ValueError: bits outside 2..8, axis out of range, qparams of the wrong shape, scale <= 0,
            NaN in x.
    """
    _check_float_tensor("x", x)
    _check_bits(bits)
    s, z = _broadcast_qparams(scale, zero_point, x.shape, axis)
    if bool(torch.isnan(x).any()):
        raise ValueError("x contains NaN; NaN has no integer code")
    qmin, qmax = _int_range(bits)
    q = torch.round(x.float() / s.float()) + z.float()  # torch.round rounds half to even
    return q.clamp_(qmin, qmax).to(torch.int8)


def dequantize(q: Tensor, scale: Tensor, zero_point: Tensor, *, axis: int | None = None) -> Tensor:
    """Map integer codes back to float32: (q - zero_point) * scale.

    Args:
        q: integer tensor (int8 from `quantize`), any shape.
        scale, zero_point: as for `quantize`.
        axis: the channel axis of per-channel qparams, or None.

    Returns:
        float32 tensor of q's shape.

    Raises:
        TypeError: q not an integer tensor. ValueError: axis or qparam shapes wrong.
    """
    if (
        not isinstance(q, Tensor)
        or q.is_floating_point()
        or q.is_complex()
        or q.dtype == torch.bool
    ):
        raise TypeError("q must be an integer tensor")
    s, z = _broadcast_qparams(scale, zero_point, q.shape, axis)
    return (q.to(torch.int32) - z.to(torch.int32)).float() * s.float()


# ---------------------------------------------------------------------------------------------
# Task 3: calibration observers


def _check_observation(x: object) -> Tensor:
    value = _check_float_tensor("x", x)
    if value.numel() == 0:
        raise ValueError("x is empty: nothing to observe")
    flat = value.detach().reshape(-1).float()
    if bool(torch.isnan(flat).any()):
        raise ValueError("calibration data contains NaN")
    if not bool(torch.isfinite(flat).all()):
        raise ValueError("calibration data contains inf")
    return flat


class MinMaxObserver:
    """Tracks the running min and max: the whole observed range, no clipping. Batches may live on
    any device; the running range and the qparams stay on the CPU."""

    def __init__(self, *, bits: int = 8, symmetric: bool = True) -> None:
        self.bits = _check_bits(bits)
        self.symmetric = bool(symmetric)
        self._min: Tensor | None = None  # running min, 0-d float32
        self._max: Tensor | None = None

    def update(self, x: Tensor) -> None:
        """Fold one batch (any shape) into the running range."""
        lo, hi = (v.cpu() for v in torch.aminmax(_check_observation(x)))
        self._min = lo if self._min is None else torch.minimum(self._min, lo)
        self._max = hi if self._max is None else torch.maximum(self._max, hi)

    def qparams(self) -> tuple[Tensor, Tensor]:
        """(scale, zero_point), 0-d, for the observed range."""
        if self._min is None or self._max is None:
            raise RuntimeError("the observer has seen no data: call update(x) first")
        return compute_qparams(self._min, self._max, bits=self.bits, symmetric=self.symmetric)


class _HistogramObserver:
    """A histogram over [-R, R] with 2048 bins; R doubles (merging bin pairs, which is exact)
    when a batch goes beyond it, so memory is fixed however much data is observed. A batch is
    binned on its own device; the counts are kept on the CPU."""

    _BINS = 2048  # divisible by 4: doubling R keeps the old edges on new ones

    def __init__(self, *, bits: int, symmetric: bool) -> None:
        self.bits = _check_bits(bits)
        self.symmetric = bool(symmetric)
        self._hist: Tensor | None = None  # (BINS,) float64 counts over [-R, R]
        self._radius = 0.0
        self._min = math.inf
        self._max = -math.inf

    def update(self, x: Tensor) -> None:
        """Add one batch (any shape) to the histogram."""
        flat = _check_observation(x)
        lo, hi = (float(v) for v in torch.aminmax(flat))
        self._min, self._max = min(self._min, lo), max(self._max, hi)
        needed = max(abs(lo), abs(hi), 1e-12)
        if self._hist is None:
            self._radius = needed
            self._hist = torch.zeros(self._BINS, dtype=torch.float64)
        while needed > self._radius:
            quarter = self._BINS // 4
            merged = self._hist.reshape(-1, 2).sum(1)  # (BINS/2,) pairs of old bins
            self._hist = torch.zeros_like(self._hist)
            self._hist[quarter : quarter + merged.numel()] = merged
            self._radius *= 2.0
        counts = torch.histc(flat, bins=self._BINS, min=-self._radius, max=self._radius)
        self._hist += counts.double().cpu()

    def _require(self) -> Tensor:
        if self._hist is None:
            raise RuntimeError("the observer has seen no data: call update(x) first")
        return self._hist

    def _centers(self) -> Tensor:
        width = 2 * self._radius / self._BINS
        return -self._radius + width * (torch.arange(self._BINS, dtype=torch.float64) + 0.5)

    def _qparams_for(self, lo: float, hi: float) -> tuple[Tensor, Tensor]:
        return compute_qparams(
            torch.tensor(lo, dtype=torch.float32),
            torch.tensor(hi, dtype=torch.float32),
            bits=self.bits,
            symmetric=self.symmetric,
        )


def _histogram_quantile(counts: Tensor, lo: float, hi: float, q: float) -> float:
    """The ``q`` quantile (0..1) of values binned uniformly over [lo, hi] (linear in a bin)."""
    cdf = torch.cumsum(counts, 0)
    target = q * float(cdf[-1])
    index = int(
        torch.searchsorted(cdf, torch.tensor([target], dtype=cdf.dtype)).clamp(max=len(cdf) - 1)
    )
    before = float(cdf[index - 1]) if index > 0 else 0.0
    inside = float(counts[index])
    fraction = (target - before) / inside if inside > 0 else 1.0
    width = (hi - lo) / len(counts)
    return lo + width * (index + min(max(fraction, 0.0), 1.0))


class PercentileObserver(_HistogramObserver):
    """Clips the range at the ``p``-th percentile: of |x| when symmetric, else of x at both
    ends (100 - p and p). Rare outliers no longer set the scale."""

    def __init__(self, p: float = 99.99, *, bits: int = 8, symmetric: bool = True) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TypeError(f"p must be a number, got {type(p).__name__}")
        if not 0.0 < p <= 100.0:
            raise ValueError(f"p must be in (0, 100], got {p}")
        super().__init__(bits=bits, symmetric=symmetric)
        self.p = float(p)

    def update(self, x: Tensor) -> None:
        """Add one batch (any shape) to the histogram."""
        super().update(x)

    def qparams(self) -> tuple[Tensor, Tensor]:
        """(scale, zero_point), 0-d, for the clipped range."""
        hist = self._require()
        half = self._BINS // 2
        if self.symmetric:
            absolute = hist[half:] + hist[:half].flip(0)  # (BINS/2,) counts of |x| over [0, R]
            amax = _histogram_quantile(absolute, 0.0, self._radius, self.p / 100.0)
            amax = min(amax, max(abs(self._min), abs(self._max)))
            return self._qparams_for(-amax, amax)
        lo = _histogram_quantile(hist, -self._radius, self._radius, 1.0 - self.p / 100.0)
        hi = _histogram_quantile(hist, -self._radius, self._radius, self.p / 100.0)
        return self._qparams_for(max(lo, self._min), min(hi, self._max))


class MSEObserver(_HistogramObserver):
    """Searches ``grid`` clipping ranges (shrinking the observed one by k / grid, k = 1..grid)
    for the one whose quantize-dequantize error, summed over the histogram, is smallest."""

    def __init__(self, *, bits: int = 8, symmetric: bool = True, grid: int = 100) -> None:
        if isinstance(grid, bool) or not isinstance(grid, int):
            raise TypeError(f"grid must be an int, got {type(grid).__name__}")
        if grid < 1:
            raise ValueError(f"grid must be >= 1, got {grid}")
        super().__init__(bits=bits, symmetric=symmetric)
        self.grid = grid

    def update(self, x: Tensor) -> None:
        """Add one batch (any shape) to the histogram."""
        super().update(x)

    def qparams(self) -> tuple[Tensor, Tensor]:
        """(scale, zero_point), 0-d, of the range with the least squared error."""
        hist = self._require()
        occupied = hist > 0  # heavy tails leave most bins empty: skip them
        centers, hist = self._centers()[occupied], hist[occupied]  # (B,) each
        qmin, qmax = _int_range(self.bits)
        ratios = torch.arange(1, self.grid + 1, dtype=torch.float64) / self.grid  # (G,)
        lo = min(self._min, 0.0) * ratios  # (G,) candidate ranges, each including 0
        hi = max(self._max, 0.0) * ratios
        if self.symmetric:
            amax = torch.maximum(-lo, hi)
            scale = torch.clamp(amax / qmax, min=_EPS)[:, None]  # (G, 1)
            zero = torch.zeros_like(scale)
        else:
            scale = torch.clamp((hi - lo) / (qmax - qmin), min=_EPS)[:, None]
            zero = torch.clamp(qmin - torch.round(lo[:, None] / scale), qmin, qmax)
        codes = torch.clamp(torch.round(centers / scale) + zero, qmin, qmax)  # (G, B)
        error = ((codes - zero) * scale - centers).pow(2) @ hist  # (G,)
        best = int(torch.argmin(error))
        return self._qparams_for(float(lo[best]), float(hi[best]))


# ---------------------------------------------------------------------------------------------
# Task 4: the INT8 linear layer


def _quantize_rows(rows: Tensor) -> tuple[Tensor, Tensor]:
    """(M, K) float -> per-row symmetric INT8 codes (M, K) and scales (M, 1) float32."""
    x_scale = rows.abs().amax(1, keepdim=True).clamp_min(_EPS) / 127.0  # (M, 1)
    codes = torch.round(rows / x_scale).clamp(-127, 127).to(torch.int8)  # (M, K)
    return codes, x_scale


def _rescale(acc: Tensor, x_scale: Tensor, w_scale: Tensor, bias: Tensor | None) -> Tensor:
    """int32 accumulator (M, N) -> float32 output: acc * x_scale (M, 1) * w_scale (N,) + bias."""
    y = acc.float() * x_scale * w_scale  # (M, N)
    return y if bias is None else y + bias


def _dynamic_int8_linear(
    rows: Tensor, weight_t: Tensor, w_scale: Tensor, bias: Tensor | None
) -> Tensor:
    """(M, K) float rows @ INT8 weight (K, N) with per-row dynamic activation scales."""
    codes, x_scale = _quantize_rows(rows)  # (M, K) int8, (M, 1)
    acc = torch._int_mm(codes, weight_t)  # (M, N) int32
    return _rescale(acc, x_scale, w_scale, bias)


# Compiled, the quantize and rescale passes each run as one fused kernel; run one op at a time
# they cost more than the INT8 GEMM saves (see the README's GPU table).
_dynamic_int8_linear_fused = CompileOrEager(_dynamic_int8_linear)


def _triton_kernels_apply(x: Tensor) -> bool:
    """Whether `gpu_kernels` can run this input: Triton present, a row that fits in registers,
    a dtype the kernels read."""
    return (
        _triton_available()
        and x.shape[-1] <= _MAX_TRITON_ROW
        and x.dtype in (torch.float16, torch.bfloat16, torch.float32)
    )


_MAX_TRITON_ROW = 16384  # gpu_kernels.quantize_rows holds a row in registers


@functools.cache
def _triton_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("triton") is not None


@functools.cache
def _fbgemm_available() -> bool:
    return "fbgemm" in torch.backends.quantized.supported_engines or (
        "x86" in torch.backends.quantized.supported_engines
    )


def _check_linear(linear: object) -> nn.Linear:
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
    if not linear.weight.is_floating_point():
        raise TypeError(f"linear.weight must be floating point, got {linear.weight.dtype}")
    return linear


class QuantizedLinear(nn.Module):
    """y = x W^T + b with W in INT8 (per output channel, symmetric) and x quantized to INT8:
    statically from calibrated per-tensor qparams, or dynamically - per tensor (asymmetric) on
    CPU, where fbgemm's ``linear_dynamic`` takes one range per call, and per token (row,
    symmetric) on CUDA, where the scales are applied in the GEMM's epilogue. Per tensor makes a
    row's result depend on the other rows of its batch (README: measured on MiniLM).

    Buffers: ``weight_q`` (out, in) int8, ``weight_scale`` (out,) float32, ``bias`` (out,) or
    None, ``input_scale`` (in,) or None (SmoothQuant's 1/s when no LayerNorm absorbed it),
    ``act_scale``/``act_zero_point`` 0-d (static mode) or None (dynamic mode).
    """

    weight_q: Tensor
    weight_scale: Tensor
    bias: Tensor | None
    input_scale: Tensor | None
    act_scale: Tensor | None
    act_zero_point: Tensor | None

    def __init__(
        self,
        weight_q: Tensor,
        weight_scale: Tensor,
        bias: Tensor | None = None,
        *,
        act_qparams: tuple[Tensor, Tensor] | None = None,
        input_scale: Tensor | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(weight_q, Tensor) or weight_q.dtype != torch.int8 or weight_q.dim() != 2:
            raise TypeError("weight_q must be a 2-d int8 tensor (out_features, in_features)")
        out_features, in_features = weight_q.shape
        _check_float_tensor("weight_scale", weight_scale)
        if weight_scale.shape != (out_features,) or not bool((weight_scale > 0).all()):
            raise ValueError(f"weight_scale must be positive with shape ({out_features},)")
        if bias is not None and (_check_float_tensor("bias", bias).shape != (out_features,)):
            raise ValueError(f"bias must have shape ({out_features},), got {tuple(bias.shape)}")
        if input_scale is not None:
            _check_float_tensor("input_scale", input_scale)
            if input_scale.shape != (in_features,) or not bool((input_scale > 0).all()):
                raise ValueError(f"input_scale must be positive with shape ({in_features},)")
        act_scale = act_zero_point = None
        if act_qparams is not None:
            act_scale, act_zero_point = act_qparams
            _check_float_tensor("act scale", act_scale)
            if act_scale.numel() != 1 or act_zero_point.numel() != 1:
                raise ValueError("act_qparams must be per tensor (0-d scale and zero point)")
            if float(act_scale) <= 0 or not -128 <= int(act_zero_point) <= 127:
                raise ValueError("act_qparams need scale > 0 and an int8 zero point")
            act_scale = act_scale.detach().reshape(()).float()
            act_zero_point = act_zero_point.detach().reshape(()).to(torch.int32)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.register_buffer("weight_q", weight_q.detach().contiguous())
        self.register_buffer("weight_scale", weight_scale.detach().float().contiguous())
        self.register_buffer("bias", None if bias is None else bias.detach().float().contiguous())
        self.register_buffer(
            "input_scale",
            None if input_scale is None else input_scale.detach().float().contiguous(),
        )
        self.register_buffer("act_scale", act_scale)
        self.register_buffer("act_zero_point", act_zero_point)
        self._packed: Any = None  # fbgemm's prepacked weight, built on the first CPU call
        self._cuda_cache: tuple[Tensor, Tensor] | None = None  # (W^T view, row sums) for _int_mm

    @classmethod
    def from_float(
        cls,
        linear: nn.Linear,
        *,
        act_observer: ActivationObserver | None = None,
        input_scale: Tensor | None = None,
    ) -> QuantizedLinear:
        """Quantize a float ``nn.Linear``: per-channel symmetric INT8 weights, and static
        activation qparams from ``act_observer`` (already calibrated on this layer's inputs,
        8 bits, per tensor) or dynamic ones when it is None. ``input_scale`` (in,), if given,
        multiplies the input before quantization (SmoothQuant's 1/s)."""
        _check_linear(linear)
        weight = linear.weight.detach().float()  # (out, in)
        scale, zero = compute_qparams(weight.amin(1), weight.amax(1), bits=8, symmetric=True)
        weight_q = quantize(weight, scale, zero, bits=8, axis=0)  # (out, in) int8
        act = None
        if act_observer is not None:
            if act_observer.bits != 8:
                raise ValueError(f"act_observer must observe 8 bits, got {act_observer.bits}")
            act = act_observer.qparams()
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        return cls(weight_q, scale, bias, act_qparams=act, input_scale=input_scale)

    @property
    def is_static(self) -> bool:
        """True when the activation qparams were fixed by calibration."""
        return self.act_scale is not None

    def extra_repr(self) -> str:
        mode = "static" if self.is_static else "dynamic"
        smooth = ", smoothed" if self.input_scale is not None else ""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, int8 {mode}{smooth}"
        )

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._packed = self._cuda_cache = None  # new weights: repack on the next call

    def dequantized_weight(self) -> Tensor:
        """(out, in) float32: what the integer weights stand for."""
        zeros = torch.zeros_like(self.weight_scale, dtype=torch.int32)
        return dequantize(self.weight_q, self.weight_scale, zeros, axis=0)

    def nbytes(self) -> int:
        """Bytes of the stored tensors: int8 weight, scales, bias, optional scales."""
        tensors = (self.weight_q, self.weight_scale, self.bias, self.input_scale)
        total = sum(t.numel() * t.element_size() for t in tensors if t is not None)
        return total + (8 if self.is_static else 0)

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) float -> (..., out), in x's dtype (computed in float32 around INT8)."""
        _check_float_tensor("x", x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x has {x.shape[-1]} features, the layer expects {self.in_features}")
        if x.device.type == "cuda" and not self.is_static and _triton_kernels_apply(x):
            return self._forward_triton(x)
        dtype = x.dtype
        x = x.float()
        if self.input_scale is not None:
            x = x * self.input_scale  # (..., in)
        if x.device.type == "cpu" and _fbgemm_available():
            y = self._forward_fbgemm(x)
        elif x.device.type == "cuda" and self.in_features % 8 == 0 and self.out_features % 8 == 0:
            y = self._forward_int_mm(x)
        else:
            y = self._forward_dequantized(x)
        return y.to(dtype)

    def _prepacked(self) -> Any:
        if self._packed is None:
            zeros = torch.zeros(self.out_features, dtype=torch.long)
            with warnings.catch_warnings():
                # torch warns that quantized tensor types are deprecated; fbgemm's packing still
                # takes one, and this is the only place we build it.
                warnings.simplefilter("ignore", UserWarning)
                qweight = torch._make_per_channel_quantized_tensor(
                    self.weight_q, self.weight_scale.double(), zeros, 0
                )
            self._packed = torch.ops.quantized.linear_prepack(qweight, self.bias)
        return self._packed

    def _forward_fbgemm(self, x: Tensor) -> Tensor:
        packed = self._prepacked()
        saturate = fbgemm_reduce_range()  # 7-bit activations where pair sums are int16
        if self.act_scale is None or self.act_zero_point is None:
            # fbgemm picks the per-tensor affine range of this batch itself (same rule as task 1).
            dynamic: Tensor = torch.ops.quantized.linear_dynamic(x, packed, saturate)
            return dynamic
        scale, zero = float(self.act_scale), int(self.act_zero_point) + 128  # to fbgemm's uint8
        if saturate:  # same [lo, hi] on 7 bits: codes 0..127, no int16 overflow in pairs
            # fbgemm clamps codes to 0..255, not 0..127: clamp x to the calibrated range first
            x = x.clamp((0 - zero) * scale, (255 - zero) * scale)
            scale, zero = scale * 255.0 / 127.0, round(zero * 127.0 / 255.0)
        static: Tensor = torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32(
            x, scale, zero, packed
        )
        return static

    def _forward_triton(self, x: Tensor) -> Tensor:
        """Dynamic W8A8 on CUDA in two fused kernels: per-row quantization (one pass over x, in
        its own dtype), then an INT8 GEMM whose epilogue applies both scales and the bias."""
        from challenge_01_quantization import gpu_kernels

        rows = x.reshape(-1, self.in_features)  # (M, in)
        if self.input_scale is not None:
            rows = rows * self.input_scale.to(rows.dtype)
        codes, row_scales = gpu_kernels.quantize_rows(rows.contiguous())  # (M, in), (M,)
        y = gpu_kernels.int8_linear(
            codes, row_scales, self.weight_q, self.weight_scale, self.bias, x.dtype
        )  # (M, out)
        return y.reshape(*x.shape[:-1], self.out_features)

    def _forward_int_mm(self, x: Tensor) -> Tensor:
        if self._cuda_cache is None or self._cuda_cache[0].device != x.device:
            weight_t = self.weight_q.t()  # (in, out) column-major view, as cuBLASLt wants
            row_sums = self.weight_q.sum(1, dtype=torch.int32)  # (out,) for the zero point
            self._cuda_cache = (weight_t, row_sums)
        weight_t, row_sums = self._cuda_cache
        rows = x.reshape(-1, self.in_features)  # (M, in)
        m = rows.shape[0]
        if m <= 16:  # _int_mm needs more than 16 rows
            rows = functional.pad(rows, (0, 0, 0, 17 - m))
        if self.act_scale is None or self.act_zero_point is None:
            # Dynamic on GPU: per-row (per-token) symmetric scales, finer than per tensor,
            # compiled as one graph so quantize and rescale each run as one fused kernel.
            y: Tensor = _dynamic_int8_linear_fused(rows, weight_t, self.weight_scale, self.bias)
        else:
            codes = torch.round(rows / self.act_scale) + self.act_zero_point
            codes = codes.clamp_(-128, 127).to(torch.int8)
            acc = (
                torch._int_mm(codes, weight_t) - self.act_zero_point * row_sums
            )  # sum (q_x - z) q_w
            y = _rescale(acc, self.act_scale, self.weight_scale, self.bias)
        return y[:m].reshape(*x.shape[:-1], self.out_features)

    def _forward_dequantized(self, x: Tensor) -> Tensor:
        """Any other device or shape: fake-quantize the input, then a float matmul (the same
        numerics: per row on CUDA, per tensor elsewhere)."""
        if self.act_scale is not None and self.act_zero_point is not None:
            scale, zero = self.act_scale, self.act_zero_point
            x_hat = dequantize(quantize(x, scale, zero, bits=8), scale, zero)
        elif x.device.type == "cuda":
            rows = x.reshape(-1, self.in_features)  # (M, in)
            codes, row_scales = _quantize_rows(rows)  # (M, in), (M, 1)
            x_hat = (codes.float() * row_scales).reshape(x.shape)
        else:
            lo, hi = torch.aminmax(x.detach())
            scale, zero = compute_qparams(lo, hi, bits=8, symmetric=False)
            x_hat = dequantize(quantize(x, scale, zero, bits=8), scale, zero)
        return functional.linear(x_hat, self.dequantized_weight().to(x.device), self.bias)


# ---------------------------------------------------------------------------------------------
# Task 5: quantize a whole model


def _smooth_scale(act_absmax: Tensor, weights: Sequence[Tensor], alpha: float) -> Tensor:
    """SmoothQuant's per-input-channel s = max|X_j|^a / max|W_:,j|^(1-a): dividing X by s and
    multiplying W's column j by s moves the activation outliers into the weights."""
    weight_absmax = torch.stack([w.detach().abs().amax(0) for w in weights]).amax(0)  # (in,)
    s = act_absmax.clamp_min(1e-5).pow(alpha) / weight_absmax.clamp_min(1e-5).pow(1.0 - alpha)
    dead = (act_absmax <= 0) | (weight_absmax <= 0)  # a channel that never fires: leave it
    return torch.where(dead, torch.ones_like(s), s).clamp(1e-5, 1e5)


def _check_batches(calib_batches: object) -> list[Any]:
    if isinstance(calib_batches, (Tensor, str, bytes)) or not isinstance(calib_batches, Sequence):
        raise TypeError("calib_batches must be a sequence (list or tuple) of batches")
    batches = list(calib_batches)
    if not batches:
        raise ValueError("calib_batches must hold at least one batch")

    def has_nan(value: Any) -> bool:
        if isinstance(value, Tensor):
            return value.is_floating_point() and bool(torch.isnan(value).any())
        if isinstance(value, dict):
            return any(has_nan(v) for v in value.values())
        if isinstance(value, (tuple, list)):
            return any(has_nan(v) for v in value)
        return False

    for index, batch in enumerate(batches):
        if has_nan(batch):
            raise ValueError(f"calibration batch {index} contains NaN")
    return batches


def _make_observer(config: QuantConfig) -> ActivationObserver:
    if config.observer is ObserverKind.PERCENTILE:
        return PercentileObserver(config.percentile, bits=8, symmetric=False)
    if config.observer is ObserverKind.MSE:
        return MSEObserver(bits=8, symmetric=False)
    return MinMaxObserver(bits=8, symmetric=False)


_SAMPLE_ROWS = 256  # calibration rows kept per layer to measure its output error


def _observe_inputs(
    model: nn.Module,
    layers: dict[str, nn.Linear],
    batches: list[Any],
    *,
    absmax: dict[str, Tensor] | None = None,
    observers: dict[str, ActivationObserver] | None = None,
    runtime_scale: dict[str, Tensor] | None = None,
    samples: dict[str, Tensor] | None = None,
) -> None:
    """One calibration pass with forward pre-hooks on ``layers``: per-channel max|x|, observer
    updates (on the input the INT8 layer will quantize: x * 1/s) and a few input rows."""

    def hook(name: str) -> Any:
        def record(module: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0].detach()
            rows = x.reshape(-1, x.shape[-1]).float()  # (tokens, in)
            if absmax is not None:
                seen = rows.abs().amax(0)
                absmax[name] = seen if name not in absmax else torch.maximum(absmax[name], seen)
            if observers is not None and name in observers:
                scaled = (
                    rows
                    if runtime_scale is None or name not in runtime_scale
                    else rows * runtime_scale[name]
                )
                observers[name].update(scaled)
            if samples is not None and name not in samples:
                samples[name] = rows[:_SAMPLE_ROWS].clone()

        return record

    handles = [layer.register_forward_pre_hook(hook(name)) for name, layer in layers.items()]
    try:
        with torch.no_grad():
            for batch in batches:
                run_model(model, batch)
    finally:
        for handle in handles:
            handle.remove()


def _scaled_columns(layer: nn.Linear, inverse: Tensor | None) -> nn.Linear:
    """``layer`` itself, or a copy whose weight columns are multiplied by s = 1 / ``inverse``."""
    if inverse is None:
        return layer
    scaled = copy.deepcopy(layer)
    with torch.no_grad():
        scaled.weight.div_(inverse.to(scaled.weight))
    return scaled


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def _float_bytes(linear: nn.Linear) -> int:
    return sum(p.numel() * p.element_size() for p in (linear.weight, linear.bias) if p is not None)


def _sensitivity(
    model: nn.Module,
    floats: dict[str, nn.Linear],
    quantized: dict[str, QuantizedLinear],
    batches: list[Any],
) -> dict[str, float]:
    """Per layer: the model output's relative error (mean over ``batches``) with that layer
    alone swapped for its INT8 version; ``model`` is restored afterwards."""
    sensitivity: dict[str, float] = {}
    with torch.no_grad():
        reference = [run_model(model, batch) for batch in batches]
        for name, layer in floats.items():
            _set_submodule(model, name, quantized[name])
            outputs = [run_model(model, batch) for batch in batches]
            _set_submodule(model, name, layer)
            errs = [relative_error(o, r) for o, r in zip(outputs, reference, strict=True)]
            sensitivity[name] = sum(errs) / len(errs)
    return sensitivity


def quantize_model(
    model: nn.Module, calib_batches: Sequence[Any], config: QuantConfig | None = None
) -> tuple[nn.Module, QuantReport]:
    """Post-training INT8 quantization of every ``nn.Linear`` in ``model``.

    Steps: calibrate (per-channel max|x| of each layer's input), smooth (SmoothQuant scales,
    folded into the LayerNorm that feeds a layer when nothing else reads that LayerNorm, else
    applied by the layer at run time), calibrate observers (static mode), swap in
    `QuantizedLinear`, measure each layer's output error, and optionally run the sensitivity
    analysis that keeps ``config.keep_float`` layers in float.

    Args:
        model: any module; it is deep-copied, never modified.
        calib_batches: a non-empty list of batches, each a tensor, a mapping (``model(**b)``)
            or a tuple (``model(*b)``), free of NaN.
        config: the recipe (default `QuantConfig()`: dynamic INT8, smoothing alpha 0.5).

    Returns:
        (quantized copy in eval mode, report).

    Raises:
        TypeError: model not a Module, config not a QuantConfig, batches not a sequence.
        ValueError: no batches, NaN in a batch.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    config = QuantConfig() if config is None else config
    if not isinstance(config, QuantConfig):
        raise TypeError(f"config must be a QuantConfig, got {type(config).__name__}")
    batches = _check_batches(calib_batches)
    model = copy.deepcopy(model).eval()
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    targets = {n: m for n, m in linears.items() if not any(fnmatch(n, p) for p in config.skip)}

    # 1. Per-input-channel activation ranges, then SmoothQuant.
    folded: set[str] = set()
    runtime_scale: dict[str, Tensor] = {}  # layer -> 1/s it applies at run time
    if config.smooth_alpha is not None and targets:
        absmax: dict[str, Tensor] = {}
        _observe_inputs(model, targets, batches, absmax=absmax)
        with torch.no_grad():
            for norm_name, names in layernorm_feeds(model, batches[0], targets).items():
                s = _smooth_scale(
                    absmax[names[0]], [targets[n].weight for n in names], config.smooth_alpha
                )
                gamma, beta = norm_affine(model.get_submodule(norm_name))
                gamma.div_(s.to(gamma))  # the norm now emits x / s ...
                if beta is not None:
                    beta.div_(s.to(beta))
                for name in names:
                    targets[name].weight.mul_(s.to(targets[name].weight))  # ... and W absorbs s
                    folded.add(name)
            for name, layer in targets.items():
                if name not in folded:  # the float layer stays as it is; its INT8 copy gets W s
                    s = _smooth_scale(absmax[name], [layer.weight], config.smooth_alpha)
                    runtime_scale[name] = 1.0 / s

    # 2. Static observers on the inputs the INT8 layers will see; sample rows for the report.
    observers = (
        {n: _make_observer(config) for n in targets}
        if config.activations is ActivationMode.STATIC
        else {}
    )
    samples: dict[str, Tensor] = {}
    _observe_inputs(
        model, targets, batches, observers=observers, runtime_scale=runtime_scale, samples=samples
    )
    quantized = {
        name: QuantizedLinear.from_float(
            _scaled_columns(layer, runtime_scale.get(name)),
            act_observer=observers.get(name),
            input_scale=runtime_scale.get(name),
        )
        for name, layer in targets.items()
    }
    with torch.no_grad():  # both sides see the layer's real input; the float layer is exact
        errors = {
            n: relative_error(quantized[n](samples[n]), layer(samples[n]))
            for n, layer in targets.items()
        }

    # 3. Sensitivity: the model-output error with one layer at a time in INT8.
    sensitivity: dict[str, float] = {}
    keep: set[str] = set()
    if config.keep_float > 0:
        sensitivity = _sensitivity(model, targets, quantized, batches)
        keep = set(
            sorted(sensitivity, key=sensitivity.__getitem__, reverse=True)[: config.keep_float]
        )

    # 4. Swap in the INT8 layers (a float-kept one stays exact: folded or untouched).
    for name in targets:
        if name not in keep:
            _set_submodule(model, name, quantized[name])

    layers = []
    for name, layer in linears.items():
        is_q = name in targets and name not in keep
        smoothing = (
            "layernorm"
            if name in folded
            else "runtime"
            if is_q and name in runtime_scale
            else "none"
        )
        layers.append(
            LayerReport(
                name=name,
                quantized=is_q,
                smoothing=smoothing,
                bytes_before=_float_bytes(layer),
                bytes_after=quantized[name].nbytes() if is_q else _float_bytes(layer),
                rel_error=errors[name] if is_q else 0.0,
                sensitivity=sensitivity.get(name),
            )
        )
    return model.eval(), QuantReport(tuple(layers))


# ---------------------------------------------------------------------------------------------
# Task 6: INT4 weight-only, group-wise


def pack_int4(q: Tensor) -> Tensor:
    """Pack signed 4-bit codes two per byte: element 2i in the low nibble, 2i+1 in the high,
    each stored offset by 8 (so -8..7 becomes 0..15).

    Args:
        q: int8 tensor (..., n), n even, values in [-8, 7].

    Returns:
        uint8 tensor (..., n // 2).

    Raises:
        TypeError: q not int8. ValueError: odd last dimension or values outside [-8, 7].
    """
    if not isinstance(q, Tensor) or q.dtype != torch.int8:
        raise TypeError("q must be an int8 tensor")
    if q.dim() == 0 or q.shape[-1] % 2:
        raise ValueError(f"q's last dimension must be even, got shape {tuple(q.shape)}")
    if q.numel() and (int(q.min()) < -8 or int(q.max()) > 7):
        raise ValueError("q must hold 4-bit values in [-8, 7]")
    biased = (q.to(torch.int16) + 8).to(torch.uint8)  # (..., n) in 0..15
    return biased[..., 0::2] | (biased[..., 1::2] << 4)  # (..., n/2)


def unpack_int4(packed: Tensor) -> Tensor:
    """Inverse of `pack_int4`: uint8 (..., m) -> int8 (..., 2m) in [-8, 7].

    Raises:
        TypeError: packed not uint8.
    """
    if not isinstance(packed, Tensor) or packed.dtype != torch.uint8:
        raise TypeError("packed must be a uint8 tensor")
    low = (packed & 0x0F).to(torch.int8) - 8  # (..., m)
    high = (packed >> 4).to(torch.int8) - 8
    return torch.stack((low, high), dim=-1).reshape(*packed.shape[:-1], 2 * packed.shape[-1])


class Int4WeightOnlyLinear(nn.Module):
    """y = x W^T + b with W stored as group-wise asymmetric INT4, two codes per byte; the input
    stays float (weight-only: it saves memory and bandwidth, not arithmetic).

    The forward runs torch's fused INT4 kernel (tinygemm: it reads the packed codes and
    dequantizes inside the GEMM, never materialising W): ``_weight_int4pack_mm_for_cpu`` on CPU
    and ``_weight_int4pack_mm`` on CUDA, both in bfloat16 (float16 inputs stay float16 on CPU):
    a float32 input is rounded to 8 significant bits, far below the INT4 weight's own error. Both want the codes re-laid out once (cached per device) and the zero point as a
    float offset: w = (q + 8 - 8) * s - z * s, so tinygemm's ``zero`` is -z * s. Shapes the
    kernel does not take (group sizes other than 32..256, in_features not a multiple of 32 on
    CUDA) fall back to unpack + float matmul.

    Buffers: ``packed`` (out, in/2) uint8, ``scales`` (out, in/group) float32,
    ``zero_points`` (out, in/group) int8, ``bias`` (out,) or None.
    """

    packed: Tensor
    scales: Tensor
    zero_points: Tensor
    bias: Tensor | None

    def __init__(
        self,
        packed: Tensor,
        scales: Tensor,
        zero_points: Tensor,
        bias: Tensor | None = None,
        *,
        group_size: int,
    ) -> None:
        super().__init__()
        if not isinstance(packed, Tensor) or packed.dtype != torch.uint8 or packed.dim() != 2:
            raise TypeError("packed must be a 2-d uint8 tensor (out, in / 2)")
        out_features, in_features = packed.shape[0], 2 * packed.shape[1]
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
            raise ValueError(f"group_size must be a positive int, got {group_size!r}")
        if in_features % group_size:
            raise ValueError(f"group_size {group_size} must divide in_features {in_features}")
        groups = (out_features, in_features // group_size)
        _check_float_tensor("scales", scales)
        if scales.shape != groups or zero_points.shape != groups or zero_points.dtype != torch.int8:
            raise ValueError(f"scales (float) and zero_points (int8) must have shape {groups}")
        if bias is not None and _check_float_tensor("bias", bias).shape != (out_features,):
            raise ValueError(f"bias must have shape ({out_features},)")
        self.in_features, self.out_features, self.group_size = in_features, out_features, group_size
        self.register_buffer("packed", packed.detach().contiguous())
        self.register_buffer("scales", scales.detach().float().contiguous())
        self.register_buffer("zero_points", zero_points.detach().contiguous())
        self.register_buffer("bias", None if bias is None else bias.detach().float().contiguous())
        # tinygemm's copy of the weight for one (device, dtype): (packed, scales_and_zeros)
        self._tinygemm: tuple[torch.device, torch.dtype, Tensor, Tensor] | None = None
        # the last input's (device, dtype) and how it runs: tinygemm, or None (the fallback)
        self._plan: tuple[torch.device, torch.dtype, _Int4Kernel | None] | None = None

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._tinygemm = self._plan = None  # new weights: re-lay them out on the next call

    def _apply(self, fn: Any, recurse: bool = True) -> Int4WeightOnlyLinear:
        # .to(), .cuda(), .half() ...: buffers moved or cast (torch leaves _apply untyped)
        super()._apply(fn, recurse)  # type: ignore[no-untyped-call]
        self._tinygemm = self._plan = None
        return self

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"int4 weight-only, group_size={self.group_size}"
        )

    def unpack_weight(self) -> Tensor:
        """(out, in) float32: the dequantized weight."""
        codes = unpack_int4(self.packed).reshape(
            self.out_features, -1, self.group_size
        )  # (out, G, g)
        zeros = self.zero_points.to(torch.float32).unsqueeze(-1)  # (out, G, 1)
        weight = (codes.to(torch.float32) - zeros) * self.scales.unsqueeze(-1)
        return weight.reshape(self.out_features, self.in_features)

    def nbytes(self) -> int:
        """Bytes stored: packed codes, scales, zero points and bias."""
        tensors = (self.packed, self.scales, self.zero_points, self.bias)
        return sum(t.numel() * t.element_size() for t in tensors if t is not None)

    def bits_per_param(self) -> float:
        """Storage bits per weight, scales and zero points included (bias excluded)."""
        weight_bytes = self.nbytes() - (0 if self.bias is None else self.bias.numel() * 4)
        return 8.0 * weight_bytes / (self.in_features * self.out_features)

    def _kernel_dtype(self, x: Tensor) -> torch.dtype | None:
        """The dtype tinygemm computes in for ``x``, or None where it does not apply."""
        if self.group_size not in (32, 64, 128, 256) or self.out_features % 8:
            return None
        if x.device.type == "cpu" and _int4_cpu_kernel_available():
            # its float32 variant is 10x slower than its bfloat16 one: cast float32 inputs
            return x.dtype if x.dtype in (torch.bfloat16, torch.float16) else torch.bfloat16
        if x.device.type == "cuda" and self.in_features % 32 == 0:
            return torch.bfloat16 if _cuda_major(x.device) >= 8 else None
        return None

    def _tinygemm_weight(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        cached = self._tinygemm
        if cached is not None and cached[0] == device and cached[1] == dtype:
            return cached[2], cached[3]
        zeros = -self.zero_points.float() * self.scales  # (out, G) tinygemm's float offset
        # (G, out, 2): per group, each output's (scale, zero)
        scales_zeros = torch.stack([self.scales.t(), zeros.t()], dim=-1).to(device, dtype)
        if device.type == "cpu":
            codes = unpack_int4(self.packed).to(torch.int32) + 8  # (out, in) in 0..15
            packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 1)
        else:
            # tinygemm's CUDA layout takes (out, in/2) uint8 with element 2i in the HIGH nibble
            swapped = ((self.packed & 0x0F) << 4) | (self.packed >> 4)
            tiles = 8 if self.in_features % 128 == 0 else 4 if self.in_features % 64 == 0 else 2
            packed = torch.ops.aten._convert_weight_to_int4pack(swapped.to(device), tiles)
        self._tinygemm = (device, dtype, packed, scales_zeros.contiguous())
        return packed, scales_zeros

    def _make_kernel(self, x: Tensor) -> _Int4Kernel | None:
        """Everything the forward decides from x's device and dtype alone, decided once: the
        kernel, its dtype, the re-laid-out weight and the bias in the kernel's dtype."""
        kernel_dtype = self._kernel_dtype(x)
        if kernel_dtype is None:
            return None
        packed, scales_zeros = self._tinygemm_weight(x.device, kernel_dtype)
        kernel = (
            torch.ops.aten._weight_int4pack_mm_for_cpu.default
            if x.device.type == "cpu"
            else torch.ops.aten._weight_int4pack_mm.default
        )
        bias = None if self.bias is None else self.bias.to(x.device, kernel_dtype)
        return _Int4Kernel(kernel_dtype, kernel, packed, scales_zeros, bias)

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) float -> (..., out) in x's dtype: tinygemm's fused INT4 GEMM where it
        applies, else unpack, dequantize and a float matmul.

        At batch 1 the GEMV takes microseconds, so the host's per-call work is the cost: the
        device checks, the re-laid-out weight and the bias cast are cached per (device, dtype),
        and a bf16 2-d input goes to the kernel with no cast, reshape or extra output tensor."""
        _check_float_tensor("x", x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x has {x.shape[-1]} features, the layer expects {self.in_features}")
        plan = self._plan
        if plan is None or plan[0] != x.device or plan[1] != x.dtype:
            plan = self._plan = (x.device, x.dtype, self._make_kernel(x))
        kernel = plan[2]
        if kernel is None:
            weight = self.unpack_weight().to(x.device, x.dtype)
            bias = None if self.bias is None else self.bias.to(x.dtype)
            return functional.linear(x, weight, bias)
        rows = x if x.dim() == 2 else x.reshape(-1, self.in_features)  # (M, in)
        if rows.dtype != kernel.dtype:
            rows = rows.to(kernel.dtype)
        y: Tensor = kernel.op(rows, kernel.packed, self.group_size, kernel.scales_zeros)
        if kernel.bias is not None:
            y.add_(kernel.bias)  # in place on the kernel's fresh output: no second (M, out) tensor
        if y.dtype != x.dtype:
            y = y.to(x.dtype)
        return y if x.dim() == 2 else y.reshape(*x.shape[:-1], self.out_features)


class _Int4Kernel(NamedTuple):
    """How `Int4WeightOnlyLinear` runs tinygemm for inputs of one (device, dtype)."""

    dtype: torch.dtype  # the kernel's input and output dtype
    op: Any  # torch.ops.aten._weight_int4pack_mm(_for_cpu).default
    packed: Tensor  # the codes in the kernel's layout
    scales_zeros: Tensor  # (G, out, 2) per group: scale and float offset
    bias: Tensor | None  # (out,) in ``dtype``


@functools.cache
def _cuda_major(device: torch.device) -> int:
    """The compute capability's major number of a CUDA device (asked once per device)."""
    return torch.cuda.get_device_capability(device)[0]


@functools.cache
def _int4_cpu_kernel_available() -> bool:
    return hasattr(torch.ops.aten, "_weight_int4pack_mm_for_cpu")


def quantize_int4_weight_only(linear: nn.Linear, group_size: int = 128) -> Int4WeightOnlyLinear:
    """Group-wise asymmetric INT4 of ``linear``'s weight (one scale and zero point per
    ``group_size`` consecutive inputs of each output row), packed two codes per byte.

    Raises:
        TypeError: linear not an nn.Linear. ValueError: group_size not a positive divisor of
            in_features (or in_features odd).
    """
    _check_linear(linear)
    out_features, in_features = linear.weight.shape
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f"group_size must be a positive int, got {group_size!r}")
    if in_features % group_size or in_features % 2:
        raise ValueError(f"group_size {group_size} must divide in_features {in_features} (even)")
    groups = linear.weight.detach().float().reshape(-1, group_size)  # (out * G, group)
    scale, zero = compute_qparams(groups.amin(1), groups.amax(1), bits=4, symmetric=False)
    codes = quantize(groups, scale, zero, bits=4, axis=0).reshape(out_features, in_features)
    shape = (out_features, in_features // group_size)
    bias = None if linear.bias is None else linear.bias.detach().float().clone()
    return Int4WeightOnlyLinear(
        pack_int4(codes),
        scale.reshape(shape),
        zero.to(torch.int8).reshape(shape),
        bias,
        group_size=group_size,
    )


# ---------------------------------------------------------------------------------------------
# Task 7: FP8 (E4M3) weights and activations

_FP8 = torch.float8_e4m3fn
_FP8_MAX = 448.0  # largest finite E4M3 value


def _fp8_rows(rows: Tensor) -> tuple[Tensor, Tensor]:
    """(M, K) float -> E4M3 codes (M, K) and per-row scales (M, 1) float32: max|row| -> 448."""
    scale = rows.detach().abs().amax(1, keepdim=True).float().clamp_min(_EPS) / _FP8_MAX
    codes = (rows.float() / scale).clamp(-_FP8_MAX, _FP8_MAX).to(_FP8)  # rounds to nearest
    return codes, scale


class Float8Linear(nn.Module):
    """y = x W^T + b with W in FP8 E4M3 (one float32 scale per output channel, max|W_n| / 448)
    and x cast to E4M3 per row (token) at run time (max|x_m| / 448), multiplied by
    ``torch._scaled_mm`` with both scale vectors applied in its epilogue. On Hopper the FP8
    GEMM runs at twice the bf16 rate; a float format needs no zero point and no calibration,
    and its relative (not absolute) precision suits heavy-tailed activations.

    On CUDA the row cast is one fused Triton pass and the GEMM writes bfloat16; on CPU
    ``_scaled_mm`` writes float32; shapes it does not take (K or N not a multiple of 16) run
    the same numerics as a float matmul.

    Buffers: ``weight_fp8`` (out, in) float8_e4m3fn, ``weight_scale`` (out,) float32,
    ``bias`` (out,) float32 or None.
    """

    weight_fp8: Tensor
    weight_scale: Tensor
    bias: Tensor | None

    def __init__(
        self, weight_fp8: Tensor, weight_scale: Tensor, bias: Tensor | None = None
    ) -> None:
        super().__init__()
        if not isinstance(weight_fp8, Tensor) or weight_fp8.dtype != _FP8 or weight_fp8.dim() != 2:
            raise TypeError("weight_fp8 must be a 2-d float8_e4m3fn tensor (out, in)")
        out_features, in_features = weight_fp8.shape
        _check_float_tensor("weight_scale", weight_scale)
        if weight_scale.shape != (out_features,) or not bool((weight_scale > 0).all()):
            raise ValueError(f"weight_scale must be positive with shape ({out_features},)")
        if bias is not None and _check_float_tensor("bias", bias).shape != (out_features,):
            raise ValueError(f"bias must have shape ({out_features},), got {tuple(bias.shape)}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.register_buffer("weight_fp8", weight_fp8.detach().contiguous())
        self.register_buffer("weight_scale", weight_scale.detach().float().contiguous())
        self.register_buffer("bias", None if bias is None else bias.detach().float().contiguous())

    @classmethod
    def from_float(cls, linear: nn.Linear) -> Float8Linear:
        """Per-output-channel E4M3 weights of a float ``nn.Linear``."""
        _check_linear(linear)
        codes, scale = _fp8_rows(linear.weight.detach().float())  # (out, in), (out, 1)
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        return cls(codes, scale.squeeze(1), bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, fp8 e4m3"

    def dequantized_weight(self) -> Tensor:
        """(out, in) float32: what the FP8 weights stand for."""
        return self.weight_fp8.float() * self.weight_scale[:, None]

    def nbytes(self) -> int:
        """Bytes stored: FP8 weight, float32 scales and bias."""
        tensors = (self.weight_fp8, self.weight_scale, self.bias)
        return sum(t.numel() * t.element_size() for t in tensors if t is not None)

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) float -> (..., out) in x's dtype."""
        _check_float_tensor("x", x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x has {x.shape[-1]} features, the layer expects {self.in_features}")
        rows = x.reshape(-1, self.in_features)  # (M, in)
        if self.in_features % 16 or self.out_features % 16:
            codes, scale = _fp8_rows(rows)
            y = functional.linear(codes.float() * scale, self.dequantized_weight(), self.bias)
        elif x.device.type == "cuda":
            y = self._forward_cuda(rows)
        else:
            codes, scale = _fp8_rows(rows)
            y = torch._scaled_mm(
                codes,
                self.weight_fp8.t(),  # (in, out) column-major, as _scaled_mm wants it
                scale_a=scale,
                scale_b=self.weight_scale[None, :],
                bias=self.bias,
                out_dtype=torch.float32,
            )
        return y.to(x.dtype).reshape(*x.shape[:-1], self.out_features)

    def _forward_cuda(self, rows: Tensor) -> Tensor:
        if _triton_kernels_apply(rows):
            from challenge_01_quantization import gpu_kernels

            codes, scale = gpu_kernels.quantize_rows(rows.contiguous(), _FP8)  # (M, in), (M,)
            scale = scale[:, None]
        else:
            codes, scale = _fp8_rows(rows)
        fused_bias = self.bias is not None and _rowwise_scaled_mm_takes_bias(rows.device)
        y: Tensor = torch._scaled_mm(
            codes,
            self.weight_fp8.t(),
            scale_a=scale,
            scale_b=self.weight_scale[None, :],
            bias=self.bias.to(torch.bfloat16) if fused_bias and self.bias is not None else None,
            out_dtype=torch.bfloat16,  # row-wise scaling writes bfloat16
            use_fast_accum=True,
        )
        if self.bias is not None and not fused_bias:
            y = y + self.bias.to(y.dtype)
        return y


@functools.cache
def _rowwise_scaled_mm_takes_bias(device: torch.device) -> bool:
    """Whether this torch's row-wise scaled FP8 GEMM adds a bias in its epilogue (asked once
    per device on a 16x16 problem); where it does not, the bias is a separate add."""
    a = torch.ones(16, 16, device=device).to(_FP8)
    scale = torch.ones(16, 1, device=device)
    try:
        torch._scaled_mm(a, a.t(), scale_a=scale, scale_b=scale.t(), out_dtype=torch.bfloat16,
                         bias=torch.zeros(16, device=device, dtype=torch.bfloat16))  # fmt: skip
    except RuntimeError:
        return False
    return True
