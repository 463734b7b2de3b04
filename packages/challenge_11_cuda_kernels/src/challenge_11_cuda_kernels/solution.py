"""Challenge 11, solution: register-tiled SGEMM, shuffle reductions, fused and online kernels.

The CUDA kernels live in ``csrc/solution/*.cu`` (read their header comments); this module
checks arguments, shapes tensors into the 2-d contiguous form the launchers take, and holds the
Triton kernels: a 2-d tiled fused bias+ReLU, a softmax that keeps short rows in registers and
streams long ones with the online max/sum rescaling, and an autotuned tensor-core matmul with
grouped tile order for L2 reuse. Task 6 calls ``csrc/solution/index_math.cpp``.
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

KERNEL_SOURCES = extensions.kernel_sources("solution")
INDEX_MATH_SOURCE = extensions.index_math_source("solution")
BUILD_LABEL = "solution"


def _cuda() -> ModuleType:
    return extensions.cuda_ops(BUILD_LABEL, KERNEL_SOURCES)


def _cpu() -> ModuleType:
    return extensions.cpu_ops(INDEX_MATH_SOURCE)


def _jit(fn: Callable[..., None]) -> Any:
    return triton.jit(fn)


# ------------------------------------------------------------------------------------------
# Tasks 1-4, CUDA: checks here, kernels in csrc/solution/.


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a (m, k) @ b (k, n)`` in float32 (no TF32) with the register-tiled CUDA kernel."""
    a, b = contracts.matmul_operands(a, b, (torch.float32,))
    contracts.on_cuda(a, "a")
    out: Tensor = _cuda().matmul(a.contiguous(), b.contiguous())
    return out


def reduce_sum(x: Tensor) -> Tensor:
    """Sum of every element of float32 ``x`` as a 0-d tensor (0 for an empty ``x``)."""
    x = contracts.reduce_operand(x, allow_empty=True)
    contracts.on_cuda(x, "x")
    if x.numel() == 0:
        return torch.zeros((), dtype=x.dtype, device=x.device)
    out: Tensor = _cuda().reduce_sum(x.contiguous())
    return out


def reduce_max(x: Tensor) -> Tensor:
    """Largest element of float32 ``x`` as a 0-d tensor; NaN if any element is NaN."""
    x = contracts.reduce_operand(x, allow_empty=False)
    contracts.on_cuda(x, "x")
    out: Tensor = _cuda().reduce_max(x.contiguous())
    return out


def bias_relu(x: Tensor, bias: Tensor) -> Tensor:
    """``relu(x + bias)`` for float32 ``x (..., n)`` and ``bias (n,)``, in one CUDA pass."""
    x, bias = contracts.bias_relu_operands(x, bias, (torch.float32,))
    contracts.on_cuda(x, "x")
    rows = x.reshape(-1, x.shape[-1]).contiguous()  # (R, n)
    out: Tensor = _cuda().bias_relu(rows, bias.contiguous())
    return out.reshape(x.shape)


def softmax(x: Tensor) -> Tensor:
    """Softmax over the last dimension of float32 ``x (..., n)`` with the CUDA kernels."""
    x = contracts.softmax_operand(x, (torch.float32,))
    contracts.on_cuda(x, "x")
    rows = x.reshape(-1, x.shape[-1]).contiguous()  # (R, n)
    out: Tensor = _cuda().softmax(rows)
    return out.reshape(x.shape)


# ------------------------------------------------------------------------------------------
# Task 3, Triton: 2-d tiles, so the bias is loaded once per tile and no index is divided.


