"""Challenge 13 - deep-learning primitives. YOUR FILE: fill in every TODO.

Each layer is a pair of plain functions: the forward computes the output from its inputs, and
the backward maps the gradient of the loss with respect to that output (``grad_out``, the
output's shape) to the gradients with respect to the inputs - the vector-Jacobian product that
``torch.autograd`` would compute. Backwards take the forward's inputs again (and whatever
small state the forward returned, such as max-pool's argmax indices or a norm's statistics),
as ATen's own ``*_backward`` kernels do.

Rules:
- torch tensor ops only, no autograd: no ``requires_grad``, no ``.backward()``, and none of the
  ``torch.nn.functional`` functions you are writing (``F.conv2d``, ``F.unfold``/``F.fold``,
  ``F.softmax``, ``F.layer_norm``...). The tests compare against exactly those, in float64.
- Inputs are floating-point tensors (float32 or float64); results keep their dtype.
- Argument errors: ``TypeError`` for a value of the wrong kind, ``ValueError`` for the right
  kind with the wrong shape or range, each naming the argument. ``checks.py`` has a ready-made
  check for every function here (``checks.conv2d_arguments(...)`` and friends): call them.

Run ``uv run prep test 13`` (add ``--task K`` for one task); the README's "Tasks" section
explains each TODO, and ``uv run prep hint 13 K`` helps when stuck.
"""

from __future__ import annotations

import torch

from challenge_13_dl_primitives import checks  # noqa: F401 - ready-made argument checks
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
IntPair = int | tuple[int, int]  # one value for both axes, or (height, width)


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
    """2-D cross-correlation, as ``F.conv2d``: im2col + one GEMM per group.

    ``out[n, o, i, j] = bias[o] + sum_{c, u, v} weight[o, c, u, v] *
    x_pad[n, g * C_in/G + c, i * sh + u * dh, j * sw + v * dw]`` where ``g = o // (C_out/G)``
    and ``x_pad`` is ``x`` with ``padding`` zeros on *both* sides of each spatial axis.

    Args:
        x: ``(N, C_in, H, W)``.
        weight: ``(C_out, C_in / groups, kH, kW)``, same dtype as ``x``.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, dilation: an int for both axes or a ``(height, width)`` pair;
            stride >= 1, padding >= 0, dilation >= 1.
        groups: >= 1, divides ``C_in`` and ``C_out``; ``groups = C_in`` is depthwise.

    Returns:
        ``(N, C_out, Ho, Wo)`` with ``Ho = (H + 2 ph - dh (kH - 1) - 1) // sh + 1`` (W alike).

    Raises:
        TypeError: a non-tensor or non-float ``x``/``weight``/``bias``, differing dtypes, a
            non-int option.
        ValueError: wrong ranks or channel counts, ``groups`` not dividing the channels, an
            option out of range, or a dilated kernel larger than the padded input.
    """
    raise NotImplementedError(
        "TODO(13.1): im2col with as_strided, then one matmul per group - see README task 1"
    )


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
    """Gradients of ``conv2d(x, weight, bias, ...)`` given ``grad_out`` ``(N, C_out, Ho, Wo)``.

    Returns:
        ``ConvGrads(input, weight, bias)``: ``(N, C_in, H, W)``, ``weight``'s shape, and
        ``(C_out,)`` or ``None`` when ``bias`` is ``None``. The input gradient is ``col2im`` of
        ``weight^T @ grad``: every window position adds its share back to the pixel it read.

    Raises:
        The errors of ``conv2d``, and ``ValueError`` for a ``grad_out`` of the wrong shape.
    """
    raise NotImplementedError(
        "TODO(13.1): grad of weight, bias and input (col2im) - see README task 1"
    )


# ----------------------------------------------------------------------------- task 2: max pool


