"""Challenge 11, baseline: the first rung of each ladder, simple and obviously correct.

CUDA (``csrc/baseline/*.cu``): one thread per output for the matmul, the interleaved
shared-memory tree for the reductions, bias and ReLU as two kernels, one thread per row for the
softmax. Triton: a flat 1-d bias+ReLU that divides every index by the row length, a three-pass
softmax (max, sum, write) in fixed chunks, a matmul with one fixed tile shape and row-major tile
order. Task 6 is plain Python loops.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, no_type_check

import torch
import triton  # type: ignore[import-untyped]
import triton.language as tl  # type: ignore[import-untyped]
from torch import Tensor

from challenge_11_cuda_kernels import contracts, extensions

__all__ = [
    "bias_relu",
    "bias_relu_triton",
    "contiguous_strides",
    "flat_offset",
    "is_contiguous",
    "matmul",
    "matmul_triton",
    "permute_strides",
    "reduce_max",
    "reduce_sum",
    "reverse_bits",
    "softmax",
    "softmax_triton",
    "unravel_index",
]

KERNEL_SOURCES = extensions.kernel_sources("baseline")
BUILD_LABEL = "baseline"


def _cuda() -> ModuleType:
    return extensions.cuda_ops(BUILD_LABEL, KERNEL_SOURCES)


def _jit(fn: Callable[..., None]) -> Any:
    return triton.jit(fn)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a (m, k) @ b (k, n)`` in float32, one CUDA thread per output element."""
    a, b = contracts.matmul_operands(a, b, (torch.float32,))
    contracts.on_cuda(a, "a")
    out: Tensor = _cuda().matmul(a.contiguous(), b.contiguous())
    return out


def reduce_sum(x: Tensor) -> Tensor:
    """Sum of every element of float32 ``x`` (0-d; 0 when empty), tree in shared memory."""
    x = contracts.reduce_operand(x, allow_empty=True)
    contracts.on_cuda(x, "x")
    if x.numel() == 0:
        return torch.zeros((), dtype=x.dtype, device=x.device)
    out: Tensor = _cuda().reduce_sum(x.contiguous())
    return out


def reduce_max(x: Tensor) -> Tensor:
    """Largest element of float32 ``x`` (0-d; NaN wins), tree in shared memory."""
    x = contracts.reduce_operand(x, allow_empty=False)
    contracts.on_cuda(x, "x")
    out: Tensor = _cuda().reduce_max(x.contiguous())
    return out


def bias_relu(x: Tensor, bias: Tensor) -> Tensor:
    """``relu(x + bias)`` for float32 ``x (..., n)``, ``bias (n,)``: add, then ReLU."""
    x, bias = contracts.bias_relu_operands(x, bias, (torch.float32,))
    contracts.on_cuda(x, "x")
    rows = x.reshape(-1, x.shape[-1]).contiguous()  # (R, n)
    out: Tensor = _cuda().bias_relu(rows, bias.contiguous())
    return out.reshape(x.shape)


def softmax(x: Tensor) -> Tensor:
    """Softmax over the last dimension of float32 ``x (..., n)``, one CUDA thread per row."""
    x = contracts.softmax_operand(x, (torch.float32,))
    contracts.on_cuda(x, "x")
    rows = x.reshape(-1, x.shape[-1]).contiguous()  # (R, n)
    out: Tensor = _cuda().softmax(rows)
    return out.reshape(x.shape)


_BLOCK = 1024


@_jit
@no_type_check
def _bias_relu_kernel(x_ptr, bias_ptr, out_ptr, numel, cols, BLOCK: tl.constexpr):
    offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < numel
    x = tl.load(x_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    bias = tl.load(bias_ptr + offsets % cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + offsets, tl.maximum(x + bias, 0.0).to(out_ptr.dtype.element_ty), mask=mask)


def bias_relu_triton(x: Tensor, bias: Tensor) -> Tensor:
    """``relu(x + bias)`` for ``x (..., n)``, ``bias (n,)`` (fp32/fp16/bf16), flat 1-d Triton."""
    x, bias = contracts.bias_relu_operands(x, bias, contracts.TRITON_FLOAT_DTYPES)
    contracts.on_triton_device(x, "x")
    flat = x.contiguous()
    out = torch.empty_like(flat)
    if flat.numel() == 0:
        return out
    grid = (triton.cdiv(flat.numel(), _BLOCK),)
    _bias_relu_kernel[grid](flat, bias.contiguous(), out, flat.numel(), x.shape[-1], BLOCK=_BLOCK)
    return out


@_jit
@no_type_check
def _softmax_kernel(x_ptr, out_ptr, cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    x_row = x_ptr + row * cols
    out_row = out_ptr + row * cols
    m = tl.full((BLOCK,), float("-inf"), tl.float32)
    for start in range(0, cols, BLOCK):
        c = start + tl.arange(0, BLOCK)
        m = tl.maximum(m, tl.load(x_row + c, mask=c < cols, other=float("-inf")).to(tl.float32))
    row_max = tl.max(m, axis=0)
    s = tl.zeros((BLOCK,), tl.float32)
    for start in range(0, cols, BLOCK):
        c = start + tl.arange(0, BLOCK)
        x = tl.load(x_row + c, mask=c < cols, other=float("-inf")).to(tl.float32)
        s += tl.where(c < cols, tl.exp(x - row_max), 0.0)
    total = tl.sum(s, axis=0)
    for start in range(0, cols, BLOCK):
        c = start + tl.arange(0, BLOCK)
        x = tl.load(x_row + c, mask=c < cols, other=float("-inf")).to(tl.float32)
        tl.store(
            out_row + c, (tl.exp(x - row_max) / total).to(out_ptr.dtype.element_ty), mask=c < cols
        )


def softmax_triton(x: Tensor) -> Tensor:
    """Softmax over the last dimension of ``x (..., n)`` (fp32/fp16/bf16), three Triton passes."""
    x = contracts.softmax_operand(x, contracts.TRITON_FLOAT_DTYPES)
    contracts.on_triton_device(x, "x")
    rows = x.reshape(-1, x.shape[-1]).contiguous()  # (R, n)
    out = torch.empty_like(rows)
    if rows.numel() == 0:
        return out.reshape(x.shape)
    block = min(_BLOCK, triton.next_power_of_2(rows.shape[1]))
    _softmax_kernel[(rows.shape[0],)](rows, out, rows.shape[1], BLOCK=block)
    return out.reshape(x.shape)


@_jit
@no_type_check
def _matmul_kernel(
    a_ptr, b_ptr, c_ptr, M, N, K,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):  # fmt: skip
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)  # (BLOCK_M,)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)  # (BLOCK_N,)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        k = k0 + tl.arange(0, BLOCK_K)  # (BLOCK_K,)
        a = tl.load(
            a_ptr + rm[:, None] * K + k[None, :],
            mask=(rm[:, None] < M) & (k[None, :] < K),
            other=0.0,
        )
        b = tl.load(
            b_ptr + k[:, None] * N + rn[None, :],
            mask=(k[:, None] < K) & (rn[None, :] < N),
            other=0.0,
        )
        acc = tl.dot(a, b, acc)
    mask = (rm[:, None] < M) & (rn[None, :] < N)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc.to(c_ptr.dtype.element_ty), mask=mask)


