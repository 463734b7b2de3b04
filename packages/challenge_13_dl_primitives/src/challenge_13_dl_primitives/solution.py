"""Deep-learning primitives, the production way: strided views, one GEMM per layer, closed forms.

- conv2d: im2col as a zero-copy ``as_strided`` window view of the padded input, one reshape
  (the only copy: the ``(C/g * kH * kW, Ho * Wo)`` matrix per image) and one batched GEMM per
  group; the backward is two GEMMs plus ``col2im``, which adds each kernel offset's slice back
  (a loop over ``kH * kW`` offsets, not over pixels).
- max_pool2d: the same window view, one ``max`` over the window axis; the backward is one
  ``scatter_add_`` (windows overlap when stride < kernel, so gradients must add).
- softmax / log_softmax / cross_entropy: max-subtracted, with the one-line backward forms
  ``s * (g - sum(g * s))`` and ``g - exp(l) * sum(g)``.
- layer_norm / batch_norm: the closed-form backward
  ``dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``.
- attention: all heads in one batched matmul; the backward recomputes the probabilities from
  the inputs instead of saving them (what FlashAttention does, at a smaller scale).

The contract (signatures, shapes, errors) is the starter's docstrings.
"""

from __future__ import annotations

import math

import torch

from challenge_13_dl_primitives import checks
from challenge_13_dl_primitives.api import (
    Approximate,
    AttentionGrads,
    ConvGrads,
    NormGrads,
    Reduction,
)

__all__ = [
    "batch_norm",
    "batch_norm_backward",
    "conv2d",
    "conv2d_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "dropout",
    "dropout_backward",
    "gelu",
    "gelu_backward",
    "layer_norm",
    "layer_norm_backward",
    "log_softmax",
    "log_softmax_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "multi_head_self_attention",
    "multi_head_self_attention_backward",
    "relu",
    "relu_backward",
    "silu",
    "silu_backward",
    "softmax",
    "softmax_backward",
]

Tensor = torch.Tensor
IntPair = int | tuple[int, int]


# ----------------------------------------------------------------------------- task 1: conv2d


def _pad(x: Tensor, ph: int, pw: int, value: float = 0.0) -> Tensor:
    """``x`` with ``ph`` rows above and below and ``pw`` columns left and right of ``value``."""
    if ph == 0 and pw == 0:
        return x
    out = x.new_full((*x.shape[:-2], x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw), value)
    out[..., ph : ph + x.shape[-2], pw : pw + x.shape[-1]] = x
    return out


def _windows(
    x_pad: Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> Tensor:  # fmt: skip
    """A zero-copy view ``(N, C, kH, kW, Ho, Wo)``: element ``[n, c, i, j, oh, ow]`` is
    ``x_pad[n, c, oh * sh + i * dh, ow * sw + j * dw]``."""
    sn, sc, sh, sw = x_pad.stride()
    n, c = x_pad.shape[:2]
    return x_pad.as_strided(
        (n, c, *kernel, *out_hw),
        (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]),
        x_pad.storage_offset(),
    )


