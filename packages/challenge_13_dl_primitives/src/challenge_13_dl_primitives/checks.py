"""Argument checks every implementation may call: clear errors naming the bad argument.

They raise ``TypeError`` for a value of the wrong kind and ``ValueError`` for a value of the
right kind but the wrong size or range.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from challenge_13_dl_primitives.api import Approximate, Reduction

__all__ = [
    "approximate",
    "attention_arguments",
    "batch_norm_arguments",
    "conv2d_arguments",
    "conv_output_size",
    "cross_entropy_arguments",
    "dim",
    "float_tensor",
    "max_pool2d_arguments",
    "normalized_dims",
    "optional_float_tensor",
    "pair",
    "positive",
    "probability",
    "same_shape",
    "statistic",
]

Tensor = torch.Tensor
IntPair = int | tuple[int, int]


def float_tensor(name: str, value: object, ndim: int | tuple[int, ...] | None = None) -> None:
    """Require a floating-point ``torch.Tensor`` with ``ndim`` dimensions (one of, if a tuple)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and value.ndim not in allowed:
        want = " or ".join(str(n) for n in allowed)
        raise ValueError(f"{name} must have {want} dimensions, got shape {tuple(value.shape)}")


def optional_float_tensor(name: str, value: object, shape: tuple[int, ...]) -> None:
    """Require ``None`` or a floating-point tensor of exactly ``shape``."""
    if value is None:
        return
    float_tensor(name, value)
    assert isinstance(value, torch.Tensor)
    if tuple(value.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")


def pair(name: str, value: object, minimum: int) -> tuple[int, int]:
    """An ``int`` or a pair of ints as ``(height, width)``, each at least ``minimum``."""
    items: Sequence[object] = value if isinstance(value, (tuple, list)) else (value, value)
    ints = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
    if len(items) != 2 or len(ints) != 2:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    h, w = ints
    if h < minimum or w < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return h, w


def probability(name: str, value: object, *, closed: bool = True) -> float:
    """A float in ``[0, 1]`` (``[0, 1)`` when ``closed`` is false)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    p = float(value)
    if not (0.0 <= p <= 1.0) or (not closed and p == 1.0):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return p


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution or pooling window along one axis (floor mode)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv2d_arguments(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair,
    groups: int,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Validate a convolution's arguments; return (stride, padding, dilation, output size)."""
    float_tensor("x", x, 4)
    float_tensor("weight", weight, 4)
    if weight.dtype != x.dtype:
        raise TypeError(f"weight has dtype {weight.dtype}, x has {x.dtype}")
    s = pair("stride", stride, 1)
    p = pair("padding", padding, 0)
    d = pair("dilation", dilation, 1)
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"groups must be an int, got {type(groups).__name__}")
    c_out, c_in_g, kh, kw = weight.shape
    if groups < 1 or x.shape[1] % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must be >= 1 and divide both x's {x.shape[1]} channels and "
            f"weight's {c_out} output channels"
        )
    if c_in_g * groups != x.shape[1]:
        raise ValueError(
            f"weight has shape {tuple(weight.shape)}: expected {x.shape[1] // groups} input "
            f"channels per group (x has {x.shape[1]} channels, groups={groups})"
        )
    optional_float_tensor("bias", bias, (c_out,))
    ho = conv_output_size(x.shape[2], kh, s[0], p[0], d[0])
    wo = conv_output_size(x.shape[3], kw, s[1], p[1], d[1])
    if ho < 1 or wo < 1:
        raise ValueError(
            f"the dilated kernel ({kh}x{kw}, dilation {d}) is larger than the padded input "
            f"({x.shape[2]}x{x.shape[3]} with padding {p})"
        )
    return s, p, d, (ho, wo)


def max_pool2d_arguments(
    x: Tensor, kernel_size: IntPair, stride: IntPair | None, padding: IntPair, dilation: IntPair
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    float_tensor("x", x, 4)
    k = pair("kernel_size", kernel_size, 1)
    s = k if stride is None else pair("stride", stride, 1)
    p = pair("padding", padding, 0)
    d = pair("dilation", dilation, 1)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"padding {p} must be at most half the kernel size {k}")
    ho = conv_output_size(x.shape[2], k[0], s[0], p[0], d[0])
    wo = conv_output_size(x.shape[3], k[1], s[1], p[1], d[1])
    if ho < 1 or wo < 1:
        raise ValueError(f"kernel_size {k} with dilation {d} is larger than the padded input")
    return k, s, p, d, (ho, wo)


