"""Challenge 01 - post-training quantization. YOUR FILE: fill in every TODO.

Run the tests with ``uv run prep test 01`` (``--task K`` for one task) and the benchmark with
``uv run prep bench 01``. The README's "Tasks" section explains each TODO.

Integer conventions (every test relies on them):
- ``bits`` b in 2..8 stores values in the signed range [qmin, qmax] = [-2^(b-1), 2^(b-1) - 1]
  in an ``int8`` tensor (INT4 codes too, until task 6 packs them).
- Symmetric: scale = max(|min|, |max|) / qmax, zero point 0.
- Asymmetric: widen [min, max] to include 0 first (so 0.0 is exactly representable), then
  scale = (max - min) / (qmax - qmin), zero point = clamp(qmin - round(min / scale), qmin, qmax).
- Clamp every scale to at least float32 eps (``torch.finfo(torch.float32).eps``).
- quantize: q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax) (``torch.round``
  rounds half to even); dequantize: (q - zero_point) * scale, in float32.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from challenge_01_quantization.config import ActivationObserver, QuantConfig
from challenge_01_quantization.report import QuantReport

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


# ---------------------------------------------------------------------------------------------
# Task 1


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
    raise NotImplementedError(
        "TODO(01.1): compute scale and zero point, widening the range to include 0 - see README task 1"
    )


# ---------------------------------------------------------------------------------------------
# Task 2


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
    raise NotImplementedError(
        "TODO(01.2): round, shift and clamp to int8 codes - see README task 2"
    )


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
    raise NotImplementedError("TODO(01.2): map int codes back to float32 - see README task 2")


# ---------------------------------------------------------------------------------------------
# Task 3: calibration observers. Each sees any number of batches through update(x) and then
# answers qparams() for everything it has seen (per tensor: 0-d scale and zero point).
# update(x) raises TypeError for a non-float tensor and ValueError for an empty one or for NaN
# or inf in it; qparams() before any update raises RuntimeError.


class MinMaxObserver:
    """Tracks the running min and max: the whole observed range, no clipping."""

    def __init__(self, *, bits: int = 8, symmetric: bool = True) -> None:
        raise NotImplementedError(
            "TODO(01.3): store bits (check 2..8) and symmetric, start an empty range - see README task 3"
        )

    def update(self, x: Tensor) -> None:
        """Fold one batch (any shape) into the running range."""
        raise NotImplementedError("TODO(01.3): update the running min and max - see README task 3")

    def qparams(self) -> tuple[Tensor, Tensor]:
        """(scale, zero_point), 0-d, for the observed range."""
        raise NotImplementedError("TODO(01.3): qparams of the observed range - see README task 3")


class PercentileObserver:
    """Clips the range at the ``p``-th percentile: of |x| when symmetric, else of x at both
    ends (100 - p and p). Rare outliers no longer set the scale.

    Raises:
        TypeError / ValueError: p not a number in (0, 100].
    """

    def __init__(self, p: float = 99.99, *, bits: int = 8, symmetric: bool = True) -> None:
        raise NotImplementedError(
            "TODO(01.3): store p (check (0, 100]), bits and symmetric - see README task 3"
        )

    def update(self, x: Tensor) -> None:
        """Add one batch (any shape) to what the observer knows."""
        raise NotImplementedError(
            "TODO(01.3): accumulate the values (or a histogram of them) - see README task 3"
        )

    def qparams(self) -> tuple[Tensor, Tensor]:
        """(scale, zero_point), 0-d, for the clipped range."""
        raise NotImplementedError("TODO(01.3): qparams of the percentile range - see README task 3")


class MSEObserver:
    """Searches ``grid`` clipping ranges (the observed [min, max] scaled by k / grid,
    k = 1..grid) for the one whose quantize-dequantize squared error is smallest."""

    def __init__(self, *, bits: int = 8, symmetric: bool = True, grid: int = 100) -> None:
        raise NotImplementedError(
            "TODO(01.3): store bits, symmetric and grid (check grid >= 1) - see README task 3"
        )

    def update(self, x: Tensor) -> None:
        """Add one batch (any shape) to what the observer knows."""
        raise NotImplementedError(
            "TODO(01.3): accumulate the values (or a histogram of them) - see README task 3"
        )

    def qparams(self) -> tuple[Tensor, Tensor]:
        """(scale, zero_point), 0-d, of the range with the least squared error."""
        raise NotImplementedError(
            "TODO(01.3): search the clipping range with the least error - see README task 3"
        )


# ---------------------------------------------------------------------------------------------
# Task 4


class QuantizedLinear(nn.Module):
    """y = x W^T + b with W in INT8 (per output channel, symmetric) and x quantized to INT8:
    statically from calibrated per-tensor qparams, or dynamically - per tensor (asymmetric, the
    batch's own min/max) on CPU, per token (row, symmetric) on CUDA.

    Keep these as buffers (``register_buffer``), the tests read them:
    ``weight_q`` (out, in) int8, ``weight_scale`` (out,) float32, ``bias`` (out,) or None,
    ``input_scale`` (in,) or None (SmoothQuant's 1/s when no LayerNorm absorbed it),
    ``act_scale``/``act_zero_point`` 0-d (static mode) or None (dynamic mode);
    and the ints ``in_features``, ``out_features``.
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
        """Args: weight_q (out, in) int8; weight_scale (out,) float; bias (out,) or None;
        act_qparams: (scale, zero_point) 0-d, int8 range, for static mode, or None (dynamic);
        input_scale: (in,) multiplied into x before quantizing, or None.

        Raises:
            TypeError: weight_q not a 2-d int8 tensor.
        """
        raise NotImplementedError(
            "TODO(01.4): call super().__init__(), validate, register the buffers - see README task 4"
        )

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
        multiplies the input before quantization (SmoothQuant's 1/s).

        Raises:
            TypeError: linear not an nn.Linear. ValueError: act_observer.bits != 8.
        """
        raise NotImplementedError(
            "TODO(01.4): per-channel symmetric INT8 weight with tasks 1-2, static or dynamic - see README task 4"
        )

    @property
    def is_static(self) -> bool:
        """True when the activation qparams were fixed by calibration. (Given.)"""
        return self.act_scale is not None

    def extra_repr(self) -> str:
        """What print(model) shows for this layer. (Given.)"""
        mode = "static" if self.is_static else "dynamic"
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 {mode}"

    def dequantized_weight(self) -> Tensor:
        """(out, in) float32: what the integer weights stand for."""
        raise NotImplementedError("TODO(01.4): dequantize weight_q per channel - see README task 4")

    def nbytes(self) -> int:
        """Bytes of the stored tensors: int8 weight, float32 scales and bias, input_scale if
        any, and 8 for the static activation qparams."""
        raise NotImplementedError("TODO(01.4): count the stored bytes - see README task 4")

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) float -> (..., out), in x's dtype.

        Multiply by input_scale if set; quantize x (static: the act qparams; dynamic on CPU: an
        asymmetric 8-bit range from this batch's min/max - so a row's result depends on the
        other rows of its batch; dynamic on CUDA: a symmetric 8-bit scale per row, max|row| / 127);
        then an integer GEMM (CPU: ``torch.ops.quantized.linear_dynamic`` /
        ``linear_with_input_q_dq_qweight_dq_output_fp32`` with a ``linear_prepack``-ed weight;
        CUDA: ``torch._int_mm``) or, to start with, a float matmul of the dequantized values.
        The result must equal the same computation done in float on the same codes (up to a
        tie rounded the other way). On x86 CPUs where
        ``kernel_support.fbgemm_reduce_range()`` is True, fbgemm needs 7-bit activations (the
        same range on codes 0..127); elsewhere use all 8. Cache nothing keyed on ``x``.

        Raises:
            TypeError: x not a float tensor. ValueError: x.shape[-1] != in_features.
        """
        raise NotImplementedError(
            "TODO(01.4): quantize the input and run the INT8 GEMM - see README task 4"
        )


# ---------------------------------------------------------------------------------------------
# Task 5


def quantize_model(
    model: nn.Module, calib_batches: Sequence[Any], config: QuantConfig | None = None
) -> tuple[nn.Module, QuantReport]:
    """Post-training INT8 quantization of every ``nn.Linear`` in ``model``.

    Steps: calibrate (per-channel max|x| of each layer's input), smooth (SmoothQuant scales,
    folded into the LayerNorm that feeds a layer when nothing else reads that LayerNorm - see
    ``tracing.layernorm_feeds`` - else applied by the layer at run time through input_scale),
    calibrate observers (static mode), swap in `QuantizedLinear`, measure each layer's output
    error, and optionally run the sensitivity analysis that keeps ``config.keep_float`` layers
    in float.

    Args:
        model: any module; it is deep-copied, never modified.
        calib_batches: a non-empty list of batches, each a tensor, a mapping (``model(**b)``)
            or a tuple (``model(*b)``), free of NaN (``tracing.run_model`` calls the model).
        config: the recipe (default `QuantConfig()`: dynamic INT8, smoothing alpha 0.5).

    Returns:
        (quantized copy in eval mode, report).

    Raises:
        TypeError: model not a Module, config not a QuantConfig, batches not a sequence.
        ValueError: no batches, NaN in a batch.
    """
    raise NotImplementedError(
        "TODO(01.5): calibrate, smooth, swap every Linear for QuantizedLinear, report - see README task 5"
    )


# ---------------------------------------------------------------------------------------------
# Task 6


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
    raise NotImplementedError("TODO(01.6): pack two 4-bit codes per byte - see README task 6")


def unpack_int4(packed: Tensor) -> Tensor:
    """Inverse of `pack_int4`: uint8 (..., m) -> int8 (..., 2m) in [-8, 7].

    Raises:
        TypeError: packed not uint8.
    """
    raise NotImplementedError(
        "TODO(01.6): split each byte into two signed codes - see README task 6"
    )


class Int4WeightOnlyLinear(nn.Module):
    """y = x W^T + b with W stored as group-wise asymmetric INT4, two codes per byte; the input
    stays float (weight-only: it saves memory and bandwidth, not arithmetic).

    Buffers: ``packed`` (out, in/2) uint8, ``scales`` (out, in/group) float32,
    ``zero_points`` (out, in/group) int8, ``bias`` (out,) or None; ints ``in_features``,
    ``out_features``, ``group_size``.
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
        """Raises: TypeError (packed not 2-d uint8), ValueError (group_size not dividing
        in_features = 2 * packed.shape[1], or scales/zero_points of the wrong shape)."""
        raise NotImplementedError(
            "TODO(01.6): validate and register the buffers - see README task 6"
        )

    def extra_repr(self) -> str:
        """What print(model) shows for this layer. (Given.)"""
        return f"in_features={self.in_features}, out_features={self.out_features}, group_size={self.group_size}"

    def unpack_weight(self) -> Tensor:
        """(out, in) float32: the dequantized weight."""
        raise NotImplementedError(
            "TODO(01.6): unpack and dequantize group by group - see README task 6"
        )

    def nbytes(self) -> int:
        """Bytes stored: packed codes, scales, zero points and bias."""
        raise NotImplementedError("TODO(01.6): count the stored bytes - see README task 6")

    def bits_per_param(self) -> float:
        """Storage bits per weight, scales and zero points included (bias excluded)."""
        raise NotImplementedError(
            "TODO(01.6): bits per weight, metadata included - see README task 6"
        )

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) float -> (..., out) in x's dtype.

        Start with unpack, dequantize, float matmul; then run a fused INT4 kernel that reads
        the packed codes (tinygemm): on CPU ``torch.ops.aten._weight_int4pack_mm_for_cpu(x_bf16,
        packed, group_size, scales_and_zeros)`` with ``packed =
        torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes + 8 as int32 (out, in), 1)``
        and ``scales_and_zeros`` (in/group, out, 2) bfloat16 holding (scale, -zero_point *
        scale): tinygemm dequantizes (q_u - 8) * scale + zero. Build both once, not per call.
        Group sizes tinygemm does not take (other than 32..256) keep the unpack path.

        Raises:
            TypeError: x not a float tensor. ValueError: x.shape[-1] != in_features.
        """
        raise NotImplementedError(
            "TODO(01.6): dequantize the weight and apply it - see README task 6"
        )


def quantize_int4_weight_only(linear: nn.Linear, group_size: int = 128) -> Int4WeightOnlyLinear:
    """Group-wise asymmetric INT4 of ``linear``'s weight (one scale and zero point per
    ``group_size`` consecutive inputs of each output row), packed two codes per byte.

    Raises:
        TypeError: linear not an nn.Linear. ValueError: group_size not a positive divisor of
            in_features (or in_features odd).
    """
    raise NotImplementedError(
        "TODO(01.6): group-wise 4-bit qparams (task 1), quantize (task 2), pack - see README task 6"
    )


# ---------------------------------------------------------------------------------------------
# Task 7


class Float8Linear(nn.Module):
    """y = x W^T + b with W in FP8 E4M3 (``torch.float8_e4m3fn``, one float32 scale per output
    channel: max|W_n| / 448) and x cast to E4M3 per row at run time (scale max|x_m| / 448).

    Keep these as buffers: ``weight_fp8`` (out, in) float8_e4m3fn, ``weight_scale`` (out,)
    float32, ``bias`` (out,) float32 or None; and the ints ``in_features``, ``out_features``.
    """

    weight_fp8: Tensor
    weight_scale: Tensor
    bias: Tensor | None

    def __init__(
        self, weight_fp8: Tensor, weight_scale: Tensor, bias: Tensor | None = None
    ) -> None:
        """Raises: TypeError: weight_fp8 not a 2-d float8_e4m3fn tensor. ValueError:
        weight_scale or bias not of shape (out,)."""
        raise NotImplementedError(
            "TODO(01.7): call super().__init__(), validate, register the buffers - see README task 7"
        )

    @classmethod
    def from_float(cls, linear: nn.Linear) -> Float8Linear:
        """Per-output-channel E4M3 weights: codes = clamp(W / scale, -448, 448) cast to E4M3
        (the cast rounds to nearest). Raises: TypeError: linear not an nn.Linear."""
        raise NotImplementedError(
            "TODO(01.7): scale each weight row to +-448 and cast to float8_e4m3fn - see README task 7"
        )

    def extra_repr(self) -> str:
        """What print(model) shows for this layer. (Given.)"""
        return f"in_features={self.in_features}, out_features={self.out_features}, fp8 e4m3"

    def dequantized_weight(self) -> Tensor:
        """(out, in) float32: what the FP8 weights stand for."""
        raise NotImplementedError("TODO(01.7): codes times their row scales - see README task 7")

    def nbytes(self) -> int:
        """Bytes stored: FP8 weight, float32 scales and bias."""
        raise NotImplementedError("TODO(01.7): count the stored bytes - see README task 7")

    def forward(self, x: Tensor) -> Tensor:
        """(..., in) float -> (..., out) in x's dtype.

        Cast each row of x to E4M3 with scale max|x_m| / 448; then ``torch._scaled_mm(codes,
        weight_fp8.t(), scale_a=(M, 1), scale_b=(1, out), bias=..., out_dtype=...)`` (CPU:
        float32 out; CUDA: bfloat16 out) - or, to start with, a float matmul of the values the
        codes stand for. The result must equal that float computation on the same codes.

        Raises:
            TypeError: x not a float tensor. ValueError: x.shape[-1] != in_features.
        """
        raise NotImplementedError(
            "TODO(01.7): cast rows to E4M3 and run the FP8 GEMM - see README task 7"
        )