@_jit
@no_type_check
def _bias_relu_kernel(
    x_ptr, bias_ptr, out_ptr, rows, cols, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr
):
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)  # (BLOCK_R,)
    c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)  # (BLOCK_C,)
    mask = (r[:, None] < rows) & (c[None, :] < cols)  # (BLOCK_R, BLOCK_C)
    offsets = r[:, None].to(tl.int64) * cols + c[None, :]
    bias = tl.load(bias_ptr + c, mask=c < cols, other=0.0).to(tl.float32)
    x = tl.load(x_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    y = tl.maximum(x + bias[None, :], 0.0)
    tl.store(out_ptr + offsets, y.to(out_ptr.dtype.element_ty), mask=mask)


def bias_relu_triton(x: Tensor, bias: Tensor) -> Tensor:
    """``relu(x + bias)`` for ``x (..., n)``, ``bias (n,)`` (fp32/fp16/bf16) in one Triton pass."""
    x, bias = contracts.bias_relu_operands(x, bias, contracts.TRITON_FLOAT_DTYPES)
    contracts.on_triton_device(x, "x")
    rows = x.reshape(-1, x.shape[-1]).contiguous()  # (R, n)
    out = torch.empty_like(rows)
    if rows.numel() == 0:
        return out.reshape(x.shape)
    n_rows, n_cols = rows.shape
    block_c = min(triton.next_power_of_2(n_cols), 1024)
    block_r = max(1, 4096 // block_c)  # 4096 elements per program: 16 KB of fp32 in flight
    grid = (triton.cdiv(n_rows, block_r), triton.cdiv(n_cols, block_c))
    _bias_relu_kernel[grid](
        rows, bias.contiguous(), out, n_rows, n_cols, BLOCK_R=block_r, BLOCK_C=block_c
    )
    return out.reshape(x.shape)


# ------------------------------------------------------------------------------------------
# Task 4, Triton: rows that fit stay in registers (one read, one write); longer rows stream in
# chunks with the online max/sum, then a second pass writes.

_FUSED_ROW_MAX = 8192  # elements of a row held in registers by one program
_CHUNK = 4096  # elements per step of the streaming kernel


@_jit
@no_type_check
def _softmax_rows_kernel(x_ptr, out_ptr, rows, cols, ROWS: tl.constexpr, BLOCK: tl.constexpr):
    r = tl.program_id(0) * ROWS + tl.arange(0, ROWS)  # (ROWS,)
    c = tl.arange(0, BLOCK)  # (BLOCK,)
    mask = (r[:, None] < rows) & (c[None, :] < cols)  # (ROWS, BLOCK)
    offsets = r[:, None].to(tl.int64) * cols + c[None, :]
    x = tl.load(x_ptr + offsets, mask=mask, other=float("-inf")).to(tl.float32)
    m = tl.max(x, axis=1)  # (ROWS,); an all -inf row gives -inf - -inf = NaN below, as torch
    p = tl.exp(x - m[:, None])
    y = p / tl.sum(p, axis=1)[:, None]
    tl.store(out_ptr + offsets, y.to(out_ptr.dtype.element_ty), mask=mask)


@_jit
@no_type_check
def _softmax_online_kernel(x_ptr, out_ptr, cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    x_row = x_ptr + row * cols
    out_row = out_ptr + row * cols
    m = tl.full((BLOCK,), float("-inf"), tl.float32)  # running max per lane
    s = tl.zeros((BLOCK,), tl.float32)  # running sum of exp(x - m) per lane
    for start in range(0, cols, BLOCK):
        c = start + tl.arange(0, BLOCK)
        x = tl.load(x_row + c, mask=c < cols, other=float("-inf")).to(tl.float32)
        m_new = tl.maximum(m, x)
        safe = tl.where(m_new == float("-inf"), 0.0, m_new)  # keeps -inf - -inf out of s
        s = s * tl.exp(m - safe) + tl.exp(x - safe)
        m = m_new
    row_max = tl.max(m, axis=0)
    safe_max = tl.where(row_max == float("-inf"), 0.0, row_max)
    total = tl.sum(s * tl.exp(m - safe_max), axis=0)  # rescale every lane to the row max
    for start in range(0, cols, BLOCK):
        c = start + tl.arange(0, BLOCK)
        x = tl.load(x_row + c, mask=c < cols, other=float("-inf")).to(tl.float32)
        y = tl.exp(x - row_max) / total
        tl.store(out_row + c, y.to(out_ptr.dtype.element_ty), mask=c < cols)


def softmax_triton(x: Tensor) -> Tensor:
    """Softmax over the last dimension of ``x (..., n)`` (fp32/fp16/bf16) with Triton."""
    x = contracts.softmax_operand(x, contracts.TRITON_FLOAT_DTYPES)
    contracts.on_triton_device(x, "x")
    rows = x.reshape(-1, x.shape[-1]).contiguous()  # (R, n)
    out = torch.empty_like(rows)
    if rows.numel() == 0:
        return out.reshape(x.shape)
    n_rows, n_cols = rows.shape
    if n_cols <= _FUSED_ROW_MAX:
        block = triton.next_power_of_2(n_cols)
        per_program = max(1, min(16, 2048 // block))  # short rows: several per program
        warps = 4 if block <= 2048 else (8 if block <= 4096 else 16)
        grid = (triton.cdiv(n_rows, per_program),)
        _softmax_rows_kernel[grid](
            rows, out, n_rows, n_cols, ROWS=per_program, BLOCK=block, num_warps=warps
        )
    else:
        _softmax_online_kernel[(n_rows,)](rows, out, n_cols, BLOCK=_CHUNK, num_warps=8)
    return out.reshape(x.shape)


# ------------------------------------------------------------------------------------------
# Task 5, Triton: tensor-core matmul, fp32 accumulation, grouped tile order, autotuned on GPU.


@_jit
@no_type_check
def _matmul_kernel(
    a_ptr, b_ptr, c_ptr, M, N, K,
    stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
):  # fmt: skip
    # Grouped order: GROUP_M tile-rows share each B column tile while it is in L2.
    pid = tl.program_id(0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    tiles_n = tl.cdiv(N, BLOCK_N)
    per_group = GROUP_M * tiles_n
    first_m = (pid // per_group) * GROUP_M
    group_rows = min(tiles_m - first_m, GROUP_M)
    pid_m = first_m + (pid % per_group) % group_rows
    pid_n = (pid % per_group) // group_rows
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)  # (BLOCK_M,)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)  # (BLOCK_N,)
    rk = tl.arange(0, BLOCK_K)  # (BLOCK_K,)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        k = k0 + rk
        a = tl.load(
            a_ptr + rm[:, None] * stride_am + k[None, :] * stride_ak,
            mask=(rm[:, None] < M) & (k[None, :] < K),
            other=0.0,
        )  # (BLOCK_M, BLOCK_K)
        b = tl.load(
            b_ptr + k[:, None] * stride_bk + rn[None, :] * stride_bn,
            mask=(k[:, None] < K) & (rn[None, :] < N),
            other=0.0,
        )  # (BLOCK_K, BLOCK_N)
        acc = tl.dot(a, b, acc)
    c = c_ptr + rm[:, None] * stride_cm + rn[None, :] * stride_cn
    tl.store(c, acc.to(c_ptr.dtype.element_ty), mask=(rm[:, None] < M) & (rn[None, :] < N))


_MATMUL_CONFIGS = [
    triton.Config(
        {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8}, num_stages=s, num_warps=w
    )
    for bm, bn, bk, s, w in (
        (128, 256, 64, 3, 8),
        (256, 128, 64, 3, 8),
        (128, 128, 64, 4, 4),
        (128, 128, 64, 3, 8),
        (128, 64, 64, 4, 4),
        (64, 128, 64, 4, 4),
        (64, 64, 32, 4, 4),
    )
]
_matmul_autotuned = triton.autotune(configs=_MATMUL_CONFIGS, key=["M", "N", "K"])(_matmul_kernel)
# The interpreter cannot benchmark configs: it runs one small tile shape.
_INTERPRETER_CONFIG = {"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 32, "GROUP_M": 4}


def matmul_triton(a: Tensor, b: Tensor) -> Tensor:
    """``a (m, k) @ b (k, n)`` for bf16/fp16 operands on tensor cores, fp32 accumulation."""
    a, b = contracts.matmul_operands(a, b, contracts.TENSOR_CORE_DTYPES)
    contracts.on_triton_device(a, "a")
    (m, k), n = a.shape, b.shape[1]
    c = torch.empty((m, n), dtype=a.dtype, device=a.device)
    if m == 0 or n == 0:
        return c
    if k == 0:
        return c.zero_()
    args = (
        a,
        b,
        c,
        m,
        n,
        k,
        a.stride(0),
        a.stride(1),
        b.stride(0),
        b.stride(1),
        c.stride(0),
        c.stride(1),
    )
    if extensions.triton_interpreted():
        cfg = _INTERPRETER_CONFIG
        grid = (triton.cdiv(m, cfg["BLOCK_M"]) * triton.cdiv(n, cfg["BLOCK_N"]),)
        _matmul_kernel[grid](*args, **cfg)
    else:
        _matmul_autotuned[
            lambda meta: (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)
        ](*args)
    return c


# ------------------------------------------------------------------------------------------
# Task 6, C++ on the CPU: checks here, arithmetic in csrc/solution/index_math.cpp.


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Row-major strides of ``shape``, as ``torch.empty(shape).stride()``."""
    dims = contracts.shape(shape)
    return tuple(_cpu().contiguous_strides(list(dims)))


def is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether ``(shape, strides)`` is row-major, by torch's rule (size-1 dims are free)."""
    dims = contracts.shape(shape)
    steps = contracts.int_sequence(strides, "strides")
    contracts.same_length(dims, steps, "shape", "strides")
    return bool(_cpu().is_contiguous(list(dims), list(steps)))


def flat_offset(coord: Sequence[int], shape: Sequence[int], strides: Sequence[int]) -> int:
    """Storage offset of element ``coord`` of a tensor with ``shape`` and ``strides``."""
    point = contracts.int_sequence(coord, "coord")
    dims = contracts.shape(shape)
    steps = contracts.int_sequence(strides, "strides")
    contracts.same_length(dims, steps, "shape", "strides")
    contracts.coordinate(point, dims)
    return int(_cpu().flat_offset(list(point), list(dims), list(steps)))


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
    return tuple(_cpu().unravel_index(index, list(dims)))


def permute_strides(
    shape: Sequence[int], strides: Sequence[int], dims: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(shape, strides)`` of ``tensor.permute(dims)``: no data moves, strides follow dims."""
    sizes = contracts.shape(shape)
    steps = contracts.int_sequence(strides, "strides")
    order = contracts.int_sequence(dims, "dims")
    contracts.same_length(sizes, steps, "shape", "strides")
    contracts.permutation(order, len(sizes))
    new_shape, new_strides = _cpu().permute(list(sizes), list(steps), list(order))
    return tuple(new_shape), tuple(new_strides)


def reverse_bits(x: int) -> int:
    """The 32 bits of ``x`` (``0 <= x < 2**32``) in reverse order, without a loop."""
    return int(_cpu().reverse_bits(contracts.uint32(x)))
