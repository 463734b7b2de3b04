"""Challenge 01 - post-training quantization. Baseline: simple and obviously correct.

Same conventions as the solution (see its docstring and README task 1), none of its speed:
observers keep every value they see, the INT8 layer dequantizes its weight and runs a float
matmul on a fake-quantized input (so it measures accuracy, not integer-GEMM speed), and INT4
unpacks with plain bit operations.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from fnmatch import fnmatch
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional

from challenge_01_quantization.config import (
    ActivationMode,
    ActivationObserver,
    ObserverKind,
    QuantConfig,
)
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

EPS = float(torch.finfo(torch.float32).eps)


def _qrange(bits: int) -> tuple[int, int]:
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"bits must be an int, got {type(bits).__name__}")
    if bits < 2 or bits > 8:
        raise ValueError(f"bits must be in 2..8, got {bits}")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _need_float(name: str, t: object) -> None:
    if not isinstance(t, Tensor) or not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor")


def compute_qparams(
    min_val: Tensor, max_val: Tensor, *, bits: int = 8, symmetric: bool = True
) -> tuple[Tensor, Tensor]:
    """Scale (float32) and zero point (int32) for [min_val, max_val]; 0-d or (C,) inputs.

    Raises TypeError / ValueError as the solution does (see README task 1).
    """
    qmin, qmax = _qrange(bits)
    _need_float("min_val", min_val)
    _need_float("max_val", max_val)
    if min_val.shape != max_val.shape or min_val.dim() > 1:
        raise ValueError("min_val and max_val must have the same 0-d or 1-d shape")
    if not (torch.isfinite(min_val).all() and torch.isfinite(max_val).all()):
        raise ValueError("min_val and max_val must be finite (no NaN or inf)")
    if (min_val > max_val).any():
        raise ValueError("min_val must be <= max_val")
    lo = torch.minimum(min_val.float(), torch.zeros_like(min_val, dtype=torch.float32))
    hi = torch.maximum(max_val.float(), torch.zeros_like(max_val, dtype=torch.float32))
    if symmetric:
        scale = torch.maximum(-lo, hi) / qmax
        scale = torch.maximum(scale, torch.full_like(scale, EPS))
        return scale, torch.zeros(scale.shape, dtype=torch.int32, device=scale.device)
    scale = (hi - lo) / (qmax - qmin)
    scale = torch.maximum(scale, torch.full_like(scale, EPS))
    zero_point = qmin - torch.round(lo / scale)
    zero_point = torch.clamp(zero_point, qmin, qmax).to(torch.int32)
    return scale, zero_point


def _shaped(
    scale: Tensor, zero_point: Tensor, ndim: int, size: int, axis: int | None
) -> tuple[Tensor, Tensor]:
    """(scale, zero_point) reshaped to broadcast against a tensor with ``ndim`` dims."""
    _need_float("scale", scale)
    if not isinstance(zero_point, Tensor) or zero_point.is_floating_point():
        raise TypeError("zero_point must be an integer tensor")
    if scale.shape != zero_point.shape:
        raise ValueError("scale and zero_point must have the same shape")
    if not (scale > 0).all():
        raise ValueError("scale must be positive")
    if axis is None:
        if scale.numel() != 1:
            raise ValueError("axis=None needs a 0-d scale")
        return scale.reshape(()), zero_point.reshape(())
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} out of range for {ndim} dims")
    if scale.shape != (size,):
        raise ValueError(f"per-channel scale must have shape ({size},)")
    view = [1] * ndim
    view[axis] = size
    return scale.reshape(view), zero_point.reshape(view)


def quantize(
    x: Tensor, scale: Tensor, zero_point: Tensor, *, bits: int = 8, axis: int | None = None
) -> Tensor:
    """int8 codes clamp(round_half_even(x / scale) + zero_point, qmin, qmax)."""
    _need_float("x", x)
    qmin, qmax = _qrange(bits)
    size = x.shape[axis] if axis is not None and -x.dim() <= axis < x.dim() else 0
    s, z = _shaped(scale, zero_point, x.dim(), size, axis)
    if torch.isnan(x).any():
        raise ValueError("x contains NaN")
    q = torch.round(x.float() / s) + z
    return torch.clamp(q, qmin, qmax).to(torch.int8)


def dequantize(q: Tensor, scale: Tensor, zero_point: Tensor, *, axis: int | None = None) -> Tensor:
    """float32 (q - zero_point) * scale."""
    if not isinstance(q, Tensor) or q.is_floating_point() or q.dtype == torch.bool:
        raise TypeError("q must be an integer tensor")
    size = q.shape[axis] if axis is not None and -q.dim() <= axis < q.dim() else 0
    s, z = _shaped(scale, zero_point, q.dim(), size, axis)
    return (q.float() - z.float()) * s.float()


# --- observers: keep everything, compute exactly -------------------------------------------


class _StoringObserver:
    def __init__(self, bits: int, symmetric: bool) -> None:
        _qrange(bits)
        self.bits = bits
        self.symmetric = symmetric
        self.values: list[Tensor] = []

    def update(self, x: Tensor) -> None:
        """Store a copy of the batch."""
        _need_float("x", x)
        if x.numel() == 0:
            raise ValueError("x is empty")
        if torch.isnan(x).any():
            raise ValueError("calibration data contains NaN")
        if torch.isinf(x).any():
            raise ValueError("calibration data contains inf")
        self.values.append(x.detach().reshape(-1).float().cpu().clone())  # any device in

    def _all(self) -> Tensor:
        if not self.values:
            raise RuntimeError("the observer has seen no data: call update(x) first")
        return torch.cat(self.values)

    def _qparams(self, lo: float, hi: float) -> tuple[Tensor, Tensor]:
        return compute_qparams(
            torch.tensor(lo), torch.tensor(hi), bits=self.bits, symmetric=self.symmetric
        )


class MinMaxObserver(_StoringObserver):
    """The whole observed range."""

    def __init__(self, *, bits: int = 8, symmetric: bool = True) -> None:
        super().__init__(bits, symmetric)

    def update(self, x: Tensor) -> None:
        """Store a copy of the batch."""
        super().update(x)

    def qparams(self) -> tuple[Tensor, Tensor]:
        """qparams for [min, max] of everything seen."""
        data = self._all()
        return self._qparams(float(data.min()), float(data.max()))


class PercentileObserver(_StoringObserver):
    """Clip at the p-th percentile of |x| (symmetric) or at percentiles 100-p and p of x."""

    def __init__(self, p: float = 99.99, *, bits: int = 8, symmetric: bool = True) -> None:
        if not 0 < p <= 100:
            raise ValueError(f"p must be in (0, 100], got {p}")
        super().__init__(bits, symmetric)
        self.p = p

    def update(self, x: Tensor) -> None:
        """Store a copy of the batch."""
        super().update(x)

    def qparams(self) -> tuple[Tensor, Tensor]:
        """qparams for the percentile range of everything seen."""
        data = self._all().double().numpy()
        if self.symmetric:
            amax = float(np.percentile(np.abs(data), self.p))
            return self._qparams(-amax, amax)
        lo = float(np.percentile(data, 100 - self.p))
        hi = float(np.percentile(data, self.p))
        return self._qparams(lo, hi)


class MSEObserver(_StoringObserver):
    """Try ranges [min, max] * k / grid for k = 1..grid; keep the least squared error."""

    def __init__(self, *, bits: int = 8, symmetric: bool = True, grid: int = 100) -> None:
        if grid < 1:
            raise ValueError(f"grid must be >= 1, got {grid}")
        super().__init__(bits, symmetric)
        self.grid = grid

    def update(self, x: Tensor) -> None:
        """Store a copy of the batch."""
        super().update(x)

    def qparams(self) -> tuple[Tensor, Tensor]:
        """qparams of the candidate range with the least quantization error on the data."""
        data = self._all()
        lo, hi = min(float(data.min()), 0.0), max(float(data.max()), 0.0)
        best: tuple[float, float, float] | None = None
        for k in range(1, self.grid + 1):
            a, b = lo * k / self.grid, hi * k / self.grid
            scale, zero = self._qparams(a, b)
            error = float(
                (dequantize(quantize(data, scale, zero, bits=self.bits), scale, zero) - data)
                .pow(2)
                .sum()
            )
            if best is None or error < best[0]:
                best = (error, a, b)
        assert best is not None
        return self._qparams(best[1], best[2])


# --- INT8 linear: dequantize and use a float matmul ------------------------------------------


class QuantizedLinear(nn.Module):
    """INT8 weights (per output channel, symmetric), INT8 input (dynamic or static); computed
    here as float math on the dequantized values."""

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
            raise TypeError("weight_q must be a 2-d int8 tensor")
        self.out_features, self.in_features = weight_q.shape
        self.register_buffer("weight_q", weight_q)
        self.register_buffer("weight_scale", weight_scale.float())
        self.register_buffer("bias", bias)
        self.register_buffer("input_scale", input_scale)
        if act_qparams is None:
            self.register_buffer("act_scale", None)
            self.register_buffer("act_zero_point", None)
        else:
            self.register_buffer("act_scale", act_qparams[0].reshape(()).float())
            self.register_buffer("act_zero_point", act_qparams[1].reshape(()).to(torch.int32))

    @classmethod
    def from_float(
        cls,
        linear: nn.Linear,
        *,
        act_observer: ActivationObserver | None = None,
        input_scale: Tensor | None = None,
    ) -> QuantizedLinear:
        """Per-channel symmetric INT8 weight; static qparams from ``act_observer`` if given."""
        if not isinstance(linear, nn.Linear):
            raise TypeError("linear must be an nn.Linear")
        w = linear.weight.detach().float()
        scale, zero = compute_qparams(
            w.min(dim=1).values, w.max(dim=1).values, bits=8, symmetric=True
        )
        q = quantize(w, scale, zero, bits=8, axis=0)
        act = None
        if act_observer is not None:
            if act_observer.bits != 8:
                raise ValueError("act_observer must use 8 bits")
            act = act_observer.qparams()
        bias = None if linear.bias is None else linear.bias.detach().float().clone()
        return cls(q, scale, bias, act_qparams=act, input_scale=input_scale)

    @property
    def is_static(self) -> bool:
        """True when the activation qparams were fixed by calibration."""
        return self.act_scale is not None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"

    def dequantized_weight(self) -> Tensor:
        """(out, in) float32."""
        zero = torch.zeros(self.out_features, dtype=torch.int32, device=self.weight_scale.device)
        return dequantize(self.weight_q, self.weight_scale, zero, axis=0)

    def nbytes(self) -> int:
        """Bytes of the stored tensors."""
        total = self.weight_q.numel() + 4 * self.out_features
        if self.bias is not None:
            total += 4 * self.out_features
        if self.input_scale is not None:
            total += 4 * self.in_features
        if self.is_static:
            total += 8
        return total

    def forward(self, x: Tensor) -> Tensor:
        """Fake-quantize x (static or CPU dynamic: per tensor; CUDA dynamic: per row), then
        x_hat @ W_hat^T + b."""
        _need_float("x", x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x has {x.shape[-1]} features, expected {self.in_features}")
        x = x.float()
        if self.input_scale is not None:
            x = x * self.input_scale
        if self.act_scale is not None and self.act_zero_point is not None:
            scale, zero = self.act_scale, self.act_zero_point
            x_hat = dequantize(quantize(x, scale, zero, bits=8), scale, zero)
        elif x.is_cuda:  # dynamic on CUDA: per token (row), symmetric
            rows = x.reshape(-1, self.in_features)  # (M, in)
            amax = rows.abs().amax(1)  # (M,)
            scale, zero = compute_qparams(-amax, amax, bits=8, symmetric=True)
            codes = quantize(rows, scale, zero, bits=8, axis=0)
            x_hat = dequantize(codes, scale, zero, axis=0).reshape(x.shape)
        else:  # dynamic on CPU: per tensor, asymmetric
            scale, zero = compute_qparams(x.min(), x.max(), bits=8, symmetric=False)
            x_hat = dequantize(quantize(x, scale, zero, bits=8), scale, zero)
        return functional.linear(x_hat, self.dequantized_weight(), self.bias)


# --- whole model --------------------------------------------------------------------------------


def _observer(config: QuantConfig) -> ActivationObserver:
    if config.observer == ObserverKind.PERCENTILE:
        return PercentileObserver(config.percentile, bits=8, symmetric=False)
    if config.observer == ObserverKind.MSE:
        return MSEObserver(bits=8, symmetric=False)
    return MinMaxObserver(bits=8, symmetric=False)


def _contains_nan(value: Any) -> bool:
    if isinstance(value, Tensor):
        return bool(value.is_floating_point() and torch.isnan(value).any())
    if isinstance(value, dict):
        return any(_contains_nan(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_nan(v) for v in value)
    return False


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    if "." in name:
        parent, child = name.rsplit(".", 1)
        setattr(model.get_submodule(parent), child, module)
    else:
        setattr(model, name, module)


def _smooth(act_absmax: Tensor, weights: list[Tensor], alpha: float) -> Tensor:
    w_absmax = torch.stack([w.detach().abs().max(dim=0).values for w in weights]).max(dim=0).values
    s = act_absmax.clamp(min=1e-5) ** alpha / w_absmax.clamp(min=1e-5) ** (1 - alpha)
    s[(act_absmax <= 0) | (w_absmax <= 0)] = 1.0
    return s.clamp(1e-5, 1e5)


def quantize_model(
    model: nn.Module, calib_batches: Sequence[Any], config: QuantConfig | None = None
) -> tuple[nn.Module, QuantReport]:
    """INT8 copy of ``model`` (every non-skipped nn.Linear) and a report; see the solution."""
    if not isinstance(model, nn.Module):
        raise TypeError("model must be an nn.Module")
    if config is None:
        config = QuantConfig()
    if not isinstance(config, QuantConfig):
        raise TypeError("config must be a QuantConfig")
    if not isinstance(calib_batches, (list, tuple)):
        raise TypeError("calib_batches must be a list or tuple of batches")
    if len(calib_batches) == 0:
        raise ValueError("calib_batches must hold at least one batch")
    for i, batch in enumerate(calib_batches):
        if _contains_nan(batch):
            raise ValueError(f"calibration batch {i} contains NaN")

    model = copy.deepcopy(model).eval()
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    targets = {n: m for n, m in linears.items() if not any(fnmatch(n, p) for p in config.skip)}

    # Record every input each target layer sees (first batch's rows also kept for the report).
    def calibrate() -> dict[str, list[Tensor]]:
        seen: dict[str, list[Tensor]] = {n: [] for n in targets}

        def make_hook(name: str) -> Any:
            def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
                seen[name].append(args[0].detach().reshape(-1, args[0].shape[-1]).float().clone())

            return hook

        handles = [targets[n].register_forward_pre_hook(make_hook(n)) for n in targets]
        with torch.no_grad():
            for batch in calib_batches:
                run_model(model, batch)
        for h in handles:
            h.remove()
        return seen

    folded: set[str] = set()
    inverse: dict[str, Tensor] = {}  # 1/s applied by the INT8 layer at run time
    if config.smooth_alpha is not None and targets:
        seen = calibrate()
        absmax = {n: torch.cat(xs).abs().max(dim=0).values for n, xs in seen.items()}
        with torch.no_grad():
            for norm_name, names in layernorm_feeds(model, calib_batches[0], targets).items():
                s = _smooth(
                    absmax[names[0]], [targets[n].weight for n in names], config.smooth_alpha
                )
                gamma, beta = norm_affine(model.get_submodule(norm_name))
                gamma /= s
                if beta is not None:
                    beta /= s
                for n in names:
                    targets[n].weight *= s
                    folded.add(n)
            for n in targets:
                if n not in folded:
                    inverse[n] = 1.0 / _smooth(absmax[n], [targets[n].weight], config.smooth_alpha)

    seen = calibrate()  # the inputs after folding
    quantized: dict[str, QuantizedLinear] = {}
    errors: dict[str, float] = {}
    for n, layer in targets.items():
        observer = None
        if config.activations == ActivationMode.STATIC:
            observer = _observer(config)
            for x in seen[n]:
                observer.update(x * inverse[n] if n in inverse else x)
        source = layer
        if n in inverse:
            source = copy.deepcopy(layer)
            with torch.no_grad():
                source.weight /= inverse[n]
        quantized[n] = QuantizedLinear.from_float(
            source, act_observer=observer, input_scale=inverse.get(n)
        )
        sample = seen[n][0][:256]
        with torch.no_grad():
            errors[n] = relative_error(quantized[n](sample), layer(sample))

    sensitivity: dict[str, float] = {}
    keep: list[str] = []
    if config.keep_float > 0:
        with torch.no_grad():
            reference = [run_model(model, b) for b in calib_batches]
            for n, layer in targets.items():
                _replace(model, n, quantized[n])
                errs = [
                    relative_error(run_model(model, b), r)
                    for b, r in zip(calib_batches, reference, strict=True)
                ]
                _replace(model, n, layer)
                sensitivity[n] = sum(errs) / len(errs)
        keep = sorted(sensitivity, key=lambda n: sensitivity[n], reverse=True)[: config.keep_float]

    for n in targets:
        if n not in keep:
            _replace(model, n, quantized[n])

    layers = []
    for n, layer in linears.items():
        float_bytes = layer.weight.numel() * 4 + (
            0 if layer.bias is None else layer.bias.numel() * 4
        )
        is_q = n in targets and n not in keep
        if n in folded:
            smoothing = "layernorm"
        elif is_q and n in inverse:
            smoothing = "runtime"
        else:
            smoothing = "none"
        layers.append(
            LayerReport(
                name=n,
                quantized=is_q,
                smoothing=smoothing,
                bytes_before=float_bytes,
                bytes_after=quantized[n].nbytes() if is_q else float_bytes,
                rel_error=errors[n] if is_q else 0.0,
                sensitivity=sensitivity.get(n),
            )
        )
    return model, QuantReport(tuple(layers))


# --- INT4 weight-only -------------------------------------------------------------------------


def pack_int4(q: Tensor) -> Tensor:
    """int8 (..., n) in [-8, 7], n even -> uint8 (..., n/2); element 2i in the low nibble."""
    if not isinstance(q, Tensor) or q.dtype != torch.int8:
        raise TypeError("q must be an int8 tensor")
    if q.dim() == 0 or q.shape[-1] % 2 != 0:
        raise ValueError("q's last dimension must be even")
    if q.numel() > 0 and (q.min() < -8 or q.max() > 7):
        raise ValueError("q must hold values in [-8, 7]")
    u = (q.to(torch.int32) + 8).to(torch.uint8)
    low = u[..., 0::2]
    high = u[..., 1::2]
    return low + high * 16


def unpack_int4(packed: Tensor) -> Tensor:
    """uint8 (..., m) -> int8 (..., 2m) in [-8, 7]."""
    if not isinstance(packed, Tensor) or packed.dtype != torch.uint8:
        raise TypeError("packed must be a uint8 tensor")
    low = (packed % 16).to(torch.int32) - 8
    high = (packed // 16).to(torch.int32) - 8
    out = torch.empty(
        *packed.shape[:-1], 2 * packed.shape[-1], dtype=torch.int8, device=packed.device
    )
    out[..., 0::2] = low.to(torch.int8)
    out[..., 1::2] = high.to(torch.int8)
    return out


class Int4WeightOnlyLinear(nn.Module):
    """Group-wise asymmetric INT4 weight, float input; dequantizes on every call."""

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
            raise TypeError("packed must be a 2-d uint8 tensor")
        self.out_features = packed.shape[0]
        self.in_features = packed.shape[1] * 2
        if group_size < 1 or self.in_features % group_size != 0:
            raise ValueError("group_size must divide in_features")
        self.group_size = group_size
        self.register_buffer("packed", packed)
        self.register_buffer("scales", scales.float())
        self.register_buffer("zero_points", zero_points)
        self.register_buffer("bias", bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, group_size={self.group_size}"

    def unpack_weight(self) -> Tensor:
        """(out, in) float32."""
        q = unpack_int4(self.packed).float()  # (out, in)
        scale = self.scales.repeat_interleave(self.group_size, dim=1)  # (out, in)
        zero = self.zero_points.float().repeat_interleave(self.group_size, dim=1)
        return (q - zero) * scale

    def nbytes(self) -> int:
        """Bytes stored."""
        total = self.packed.numel() + self.scales.numel() * 4 + self.zero_points.numel()
        if self.bias is not None:
            total += self.bias.numel() * 4
        return total

    def bits_per_param(self) -> float:
        """Storage bits per weight, scales and zero points included."""
        weight_bytes = self.packed.numel() + self.scales.numel() * 4 + self.zero_points.numel()
        return weight_bytes * 8 / (self.in_features * self.out_features)

    def forward(self, x: Tensor) -> Tensor:
        """Float matmul against the dequantized weight."""
        _need_float("x", x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x has {x.shape[-1]} features, expected {self.in_features}")
        return functional.linear(
            x,
            self.unpack_weight().to(x.dtype),
            None if self.bias is None else self.bias.to(x.dtype),
        )


def quantize_int4_weight_only(linear: nn.Linear, group_size: int = 128) -> Int4WeightOnlyLinear:
    """INT4 (asymmetric, one scale and zero point per group_size inputs of a row), packed."""
    if not isinstance(linear, nn.Linear):
        raise TypeError("linear must be an nn.Linear")
    out_features, in_features = linear.weight.shape
    if group_size < 1 or in_features % group_size != 0 or in_features % 2 != 0:
        raise ValueError(f"group_size {group_size} must divide in_features {in_features}")
    n_groups = in_features // group_size
    w = linear.weight.detach().float().reshape(out_features * n_groups, group_size)
    scale, zero = compute_qparams(w.min(dim=1).values, w.max(dim=1).values, bits=4, symmetric=False)
    q = quantize(w, scale, zero, bits=4, axis=0).reshape(out_features, in_features)
    bias = None if linear.bias is None else linear.bias.detach().float().clone()
    return Int4WeightOnlyLinear(
        pack_int4(q),
        scale.reshape(out_features, n_groups),
        zero.to(torch.int8).reshape(out_features, n_groups),
        bias,
        group_size=group_size,
    )


# --- FP8: cast, then a float matmul -----------------------------------------------------------


class Float8Linear(nn.Module):
    """E4M3 weights (per output channel) and per-row E4M3 inputs, computed here as float math
    on the values the FP8 codes stand for (no FP8 GEMM)."""

    weight_fp8: Tensor
    weight_scale: Tensor
    bias: Tensor | None

    def __init__(
        self, weight_fp8: Tensor, weight_scale: Tensor, bias: Tensor | None = None
    ) -> None:
        super().__init__()
        if weight_fp8.dtype != torch.float8_e4m3fn or weight_fp8.dim() != 2:
            raise TypeError("weight_fp8 must be a 2-d float8_e4m3fn tensor")
        _need_float("weight_scale", weight_scale)
        if weight_scale.shape != (weight_fp8.shape[0],):
            raise ValueError("weight_scale must have one entry per output channel")
        if bias is not None and bias.shape != (weight_fp8.shape[0],):
            raise ValueError("bias must have one entry per output channel")
        self.out_features, self.in_features = weight_fp8.shape
        self.register_buffer("weight_fp8", weight_fp8.clone())
        self.register_buffer("weight_scale", weight_scale.float().clone())
        self.register_buffer("bias", None if bias is None else bias.float().clone())

    @classmethod
    def from_float(cls, linear: nn.Linear) -> Float8Linear:
        """Per-output-channel E4M3 weights: scale = max|W_n| / 448."""
        if not isinstance(linear, nn.Linear):
            raise TypeError("linear must be an nn.Linear")
        w = linear.weight.detach().float()
        scale = w.abs().amax(1).clamp_min(torch.finfo(torch.float32).eps) / 448.0
        codes = (w / scale[:, None]).clamp(-448.0, 448.0).to(torch.float8_e4m3fn)
        bias = None if linear.bias is None else linear.bias.detach()
        return cls(codes, scale, bias)

    def dequantized_weight(self) -> Tensor:
        """(out, in) float32."""
        return self.weight_fp8.float() * self.weight_scale[:, None]

    def nbytes(self) -> int:
        """FP8 weight + float32 scales and bias."""
        total = self.weight_fp8.numel() + 4 * self.out_features
        return total + (0 if self.bias is None else 4 * self.out_features)

    def forward(self, x: Tensor) -> Tensor:
        """Cast each row of x to E4M3 (scale max|row| / 448) and back, then a float matmul."""
        _need_float("x", x)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x has {x.shape[-1]} features, expected {self.in_features}")
        rows = x.reshape(-1, self.in_features).float()
        scale = rows.abs().amax(1, keepdim=True).clamp_min(torch.finfo(torch.float32).eps) / 448.0
        x_hat = (rows / scale).clamp(-448.0, 448.0).to(torch.float8_e4m3fn).float() * scale
        y = functional.linear(x_hat, self.dequantized_weight(), self.bias)
        return y.to(x.dtype).reshape(*x.shape[:-1], self.out_features)
