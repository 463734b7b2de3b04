"""Deep-learning primitives, the simple way: loops you can check by hand, staged backward passes.

- conv2d is the textbook direct convolution: a loop over images, groups and output pixels,
  each pixel one matrix-vector product of the weights with the patch it sees; the backward
  adds each pixel's gradient back through the same window.
- max_pool2d loops over output pixels, all images and channels at once.
- softmax's backward multiplies by the full Jacobian ``diag(s) - s s^T`` (O(n^2) per row).
- cross_entropy loops over the samples.
- layer_norm and batch_norm backpropagate through each step of the forward (mean, centre,
  variance, inverse std, scale) in turn, as a computational graph drawn on paper would.
- attention loops over the heads.

Slow (the conv is a hundred or more times slower than the solution) but obviously right; the
contract (signatures, shapes, errors) is the starter's docstrings.
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


def _padded(x: Tensor, ph: int, pw: int, value: float = 0.0) -> Tensor:
    out = x.new_full((x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), value)
    out[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]] = x
    return out


def _window(
    oh: int, ow: int, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[slice, slice]:
    """Rows and columns of the padded input that output pixel ``(oh, ow)`` sees."""
    top, left = oh * stride[0], ow * stride[1]
    rows = slice(top, top + dilation[0] * (kernel[0] - 1) + 1, dilation[0])
    cols = slice(left, left + dilation[1] * (kernel[1] - 1) + 1, dilation[1])
    return rows, cols


# ----------------------------------------------------------------------------- task 1: conv2d


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
    c_out, c_in_g, kh, kw = weight.shape
    per_group = c_out // groups
    x_pad = _padded(x, *p)
    out = x.new_zeros(n, c_out, ho, wo)
    for b in range(n):
        for g in range(groups):
            ins = slice(g * c_in_g, (g + 1) * c_in_g)  # the channels group g reads
            outs = slice(g * per_group, (g + 1) * per_group)  # and the ones it writes
            w = weight[outs].reshape(per_group, -1)  # (C_out/G, C_in/G * kH * kW)
            for oh in range(ho):
                for ow in range(wo):
                    rows, cols = _window(oh, ow, (kh, kw), s, d)
                    patch = x_pad[b, ins, rows, cols].reshape(-1)  # what this pixel sees
                    out[b, outs, oh, ow] = w @ patch  # one dot product per output channel
    if bias is not None:
        out += bias.view(1, -1, 1, 1)
    return out


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
    n, _, h, w_in = x.shape
    c_out, c_in_g, kh, kw = weight.shape
    checks.float_tensor("grad_out", grad_out, 4)
    if tuple(grad_out.shape) != (n, c_out, ho, wo):
        raise ValueError(
            f"grad_out has shape {tuple(grad_out.shape)}, expected {(n, c_out, ho, wo)}"
        )
    per_group = c_out // groups
    x_pad = _padded(x, *p)
    d_x_pad = torch.zeros_like(x_pad)
    d_weight = torch.zeros_like(weight)
    for b in range(n):
        for g in range(groups):
            ins = slice(g * c_in_g, (g + 1) * c_in_g)
            outs = slice(g * per_group, (g + 1) * per_group)
            w = weight[outs].reshape(per_group, -1)  # (C_out/G, C_in/G * kH * kW)
            d_w = d_weight[outs].view(per_group, -1)  # a view: adding to it fills d_weight
            for oh in range(ho):
                for ow in range(wo):
                    rows, cols = _window(oh, ow, (kh, kw), s, d)
                    upstream = grad_out[b, outs, oh, ow]  # (C_out/G,)
                    # out[b, outs, oh, ow] = w @ patch: the patch gets w^T g, the weights g patch^T
                    d_x_pad[b, ins, rows, cols] += (upstream @ w).view(c_in_g, kh, kw)
                    d_w.addr_(upstream, x_pad[b, ins, rows, cols].reshape(-1))
    d_bias = grad_out.sum(dim=(0, 2, 3)) if bias is not None else None
    return ConvGrads(d_x_pad[:, :, p[0] : p[0] + h, p[1] : p[1] + w_in], d_weight, d_bias)


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
    x_pad = _padded(x, *p, value=-math.inf)
    out = x.new_empty(n, c, ho, wo)
    indices = torch.empty(n, c, ho, wo, dtype=torch.int64)
    for oh in range(ho):
        for ow in range(wo):
            rows, cols = _window(oh, ow, k, s, d)
            value, arg = x_pad[:, :, rows, cols].reshape(n, c, -1).max(dim=2)  # first maximum
            out[:, :, oh, ow] = value
            row = oh * s[0] - p[0] + (arg // k[1]) * d[0]  # in the unpadded input
            col = ow * s[1] - p[1] + (arg % k[1]) * d[1]
            indices[:, :, oh, ow] = row * w + col
    return out, indices


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
    n, c, h, w = input_shape
    grad = grad_out.new_zeros(n * c, h * w)
    planes = torch.arange(n * c)
    for oh in range(grad_out.shape[2]):
        for ow in range(grad_out.shape[3]):
            # one output pixel: each (image, channel) plane gets its gradient at its argmax
            grad[planes, indices[:, :, oh, ow].reshape(-1)] += grad_out[:, :, oh, ow].reshape(-1)
    return grad.view(n, c, h, w)


# ----------------------------------------------------------------------------- task 3: softmax


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    checks.float_tensor("x", x)
    dim = checks.dim(x, dim)
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))  # exponents <= 0: no overflow
    return e / e.sum(dim=dim, keepdim=True)


def softmax_backward(grad_out: Tensor, out: Tensor, dim: int = -1) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("out", out)
    checks.same_shape("grad_out", grad_out, "out", out)
    dim = checks.dim(out, dim)
    s, g = out.movedim(dim, -1), grad_out.movedim(dim, -1)  # (..., n)
    jacobian = torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)  # (..., n, n), symmetric
    return (jacobian @ g.unsqueeze(-1)).squeeze(-1).movedim(-1, dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    checks.float_tensor("x", x)
    dim = checks.dim(x, dim)
    shifted = x - x.amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def log_softmax_backward(grad_out: Tensor, out: Tensor, dim: int = -1) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("out", out)
    checks.same_shape("grad_out", grad_out, "out", out)
    dim = checks.dim(out, dim)
    s, g = torch.exp(out).movedim(dim, -1), grad_out.movedim(dim, -1)  # (..., n)
    # d log s_i / d x_j = [i == j] - s_j
    eye = torch.eye(s.shape[-1], dtype=s.dtype)
    jacobian = eye - s.unsqueeze(-2)  # (..., n, n): row i is d log s_i / d x
    return (jacobian.transpose(-2, -1) @ g.unsqueeze(-1)).squeeze(-1).movedim(-1, dim)


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
    n, c = logits.shape
    losses = logits.new_zeros(n)
    for i in range(n):
        if not counted[i]:
            continue
        log_p = log_softmax(logits[i], dim=0)
        true_class = -log_p[int(target[i])]
        uniform = -log_p.sum() / c  # cross-entropy against the uniform distribution
        losses[i] = (1.0 - eps) * true_class + eps * uniform
    if reduction is Reduction.NONE:
        return losses
    if reduction is Reduction.SUM:
        return losses.sum()
    return losses.sum() / int(counted.sum())


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
    grad = torch.zeros_like(logits)
    count = int(counted.sum())
    for i in range(n):
        if not counted[i]:
            continue
        smoothed = logits.new_full((c,), eps / c)
        smoothed[int(target[i])] += 1.0 - eps
        if reduction is Reduction.NONE:
            upstream = grad_out[i]
        elif reduction is Reduction.SUM:
            upstream = grad_out
        else:
            upstream = grad_out / count
        grad[i] = upstream * (softmax(logits[i], dim=0) - smoothed)
    return grad


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
    centred = x - mean
    var = (centred * centred).mean(dim=dims, keepdim=True)
    rstd = 1.0 / torch.sqrt(var + eps)
    out = centred * rstd
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out, mean, rstd


def _staged_norm_backward(
    d_xhat: Tensor, x: Tensor, mean: Tensor, rstd: Tensor, dims: tuple[int, ...]
) -> Tensor:
    """Backpropagate through centred = x - mean, var = mean(centred^2), rstd = (var + eps)^-1/2,
    xhat = centred * rstd, one step at a time (``mean`` and ``rstd`` broadcast over ``dims``)."""
    m = math.prod(x.shape[k] for k in dims)
    centred = x - mean
    d_rstd = (d_xhat * centred).sum(dim=dims, keepdim=True)
    d_centred = d_xhat * rstd
    d_var = d_rstd * -0.5 * rstd**3  # d (var + eps)^-1/2 / d var
    d_centred = d_centred + d_var * 2.0 * centred / m
    d_mean = -d_centred.sum(dim=dims, keepdim=True)
    return d_centred + d_mean / m


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
    # weight and bias are shared by every row: their gradients sum over the leading axes
    rows = grad_out.reshape(-1, *normalized_shape)
    d_weight = (rows * xhat.reshape(rows.shape)).sum(dim=0)
    d_bias = rows.sum(dim=0)
    d_xhat = grad_out * weight if weight is not None else grad_out
    return NormGrads(_staged_norm_backward(d_xhat, x, mean, rstd, dims), d_weight, d_bias)


def _per_channel(x: Tensor, t: Tensor) -> Tensor:
    return t.view(1, -1, *(1 for _ in range(x.ndim - 2)))


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
    dims = (0, *range(2, x.ndim))  # every axis but the channels
    if training:
        count = x.numel() // c
        if count < 2:
            raise ValueError(
                f"batch_norm in training needs more than 1 value per channel, x has shape "
                f"{tuple(x.shape)}"
            )
        mean = x.mean(dim=dims)
        squares = ((x - _per_channel(x, mean)) ** 2).sum(dim=dims)
        var = squares / count  # biased: what the batch is normalised with
        if running_mean is not None:
            running_mean.copy_((1 - momentum) * running_mean + momentum * mean)
        if running_var is not None:  # unbiased: the estimate of the population variance
            running_var.copy_((1 - momentum) * running_var + momentum * squares / (count - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm in eval mode needs running_mean and running_var")
        mean, var = running_mean.clone(), running_var
    invstd = 1.0 / torch.sqrt(var + eps)
    out = (x - _per_channel(x, mean)) * _per_channel(x, invstd)
    if weight is not None:
        out = out * _per_channel(x, weight)
    if bias is not None:
        out = out + _per_channel(x, bias)
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
    dims = (0, *range(2, x.ndim))
    mean_c, invstd_c = _per_channel(x, mean), _per_channel(x, invstd)
    xhat = (x - mean_c) * invstd_c
    d_weight = (grad_out * xhat).sum(dim=dims)
    d_bias = grad_out.sum(dim=dims)
    d_xhat = grad_out * _per_channel(x, weight) if weight is not None else grad_out
    if training:
        d_x = _staged_norm_backward(d_xhat, x, mean_c, invstd_c, dims)
    else:
        d_x = d_xhat * invstd_c
    return NormGrads(d_x, d_weight, d_bias)


# ----------------------------------------------------------------------------- task 5: activations


def relu(x: Tensor) -> Tensor:
    checks.float_tensor("x", x)
    return torch.where(x > 0, x, torch.zeros_like(x))


def relu_backward(grad_out: Tensor, x: Tensor) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("x", x)
    checks.same_shape("grad_out", grad_out, "x", x)
    return grad_out * (x > 0).to(grad_out.dtype)


def _normal_cdf(x: Tensor) -> Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _tanh_inner(x: Tensor) -> Tensor:
    return math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)


def gelu(x: Tensor, approximate: Approximate = Approximate.NONE) -> Tensor:
    checks.float_tensor("x", x)
    if checks.approximate(approximate) is Approximate.TANH:
        return 0.5 * x * (1.0 + torch.tanh(_tanh_inner(x)))
    return x * _normal_cdf(x)


def gelu_backward(
    grad_out: Tensor, x: Tensor, approximate: Approximate = Approximate.NONE
) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("x", x)
    checks.same_shape("grad_out", grad_out, "x", x)
    if checks.approximate(approximate) is Approximate.TANH:
        # product rule on 0.5 * x * (1 + tanh(u(x))), with tanh' = 1 - tanh^2
        t = torch.tanh(_tanh_inner(x))
        du = math.sqrt(2.0 / math.pi) * (1.0 + 3 * 0.044715 * x**2)
        return grad_out * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * du)
    # product rule on x * Phi(x), with Phi' = the normal density
    density = torch.exp(-(x**2) / 2.0) / math.sqrt(2.0 * math.pi)
    return grad_out * (_normal_cdf(x) + x * density)


def silu(x: Tensor) -> Tensor:
    checks.float_tensor("x", x)
    return x * torch.sigmoid(x)


def silu_backward(grad_out: Tensor, x: Tensor) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    checks.float_tensor("x", x)
    checks.same_shape("grad_out", grad_out, "x", x)
    s = torch.sigmoid(x)
    return grad_out * (s + x * s * (1.0 - s))  # product rule, sigma' = sigma (1 - sigma)


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    checks.float_tensor("x", x)
    p = checks.probability("p", p)
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    if not training:
        return x.clone(), torch.ones_like(x, dtype=torch.bool)
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) < 1.0 - p
    if p == 1.0:
        return torch.zeros_like(x), keep
    return x * keep / (1.0 - p), keep


def dropout_backward(grad_out: Tensor, mask: Tensor, p: float, training: bool = True) -> Tensor:
    checks.float_tensor("grad_out", grad_out)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be the bool tensor dropout returned")
    checks.same_shape("grad_out", grad_out, "mask", mask)
    p = checks.probability("p", p)
    if not training:
        return grad_out.clone()
    if p == 1.0:
        return torch.zeros_like(grad_out)
    return grad_out * mask / (1.0 - p)


# ----------------------------------------------------------------------------- task 6: attention


def _head_forward(
    x: Tensor, w_in: Tensor, b_in: Tensor | None, head: int, d: int, causal: bool
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """One head's q, k, v ``(B, T, D)`` and attention probabilities ``(B, T, T)``."""
    e = x.shape[2]
    parts = []
    for which in range(3):  # q, k, v rows of the packed projection
        rows = slice(which * e + head * d, which * e + (head + 1) * d)
        part = x @ w_in[rows].T  # (B, T, D)
        parts.append(part + b_in[rows] if b_in is not None else part)
    q, k, v = parts
    scores = q @ k.transpose(1, 2) / math.sqrt(d)  # (B, T, T)
    if causal:
        t = x.shape[1]
        future = torch.tensor([[j > i for j in range(t)] for i in range(t)])
        scores = scores.masked_fill(future, -math.inf)
    return q, k, v, softmax(scores, dim=-1)