def max_pool2d(
    x: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[Tensor, Tensor]:
    """2-D max pooling, as ``F.max_pool2d(..., return_indices=True)`` (floor mode).

    Padding counts as ``-inf`` (it never wins). Within a window, the *first* maximum in
    row-major order wins.

    Args:
        x: ``(N, C, H, W)``.
        kernel_size: >= 1; ``stride`` defaults to it; ``padding`` at most half the kernel.

    Returns:
        ``(out, indices)``, both ``(N, C, Ho, Wo)``: the maxima, and for each the flat index
        ``h * W + w`` of the input pixel it came from (int64, in the unpadded input).

    Raises:
        TypeError / ValueError: as ``conv2d``, and padding larger than half the kernel.
    """
    raise NotImplementedError(
        "TODO(13.2): window view, max and argmax, flat input indices - see README task 2"
    )


def max_pool2d_backward(
    grad_out: Tensor, indices: Tensor, input_shape: tuple[int, int, int, int]
) -> Tensor:
    """Gradient of ``max_pool2d`` with respect to its input ``(N, C, H, W) = input_shape``.

    Each output's gradient goes to the pixel ``indices`` names; a pixel that is the maximum
    of several (overlapping) windows receives the *sum* of their gradients.

    Raises:
        TypeError: ``indices`` not an int64 tensor. ValueError: shapes that do not match.
    """
    raise NotImplementedError(
        "TODO(13.2): route each gradient to its argmax, adding - see README task 2"
    )


# ----------------------------------------------------------------------------- task 3: softmax


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, as ``F.softmax``.

    Must not overflow: logits of 1e4 give finite probabilities. ``-inf`` entries get
    probability 0; a row that is all ``-inf`` gives NaN, as in torch.

    Raises:
        TypeError: ``x`` not a float tensor, ``dim`` not an int. ValueError: ``dim`` out of range.
    """
    raise NotImplementedError("TODO(13.3): max-subtracted softmax - see README task 3")


def softmax_backward(grad_out: Tensor, out: Tensor, dim: int = -1) -> Tensor:
    """Gradient of ``softmax`` with respect to its input, from its *output* ``out``.

    Raises:
        ValueError: ``grad_out`` and ``out`` differ in shape (and ``softmax``'s errors).
    """
    raise NotImplementedError("TODO(13.3): softmax's vector-Jacobian product - see README task 3")


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """``x - log(sum(exp(x)))`` along ``dim``, as ``F.log_softmax``: finite at logits of 1e4
    (never ``log`` of an underflowed softmax), ``-inf`` where ``x`` is ``-inf``."""
    raise NotImplementedError("TODO(13.3): log-sum-exp with the max trick - see README task 3")


def log_softmax_backward(grad_out: Tensor, out: Tensor, dim: int = -1) -> Tensor:
    """Gradient of ``log_softmax`` with respect to its input, from its output ``out``."""
    raise NotImplementedError(
        "TODO(13.3): log_softmax's vector-Jacobian product - see README task 3"
    )


def cross_entropy(
    logits: Tensor,
    target: Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: Reduction = Reduction.MEAN,
) -> Tensor:
    """Cross-entropy from logits, as ``F.cross_entropy`` with class-index targets.

    With ``eps = label_smoothing`` and ``C`` classes, a sample's loss is
    ``(1 - eps) * (-log p[y]) + eps * mean_c(-log p[c])`` (the cross-entropy against the
    target ``(1 - eps) * onehot(y) + eps / C``). A sample whose target is ``ignore_index``
    contributes 0 and is not counted: ``MEAN`` divides by the number of counted samples
    (all ignored: 0 / 0 = NaN, as torch).

    Args:
        logits: ``(N, C)`` floats.
        target: ``(N,)`` int64, each in ``[0, C)`` or equal to ``ignore_index``.
        label_smoothing: in ``[0, 1]``.
        reduction: ``Reduction.MEAN``, ``SUM`` or ``NONE`` (``(N,)`` per-sample losses).

    Raises:
        TypeError: float targets, a non-``Reduction`` reduction. ValueError: a target out of
        range, mismatched shapes, ``label_smoothing`` outside ``[0, 1]``.
    """
    raise NotImplementedError("TODO(13.3): stable cross-entropy on logits - see README task 3")


def cross_entropy_backward(
    grad_out: Tensor,
    logits: Tensor,
    target: Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: Reduction = Reduction.MEAN,
) -> Tensor:
    """Gradient of ``cross_entropy`` with respect to ``logits`` ``(N, C)``.

    ``grad_out`` is a scalar tensor for ``MEAN`` and ``SUM``, ``(N,)`` for ``NONE``.
    """
    raise NotImplementedError("TODO(13.3): softmax minus the smoothed target - see README task 3")


# ----------------------------------------------------------------------------- task 4: norms


def layer_norm(
    x: Tensor,
    normalized_shape: tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor]:
    """Layer normalisation over the trailing ``normalized_shape`` dimensions, as
    ``F.layer_norm``: ``(x - mean) * rstd * weight + bias``, ``rstd = 1 / sqrt(var + eps)``
    with the *biased* variance (divided by the element count).

    Args:
        x: ``(*, *normalized_shape)``.
        normalized_shape: a non-empty tuple, the trailing dimensions of ``x``.
        weight, bias: ``normalized_shape`` or ``None``.
        eps: > 0.

    Returns:
        ``(out, mean, rstd)``: ``out`` of ``x``'s shape; ``mean`` and ``rstd`` of shape
        ``(*, 1, ..., 1)`` (the normalised dimensions kept as 1), for the backward.
    """
    raise NotImplementedError("TODO(13.4): layer norm forward - see README task 4")


def layer_norm_backward(
    grad_out: Tensor,
    x: Tensor,
    mean: Tensor,
    rstd: Tensor,
    normalized_shape: tuple[int, ...],
    weight: Tensor | None = None,
) -> NormGrads:
    """Gradients of ``layer_norm``; ``mean`` and ``rstd`` are what the forward returned.

    Returns:
        ``NormGrads(input, weight, bias)``; ``weight`` and ``bias`` have ``normalized_shape``
        and are returned even when the forward had none (the gradients of ones and zeros).
    """
    raise NotImplementedError(
        "TODO(13.4): layer norm backward, through the statistics - see README task 4"
    )


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
    """Batch normalisation over every axis but the channels (axis 1), as ``F.batch_norm``.

    Training: normalise with the batch mean and the *biased* batch variance, and update the
    running statistics in place (when given) with
    ``running = (1 - momentum) * running + momentum * batch_statistic`` - the running
    variance from the *unbiased* batch variance (divided by count - 1).
    Eval: normalise with the running statistics (required); nothing is updated.

    Args:
        x: ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        running_mean, running_var, weight, bias: ``(C,)`` or ``None``.
        momentum: in ``[0, 1]``. eps: > 0.

    Returns:
        ``(out, mean, invstd)``: ``mean`` and ``invstd = 1 / sqrt(var + eps)`` ``(C,)`` are
        the statistics the output was normalised with (batch or running), for the backward.

    Raises:
        ValueError: training with one value per channel; eval without running statistics;
        shapes or ranges as above. TypeError: as ``conv2d``.
    """
    raise NotImplementedError(
        "TODO(13.4): batch norm forward and running statistics - see README task 4"
    )


def batch_norm_backward(
    grad_out: Tensor,
    x: Tensor,
    mean: Tensor,
    invstd: Tensor,
    weight: Tensor | None = None,
    training: bool = False,
) -> NormGrads:
    """Gradients of ``batch_norm``; ``mean`` and ``invstd`` are what the forward returned.

    In training the statistics depend on the batch, so the input gradient flows through them;
    in eval they are constants and the layer is an affine map.

    Returns:
        ``NormGrads(input, weight, bias)``, the last two ``(C,)`` and always returned.
    """
    raise NotImplementedError("TODO(13.4): batch norm backward, train and eval - see README task 4")


# ----------------------------------------------------------------------------- task 5: activations


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)``."""
    raise NotImplementedError("TODO(13.5): relu - see README task 5")


def relu_backward(grad_out: Tensor, x: Tensor) -> Tensor:
    """Gradient of ``relu`` with respect to ``x``: 0 at ``x == 0``, as torch."""
    raise NotImplementedError("TODO(13.5): relu backward - see README task 5")


def gelu(x: Tensor, approximate: Approximate = Approximate.NONE) -> Tensor:
    """GELU, as ``F.gelu``: ``x * Phi(x)`` with the normal CDF ``Phi`` (``Approximate.NONE``),
    or ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))`` (``Approximate.TANH``).

    Raises:
        TypeError: ``approximate`` is not an ``Approximate`` (a string is not accepted).
    """
    raise NotImplementedError("TODO(13.5): gelu, exact and tanh - see README task 5")


def gelu_backward(
    grad_out: Tensor, x: Tensor, approximate: Approximate = Approximate.NONE
) -> Tensor:
    """Gradient of ``gelu`` with respect to ``x`` (the derivative of the form chosen)."""
    raise NotImplementedError("TODO(13.5): gelu backward, exact and tanh - see README task 5")


def silu(x: Tensor) -> Tensor:
    """SiLU (swish): ``x * sigmoid(x)``."""
    raise NotImplementedError("TODO(13.5): silu - see README task 5")


def silu_backward(grad_out: Tensor, x: Tensor) -> Tensor:
    """Gradient of ``silu`` with respect to ``x``."""
    raise NotImplementedError("TODO(13.5): silu backward - see README task 5")


def dropout(
    x: Tensor, p: float = 0.5, training: bool = True, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    kept ones by ``1 / (1 - p)``, so evaluation needs no rescaling; in eval, the identity.

    Args:
        p: in ``[0, 1]`` (1 drops everything). generator: the random source (seeded by the
            caller: the same seed gives the same mask).

    Returns:
        ``(out, mask)``: ``mask`` is a bool tensor of ``x``'s shape, True where kept (all True
        in eval).
    """
    raise NotImplementedError("TODO(13.5): seeded inverted dropout - see README task 5")


def dropout_backward(grad_out: Tensor, mask: Tensor, p: float, training: bool = True) -> Tensor:
    """Gradient of ``dropout`` with respect to ``x``, from the mask it returned.

    Raises:
        TypeError: ``mask`` is not a bool tensor. ValueError: shapes differ, ``p`` out of range.
    """
    raise NotImplementedError("TODO(13.5): dropout backward - see README task 5")


# ----------------------------------------------------------------------------- task 6: attention


def multi_head_self_attention(
    x: Tensor,
    in_proj_weight: Tensor,
    in_proj_bias: Tensor | None,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    num_heads: int,
    causal: bool = False,
) -> Tensor:
    """Multi-head self-attention with ``nn.MultiheadAttention``'s parameter layout.

    ``q, k, v = split(x @ in_proj_weight^T + in_proj_bias)`` (rows ``[0, E)`` make q,
    ``[E, 2E)`` k, ``[2E, 3E)`` v); each is split into ``num_heads`` heads of ``D = E / H``
    consecutive features; per head ``softmax(q k^T / sqrt(D)) v`` (with ``causal``, query ``i``
    sees keys ``j <= i`` only); heads are concatenated and projected by
    ``out_proj_weight^T + out_proj_bias``.

    Args:
        x: ``(B, T, E)``. in_proj_weight: ``(3E, E)``; in_proj_bias ``(3E,)`` or ``None``.
        out_proj_weight: ``(E, E)``; out_proj_bias ``(E,)`` or ``None``.
        num_heads: divides ``E``. causal: a bool.

    Returns:
        ``(B, T, E)``.
    """
    raise NotImplementedError("TODO(13.6): batched multi-head attention - see README task 6")


def multi_head_self_attention_backward(
    grad_out: Tensor,
    x: Tensor,
    in_proj_weight: Tensor,
    in_proj_bias: Tensor | None,
    out_proj_weight: Tensor,
    num_heads: int,
    causal: bool = False,
) -> AttentionGrads:
    """Gradients of ``multi_head_self_attention`` given ``grad_out`` ``(B, T, E)``.

    Recompute what you need (the probabilities) from the inputs. The output bias does not
    change any gradient, so it is not an argument.

    Returns:
        ``AttentionGrads(input, in_proj_weight, in_proj_bias, out_proj_weight,
        out_proj_bias)``; the bias gradients are returned even when the forward had none.
    """
    raise NotImplementedError("TODO(13.6): attention backward - see README task 6")