def _im2col(
    x: Tensor, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
    dilation: tuple[int, int], out_hw: tuple[int, int], groups: int,
) -> Tensor:  # fmt: skip
    """The im2col matrix, per image and group: ``(N, G, C/G * kH * kW, Ho * Wo)``."""
    n, c = x.shape[:2]
    view = _windows(_pad(x, *padding), kernel, stride, dilation, out_hw)  # (N, C, kH, kW, Ho, Wo)
    return view.reshape(n, groups, (c // groups) * kernel[0] * kernel[1], out_hw[0] * out_hw[1])


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    s, p, d, (ho, wo) = checks.conv2d_arguments(x, weight, bias, stride, padding, dilation, groups)
    n = x.shape[0]
    c_out, _, kh, kw = weight.shape
    cols = _im2col(x, (kh, kw), s, p, d, (ho, wo), groups)  # (N, G, K, L)
    w = weight.reshape(groups, c_out // groups, -1)  # (G, C_out/G, K)
    out = torch.matmul(w, cols).reshape(
        n, c_out, ho, wo
    )  # (N, G, C_out/G, L) -> (N, C_out, Ho, Wo)
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out


def _col2im(
    cols: Tensor, x_shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
    padding: tuple[int, int], dilation: tuple[int, int], out_hw: tuple[int, int],
) -> Tensor:  # fmt: skip
    """The adjoint of ``_im2col``: add every column entry back to the input pixel it came from.

    ``cols`` is ``(N, C, kH, kW, Ho, Wo)``. One strided slice per kernel offset ``(i, j)``
    covers every output position at once; a pixel that several windows saw receives the sum.
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = kernel, stride, padding, dilation, out_hw
    grad = cols.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            columns = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            grad[:, :, rows, columns] += cols[:, :, i, j]
    return grad[:, :, ph : ph + h, pw : pw + w]


def conv2d_backward(
    grad_out: Tensor,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> ConvGrads:
    s, p, d, (ho, wo) = checks.conv2d_arguments(x, weight, bias, stride, padding, dilation, groups)
    n, c = x.shape[:2]
    c_out, _, kh, kw = weight.shape
    checks.float_tensor("grad_out", grad_out, 4)
    if tuple(grad_out.shape) != (n, c_out, ho, wo):
        raise ValueError(
            f"grad_out has shape {tuple(grad_out.shape)}, expected {(n, c_out, ho, wo)}"
        )
    g = grad_out.reshape(n, groups, c_out // groups, ho * wo)  # (N, G, C_out/G, L)
    cols = _im2col(x, (kh, kw), s, p, d, (ho, wo), groups)  # (N, G, K, L)
    w = weight.reshape(groups, c_out // groups, -1)  # (G, C_out/G, K)
    d_weight = torch.einsum("ngol,ngkl->gok", g, cols).reshape(weight.shape)
    d_cols = torch.matmul(w.transpose(1, 2), g)  # (N, G, K, L)
    d_cols = d_cols.reshape(n, c, kh, kw, ho, wo)
    d_x = _col2im(d_cols, tuple(x.shape), (kh, kw), s, p, d, (ho, wo))
    d_bias = grad_out.sum(dim=(0, 2, 3)) if bias is not None else None
    return ConvGrads(d_x, d_weight, d_bias)


# ----------------------------------------------------------------------------- task 2: max pool


def max_pool2d(
    x: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[Tensor, Tensor]:
    k, s, p, d, (ho, wo) = checks.max_pool2d_arguments(x, kernel_size, stride, padding, dilation)
    n, c, _, w = x.shape
    view = _windows(_pad(x, *p, value=-math.inf), k, s, d, (ho, wo))  # (N, C, kH, kW, Ho, Wo)
    flat = view.reshape(n, c, k[0] * k[1], ho, wo)  # (N, C, kH * kW, Ho, Wo)
    out, arg = flat.max(dim=2)  # (N, C, Ho, Wo): the first maximum of each window
    # window offset -> row and column of the unpadded input -> flat index in its H * W plane
    rows = torch.arange(ho, device=x.device).view(-1, 1) * s[0] - p[0] + (arg // k[1]) * d[0]
    cols = torch.arange(wo, device=x.device).view(1, -1) * s[1] - p[1] + (arg % k[1]) * d[1]
    return out, rows * w + cols


def _scatter_to_input(grad_out: Tensor, indices: Tensor, input_shape: tuple[int, ...]) -> Tensor:
    """Add each output gradient to the input pixel its window's maximum came from."""
    n, c, h, w = input_shape
    grad = grad_out.new_zeros(n, c, h * w)
    grad.scatter_add_(2, indices.reshape(n, c, -1), grad_out.reshape(n, c, -1))
    return grad.view(n, c, h, w)


def max_pool2d_backward(
    grad_out: Tensor, indices: Tensor, input_shape: tuple[int, int, int, int]
) -> Tensor:
    checks.float_tensor("grad_out", grad_out, 4)
    if not isinstance(indices, torch.Tensor) or indices.dtype != torch.int64:
        raise TypeError("indices must be the int64 tensor max_pool2d returned")
    if indices.shape != grad_out.shape:
        raise ValueError(
            f"indices has shape {tuple(indices.shape)}, grad_out {tuple(grad_out.shape)}"
        )
    if len(input_shape) != 4 or tuple(input_shape[:2]) != tuple(grad_out.shape[:2]):
        raise ValueError(f"input_shape {input_shape} does not match grad_out's batch and channels")
    return _scatter_to_input(grad_out, indices, tuple(input_shape))


# ----------------------------------------------------------------------------- task 3: softmax


def _row_max(x: Tensor, dim: int) -> Tensor:
    """The max along ``dim`` (kept): subtracting it makes every exponent <= 0, so logits of 1e4
    cannot overflow. A row of -inf gives NaN, as in torch (there is no distribution to return)."""
    return x.amax(dim=dim, keepdim=True)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    checks.float_tensor("x", x)
    dim = checks.dim(x, dim)
    e = torch.exp(x - _row_max(x, dim))
    return e / e.sum(dim=dim, keepdim=True)


def softmax_backward(grad_out: Tensor, out: Tensor, dim: int = -1) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("out", out)
    checks.same_shape("grad_out", grad_out, "out", out)
    dim = checks.dim(out, dim)
    # J = diag(s) - s s^T, so J^T g = s * (g - <g, s>)
    return out * (grad_out - (grad_out * out).sum(dim=dim, keepdim=True))


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    checks.float_tensor("x", x)
    dim = checks.dim(x, dim)
    shifted = x - _row_max(x, dim)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def log_softmax_backward(grad_out: Tensor, out: Tensor, dim: int = -1) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("out", out)
    checks.same_shape("grad_out", grad_out, "out", out)
    dim = checks.dim(out, dim)
    return grad_out - torch.exp(out) * grad_out.sum(dim=dim, keepdim=True)


def _count_targets(counted: Tensor) -> Tensor:
    """How many samples the mean divides by: those not ignored."""
    return counted.sum()


def cross_entropy(
    logits: Tensor,
    target: Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: Reduction = Reduction.MEAN,
) -> Tensor:
    counted, eps = checks.cross_entropy_arguments(
        logits, target, ignore_index, label_smoothing, reduction
    )
    log_p = log_softmax(logits, dim=1)  # (N, C)
    picked = log_p.gather(1, torch.where(counted, target, 0).unsqueeze(1)).squeeze(1)  # (N,)
    # (1 - eps) * (-log p_y) + eps * mean_c(-log p_c): the loss against the smoothed target
    per_sample = -(1.0 - eps) * picked - eps * log_p.mean(dim=1)
    per_sample = torch.where(counted, per_sample, torch.zeros_like(per_sample))
    if reduction is Reduction.NONE:
        return per_sample
    total = per_sample.sum()
    return total / _count_targets(counted) if reduction is Reduction.MEAN else total


def cross_entropy_backward(
    grad_out: Tensor,
    logits: Tensor,
    target: Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: Reduction = Reduction.MEAN,
) -> Tensor:
    counted, eps = checks.cross_entropy_arguments(
        logits, target, ignore_index, label_smoothing, reduction
    )
    checks.float_tensor("grad_out", grad_out)
    n, c = logits.shape
    want = (n,) if reduction is Reduction.NONE else ()
    if tuple(grad_out.shape) != want:
        raise ValueError(f"grad_out has shape {tuple(grad_out.shape)}, expected {want}")
    smoothed = torch.full_like(logits, eps / c)  # the target distribution
    smoothed.scatter_add_(
        1, torch.where(counted, target, 0).unsqueeze(1), logits.new_full((n, 1), 1.0 - eps)
    )
    grad = softmax(logits, dim=1) - smoothed  # d(per-sample loss) / d logits
    if reduction is Reduction.NONE:
        scale = grad_out
    elif reduction is Reduction.MEAN:
        scale = (grad_out / _count_targets(counted)).expand(n)
    else:
        scale = grad_out.expand(n)
    scale = torch.where(counted, scale, torch.zeros_like(scale))
    return grad * scale.unsqueeze(1)


# ----------------------------------------------------------------------------- task 4: norms


def layer_norm(
    x: Tensor,
    normalized_shape: tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor]:
    checks.float_tensor("x", x)
    dims = checks.normalized_dims(x, normalized_shape)
    checks.optional_float_tensor("weight", weight, tuple(normalized_shape))
    checks.optional_float_tensor("bias", bias, tuple(normalized_shape))
    eps = checks.positive("eps", eps)
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, correction=0)  # biased, as the layer normalises
    rstd = torch.rsqrt(var + eps)
    out = (x - mean) * rstd
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out, mean, rstd


def _norm_input_grad(d_xhat: Tensor, xhat: Tensor, rstd: Tensor, dims: tuple[int, ...]) -> Tensor:
    """``rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``, means over ``dims``: the
    gradient through ``xhat = (x - mean(x)) * rstd(x)`` with the statistics' own gradients."""
    return rstd * (
        d_xhat
        - d_xhat.mean(dim=dims, keepdim=True)
        - xhat * (d_xhat * xhat).mean(dim=dims, keepdim=True)
    )


def layer_norm_backward(
    grad_out: Tensor,
    x: Tensor,
    mean: Tensor,
    rstd: Tensor,
    normalized_shape: tuple[int, ...],
    weight: Tensor | None = None,
) -> NormGrads:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("x", x)
    checks.same_shape("grad_out", grad_out, "x", x)
    dims = checks.normalized_dims(x, normalized_shape)
    checks.optional_float_tensor("weight", weight, tuple(normalized_shape))
    stat_shape = (*x.shape[: x.ndim - len(dims)], *(1 for _ in dims))
    checks.statistic("mean", mean, stat_shape)
    checks.statistic("rstd", rstd, stat_shape)
    xhat = (x - mean) * rstd
    batch = tuple(range(x.ndim - len(dims)))  # may be empty: sum(dim=()) would sum everything
    d_weight = (grad_out * xhat).sum(dim=batch) if batch else grad_out * xhat
    d_bias = grad_out.sum(dim=batch) if batch else grad_out.clone()
    d_xhat = grad_out * weight if weight is not None else grad_out
    return NormGrads(_norm_input_grad(d_xhat, xhat, rstd, dims), d_weight, d_bias)


def _bn_dims(x: Tensor) -> tuple[int, ...]:
    return (0, *range(2, x.ndim))


def _channel_view(x: Tensor, t: Tensor) -> Tensor:
    """A per-channel ``(C,)`` tensor shaped to broadcast against ``x`` ``(N, C, ...)``."""
    return t.view(1, -1, *(1 for _ in range(x.ndim - 2)))


def _normalising_variance(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    """The batch variance the layer normalises with: biased (divided by the count), as torch."""
    return x.var(dim=dims, correction=0)


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor]:
    c = checks.batch_norm_arguments(x, weight, running_mean, running_var)
    checks.optional_float_tensor("bias", bias, (c,))
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    momentum = checks.probability("momentum", momentum)
    eps = checks.positive("eps", eps)
    dims = _bn_dims(x)
    if training:
        count = x.numel() // c
        if count < 2:
            raise ValueError(
                f"batch_norm in training needs more than 1 value per channel, x has shape "
                f"{tuple(x.shape)}"
            )
        mean = x.mean(dim=dims)
        var = _normalising_variance(x, dims)
        with torch.no_grad():  # the running estimate uses the unbiased variance
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(var * count / (count - 1), alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm in eval mode needs running_mean and running_var")
        mean, var = running_mean.clone(), running_var
    invstd = torch.rsqrt(var + eps)
    out = (x - _channel_view(x, mean)) * _channel_view(x, invstd)
    if weight is not None:
        out = out * _channel_view(x, weight)
    if bias is not None:
        out = out + _channel_view(x, bias)
    return out, mean, invstd


def batch_norm_backward(
    grad_out: Tensor,
    x: Tensor,
    mean: Tensor,
    invstd: Tensor,
    weight: Tensor | None = None,
    training: bool = False,
) -> NormGrads:
    c = checks.batch_norm_arguments(x, weight, None, None)
    checks.statistic("mean", mean, (c,))
    checks.statistic("invstd", invstd, (c,))
    checks.float_tensor("grad_out", grad_out)
    checks.same_shape("grad_out", grad_out, "x", x)
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    dims = _bn_dims(x)
    xhat = (x - _channel_view(x, mean)) * _channel_view(x, invstd)
    d_weight = (grad_out * xhat).sum(dim=dims)
    d_bias = grad_out.sum(dim=dims)
    d_xhat = grad_out * _channel_view(x, weight) if weight is not None else grad_out
    if training:  # mean and variance depend on x too
        d_x = _norm_input_grad(d_xhat, xhat, _channel_view(x, invstd), dims)
    else:  # fixed statistics: an affine map
        d_x = d_xhat * _channel_view(x, invstd)
    return NormGrads(d_x, d_weight, d_bias)


# ----------------------------------------------------------------------------- task 5: activations

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def relu(x: Tensor) -> Tensor:
    checks.float_tensor("x", x)
    return x.clamp_min(0.0)


def relu_backward(grad_out: Tensor, x: Tensor) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("x", x)
    checks.same_shape("grad_out", grad_out, "x", x)
    return torch.where(x > 0, grad_out, torch.zeros_like(grad_out))  # 0 at x == 0, as torch


def gelu(x: Tensor, approximate: Approximate = Approximate.NONE) -> Tensor:
    checks.float_tensor("x", x)
    if checks.approximate(approximate) is Approximate.TANH:
        inner = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3)
        return 0.5 * x * (1.0 + torch.tanh(inner))
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_backward(
    grad_out: Tensor, x: Tensor, approximate: Approximate = Approximate.NONE
) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("x", x)
    checks.same_shape("grad_out", grad_out, "x", x)
    if checks.approximate(approximate) is Approximate.TANH:
        t = torch.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3))
        d_inner = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * x**2)
        return grad_out * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner)
    cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return grad_out * (cdf + x * pdf)