def multi_head_self_attention(
    x: Tensor,
    in_proj_weight: Tensor,
    in_proj_bias: Tensor | None,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    num_heads: int,
    causal: bool = False,
) -> Tensor:
    d = checks.attention_arguments(
        x, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, causal
    )
    contexts = []
    for head in range(num_heads):
        _, _, v, probs = _head_forward(x, in_proj_weight, in_proj_bias, head, d, causal)
        contexts.append(probs @ v)  # (B, T, D)
    out = torch.cat(contexts, dim=-1) @ out_proj_weight.T  # (B, T, E)
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
    e = x.shape[2]
    d_x = torch.zeros_like(x)
    d_in_weight = torch.zeros_like(in_proj_weight)
    d_in_bias = x.new_zeros(3 * e)
    d_context = grad_out @ out_proj_weight  # (B, T, E)
    contexts = []
    for head in range(num_heads):
        q, k, v, probs = _head_forward(x, in_proj_weight, in_proj_bias, head, d, causal)
        contexts.append(probs @ v)
        d_ctx = d_context[:, :, head * d : (head + 1) * d]  # (B, T, D)
        d_v = probs.transpose(1, 2) @ d_ctx
        d_probs = d_ctx @ v.transpose(1, 2)  # (B, T, T)
        d_scores = softmax_backward(d_probs, probs, dim=-1) / math.sqrt(d)
        d_q = d_scores @ k
        d_k = d_scores.transpose(1, 2) @ q
        for which, grad in enumerate((d_q, d_k, d_v)):
            rows = slice(which * e + head * d, which * e + (head + 1) * d)
            d_x += grad @ in_proj_weight[rows]
            d_in_weight[rows] += (grad.transpose(1, 2) @ x).sum(dim=0)
            d_in_bias[rows] += grad.sum(dim=(0, 1))
    context = torch.cat(contexts, dim=-1)  # (B, T, E)
    d_out_weight = (grad_out.transpose(1, 2) @ context).sum(dim=0)
    d_out_bias = grad_out.sum(dim=(0, 1))
    return AttentionGrads(d_x, d_in_weight, d_in_bias, d_out_weight, d_out_bias)