def matmul_triton(a: Tensor, b: Tensor) -> Tensor:
    """``a (m, k) @ b (k, n)`` for bf16/fp16 operands, fixed 64x64x32 tiles in row-major order."""
    a, b = contracts.matmul_operands(a, b, contracts.TENSOR_CORE_DTYPES)
    contracts.on_triton_device(a, "a")
    a, b = a.contiguous(), b.contiguous()
    (m, k), n = a.shape, b.shape[1]
    c = torch.empty((m, n), dtype=a.dtype, device=a.device)
    if m == 0 or n == 0:
        return c
    if k == 0:
        return c.zero_()
    grid = (triton.cdiv(m, 64), triton.cdiv(n, 64))
    _matmul_kernel[grid](a, b, c, m, n, k, BLOCK_M=64, BLOCK_N=64, BLOCK_K=32)
    return c


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Row-major strides of ``shape``, as ``torch.empty(shape).stride()``."""
    dims = contracts.shape(shape)
    strides = [0] * len(dims)
    step = 1
    for k in reversed(range(len(dims))):
        strides[k] = step
        step *= max(dims[k], 1)
    return tuple(strides)


def is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether ``(shape, strides)`` is row-major, by torch's rule (size-1 dims are free)."""
    dims = contracts.shape(shape)
    steps = contracts.int_sequence(strides, "strides")
    contracts.same_length(dims, steps, "shape", "strides")
    if 0 in dims:
        return True
    expected = contiguous_strides(dims)
    return all(d == 1 or s == e for d, s, e in zip(dims, steps, expected, strict=True))


def flat_offset(coord: Sequence[int], shape: Sequence[int], strides: Sequence[int]) -> int:
    """Storage offset of element ``coord`` of a tensor with ``shape`` and ``strides``."""
    point = contracts.int_sequence(coord, "coord")
    dims = contracts.shape(shape)
    steps = contracts.int_sequence(strides, "strides")
    contracts.same_length(dims, steps, "shape", "strides")
    contracts.coordinate(point, dims)
    return sum(i * s for i, s in zip(point, steps, strict=True))


def unravel_index(index: int, shape: Sequence[int]) -> tuple[int, ...]:
    """The coordinate of the ``index``-th element of ``shape`` in row-major order."""
    dims = contracts.shape(shape)
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"index must be an int, got {type(index).__name__}")
    numel = 1
    for d in dims:
        numel *= d
    if not 0 <= index < numel:
        raise ValueError(f"index {index} is outside [0, {numel}) for shape {dims}")
    coord = []
    for d in reversed(dims):
        index, i = divmod(index, d)
        coord.append(i)
    return tuple(reversed(coord))


def permute_strides(
    shape: Sequence[int], strides: Sequence[int], dims: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(shape, strides)`` of ``tensor.permute(dims)``: no data moves, strides follow dims."""
    sizes = contracts.shape(shape)
    steps = contracts.int_sequence(strides, "strides")
    order = contracts.int_sequence(dims, "dims")
    contracts.same_length(sizes, steps, "shape", "strides")
    contracts.permutation(order, len(sizes))
    return tuple(sizes[d] for d in order), tuple(steps[d] for d in order)


def reverse_bits(x: int) -> int:
    """The 32 bits of ``x`` (``0 <= x < 2**32``) in reverse order, one bit at a time."""
    x = contracts.uint32(x)
    out = 0
    for _ in range(32):
        out = (out << 1) | (x & 1)
        x >>= 1
    return out