def silu(x: Tensor) -> Tensor:
    checks.float_tensor("x", x)
    return x * torch.sigmoid(x)


def silu_backward(grad_out: Tensor, x: Tensor) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("x", x)
    checks.same_shape("grad_out", grad_out, "x", x)
    s = torch.sigmoid(x)
    return grad_out * s * (1.0 + x * (1.0 - s))


def _keep_scale(p: float) -> float:
    """What a kept activation is multiplied by in training: 1 / (1 - p), so the expected output
    equals the input and evaluation needs no rescaling (inverted dropout)."""
    return 0.0 if p == 1.0 else 1.0 / (1.0 - p)


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    checks.float_tensor("x", x)
    p = checks.probability("p", p)
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    if not training:
        return x.clone(), torch.ones_like(x, dtype=torch.bool)
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= p
    return torch.where(keep, x * _keep_scale(p), torch.zeros_like(x)), keep


def dropout_backward(grad_out: Tensor, mask: Tensor, p: float, training: bool = True) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be the bool tensor dropout returned")
    checks.same_shape("grad_out", grad_out, "mask", mask)
    p = checks.probability("p", p)
    if not training:
        return grad_out.clone()
    return torch.where(mask, grad_out * _keep_scale(p), torch.zeros_like(grad_out))


# ----------------------------------------------------------------------------- task 6: attention