def dim(x: Tensor, dim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -x.ndim <= dim < max(x.ndim, 1):
        raise ValueError(f"dim {dim} is out of range for a tensor of shape {tuple(x.shape)}")
    return dim


def same_shape(a_name: str, a: Tensor, b_name: str, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{a_name} has shape {tuple(a.shape)} but {b_name} {tuple(b.shape)}")


def cross_entropy_arguments(
    logits: Tensor, target: Tensor, ignore_index: int, label_smoothing: float, reduction: Reduction
) -> tuple[Tensor, float]:
    """Validate; return the mask of counted samples and the smoothing as a float."""
    float_tensor("logits", logits, 2)
    if not isinstance(target, torch.Tensor) or target.dtype != torch.int64:
        raise TypeError("target must be an int64 tensor of class indices")
    if target.shape != logits.shape[:1]:
        raise ValueError(
            f"target has shape {tuple(target.shape)}, expected ({logits.shape[0]},) for logits "
            f"of shape {tuple(logits.shape)}"
        )
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"ignore_index must be an int, got {type(ignore_index).__name__}")
    if not isinstance(reduction, Reduction):
        raise TypeError(f"reduction must be a Reduction, got {reduction!r}")
    eps = probability("label_smoothing", label_smoothing)
    counted = target != ignore_index
    bad = counted & ((target < 0) | (target >= logits.shape[1]))
    if bool(bad.any()):
        raise ValueError(
            f"target holds {target[bad][0].item()}: class indices must lie in "
            f"[0, {logits.shape[1]}) or equal ignore_index={ignore_index}"
        )
    return counted, eps


def normalized_dims(x: Tensor, normalized_shape: tuple[int, ...]) -> tuple[int, ...]:
    if not isinstance(normalized_shape, (tuple, list)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in normalized_shape
    ):
        raise TypeError(f"normalized_shape must be a tuple of ints, got {normalized_shape!r}")
    k = len(normalized_shape)
    if k == 0 or tuple(x.shape[x.ndim - k :]) != tuple(normalized_shape) or k > x.ndim:
        raise ValueError(
            f"normalized_shape {tuple(normalized_shape)} must be the trailing dimensions of x's "
            f"shape {tuple(x.shape)}"
        )
    return tuple(range(x.ndim - k, x.ndim))


def positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def statistic(name: str, value: Tensor, shape: tuple[int, ...]) -> None:
    """A saved statistic must be the tensor the forward returned (not None, same shape)."""
    float_tensor(name, value)
    optional_float_tensor(name, value, shape)


def batch_norm_arguments(
    x: Tensor, weight: Tensor | None, running_mean: Tensor | None, running_var: Tensor | None
) -> int:
    float_tensor("x", x, (2, 3, 4, 5))
    c = x.shape[1]
    optional_float_tensor("weight", weight, (c,))
    optional_float_tensor("running_mean", running_mean, (c,))
    optional_float_tensor("running_var", running_var, (c,))
    return c


def approximate(approximate: Approximate) -> Approximate:
    if not isinstance(approximate, Approximate):
        raise TypeError(f"approximate must be an Approximate, got {approximate!r}")
    return approximate


def attention_arguments(
    x: Tensor,
    in_proj_weight: Tensor,
    in_proj_bias: Tensor | None,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    num_heads: int,
    causal: bool,
) -> int:
    """Validate; return the head dimension."""
    float_tensor("x", x, 3)
    e = x.shape[2]
    if isinstance(num_heads, bool) or not isinstance(num_heads, int):
        raise TypeError(f"num_heads must be an int, got {type(num_heads).__name__}")
    if num_heads < 1 or e % num_heads:
        raise ValueError(f"num_heads={num_heads} must be >= 1 and divide the embedding dim {e}")
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be a bool, got {type(causal).__name__}")
    for name, t, shape in (
        ("in_proj_weight", in_proj_weight, (3 * e, e)),
        ("in_proj_bias", in_proj_bias, (3 * e,)),
        ("out_proj_weight", out_proj_weight, (e, e)),
        ("out_proj_bias", out_proj_bias, (e,)),
    ):
        if t is None and name.endswith("weight"):
            raise TypeError(f"{name} must be a torch.Tensor, got None")
        optional_float_tensor(name, t, shape)
    return e // num_heads