def _causal_mask(t: int, device: torch.device) -> Tensor:
    """``(T, T)``, True where query ``i`` must not see key ``j``: every ``j > i``."""
    return torch.ones(t, t, dtype=torch.bool, device=device).triu(diagonal=1)


def _heads(x: Tensor, w: Tensor, b: Tensor | None, num_heads: int) -> tuple[Tensor, ...]:
    """Project ``x`` ``(B, T, E)`` to q, k, v, each ``(B, H, T, D)``."""
    bsz, t, e = x.shape
    qkv = x @ w.T  # (B, T, 3E)
    if b is not None:
        qkv = qkv + b
    qkv = qkv.view(bsz, t, 3, num_heads, e // num_heads).permute(2, 0, 3, 1, 4)  # (3, B, H, T, D)
    return qkv[0], qkv[1], qkv[2]


def _probabilities(q: Tensor, k: Tensor, causal: bool) -> Tensor:
    """``softmax(q k^T / sqrt(D))`` ``(B, H, T, T)``, masked above the diagonal if causal."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, T, T)
    if causal:
        scores = scores.masked_fill(_causal_mask(q.shape[-2], q.device), -math.inf)
    return softmax(scores, dim=-1)


def _merge_heads(t: Tensor) -> Tensor:
    bsz, h, n, d = t.shape  # (B, H, T, D) -> (B, T, E)
    return t.transpose(1, 2).reshape(bsz, n, h * d)


def multi_head_self_attention(
    x: Tensor,
    in_proj_weight: Tensor,
    in_proj_bias: Tensor | None,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    num_heads: int,
    causal: bool = False,
) -> Tensor:
    checks.attention_arguments(
        x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, causal
    )
    q, k, v = _heads(x, in_proj_weight, in_proj_bias, num_heads)  # (B, H, T, D) each
    context = _merge_heads(_probabilities(q, k, causal) @ v)  # (B, T, E)
    out = context @ out_proj_weight.T  # (B, T, E)
    return out + out_proj_bias if out_proj_bias is not None else out


def multi_head_self_attention_backward(
    grad_out: Tensor,
    x: Tensor,
    in_proj_weight: Tensor,
    in_proj_bias: Tensor | None,
    out_proj_weight: Tensor,
    num_heads: int,
    causal: bool = False,
) -> AttentionGrads:
    d = checks.attention_arguments(
        x, in_proj_weight, in_proj_bias, out_proj_weight, None, num_heads, causal
    )
    checks.float_tensor("grad_out", grad_out)
    checks.same_shape("grad_out", grad_out, "x", x)
    bsz, t, e = x.shape
    q, k, v = _heads(x, in_proj_weight, in_proj_bias, num_heads)  # recomputed, not saved
    probs = _probabilities(q, k, causal)  # (B, H, T, T)
    context = _merge_heads(probs @ v)  # (B, T, E)
    d_out_weight = torch.einsum("bto,bti->oi", grad_out, context)  # (E, E)
    d_out_bias = grad_out.sum(dim=(0, 1))
    d_context = (grad_out @ out_proj_weight).view(bsz, t, num_heads, d).transpose(1, 2)
    d_v = probs.transpose(-2, -1) @ d_context  # (B, H, T, D)
    d_probs = d_context @ v.transpose(-2, -1)  # (B, H, T, T)
    d_scores = softmax_backward(d_probs, probs, dim=-1) / math.sqrt(d)  # masked entries: p = 0
    d_q = d_scores @ k  # (B, H, T, D)
    d_k = d_scores.transpose(-2, -1) @ q
    d_qkv = torch.stack((d_q, d_k, d_v)).permute(1, 3, 0, 2, 4).reshape(bsz, t, 3 * e)
    d_in_weight = torch.einsum("bto,bti->oi", d_qkv, x)  # (3E, E)
    d_in_bias = d_qkv.sum(dim=(0, 1))
    return AttentionGrads(d_qkv @ in_proj_weight, d_in_weight, d_in_bias, d_out_weight, d_out_bias)
