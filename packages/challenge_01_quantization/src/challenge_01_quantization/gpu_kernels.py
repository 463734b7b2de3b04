# mypy: disable-error-code="no-untyped-def,untyped-decorator"
"""Fused Triton kernels for the dynamic W8A8 layer on a GPU (given, not a task).

A dynamic INT8 layer run op by op reads the activations four times (max, divide, round, cast)
and its int32 output twice more (rescale, bias) around one ``torch._int_mm``; at prefill sizes
those memory passes cost more than the INT8 GEMM saves over fp16. Here:

- `quantize_rows`: one pass, one program per row: max|x|, scale = max / qmax, codes rounded
  half to even, written as int8 (or float8 e4m3, qmax 448) with the (M,) float32 scales.
- `int8_linear`: an INT8 GEMM (int32 accumulation on the tensor cores) whose epilogue applies
  the per-row activation scale, the per-column weight scale and the bias and writes the output
  dtype - the int32 accumulator never reaches memory.

Both run under ``TRITON_INTERPRET=1`` on a CPU (slowly), which is how their logic is tested
without a GPU.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import triton  # type: ignore[import-untyped]
import triton.language as tl  # type: ignore[import-untyped]
from torch import Tensor

__all__ = ["int8_linear", "quantize_rows"]

_EPS = torch.finfo(torch.float32).eps
MAX_ROW = 16384  # quantize_rows keeps a whole row in registers


@triton.jit
def _quantize_rows_kernel(
    x_ptr,
    q_ptr,
    scale_ptr,
    K,
    stride_x,
    stride_q,
    QMAX: tl.constexpr,
    EPS: tl.constexpr,
    IS_FP8: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    row = tl.program_id(0)
    offs = tl.arange(0, BLOCK_K)
    mask = offs < K
    x = tl.load(x_ptr + row * stride_x + offs, mask=mask, other=0.0).to(tl.float32)
    amax = tl.max(tl.abs(x), axis=0)
    scale = tl.maximum(amax, EPS) / QMAX
    v = x / scale
    if IS_FP8:
        q = tl.minimum(tl.maximum(v, -QMAX), QMAX).to(tl.float8e4nv)  # cast rounds to nearest
    else:
        r = (v + 12582912.0) - 12582912.0  # round half to even
        q = tl.minimum(tl.maximum(r, -QMAX), QMAX).to(tl.int8)
    tl.store(q_ptr + row * stride_q + offs, q, mask=mask)
    tl.store(scale_ptr + row, scale)


def quantize_rows(rows: Tensor, dtype: torch.dtype = torch.int8) -> tuple[Tensor, Tensor]:
    """Per-row symmetric quantization in one pass.

    Args:
        rows: (M, K) float16/bfloat16/float32 on a CUDA device (or any under TRITON_INTERPRET),
            K <= `MAX_ROW`, last dimension contiguous.
        dtype: ``torch.int8`` (codes in [-127, 127]) or ``torch.float8_e4m3fn`` (+-448).

    Returns:
        (codes (M, K) of ``dtype``, scales (M,) float32): rows ~= codes * scales[:, None].
    """
    m, k = rows.shape
    fp8 = dtype == torch.float8_e4m3fn
    codes = torch.empty((m, k), dtype=dtype, device=rows.device)
    scales = torch.empty(m, dtype=torch.float32, device=rows.device)
    block = triton.next_power_of_2(k)
    _quantize_rows_kernel[(m,)](
        rows,
        codes,
        scales,
        k,
        rows.stride(0),
        codes.stride(0),
        QMAX=448.0 if fp8 else 127.0,
        EPS=_EPS,
        IS_FP8=fp8,
        BLOCK_K=block,
        num_warps=8 if block >= 4096 else 4,
    )
    return codes, scales


def _configs() -> list[Any]:
    shapes = [  # (BLOCK_M, BLOCK_N, BLOCK_K, stages, warps)
        (128, 256, 128, 3, 8),
        (256, 128, 128, 3, 8),
        (128, 128, 128, 4, 8),
        (128, 128, 64, 4, 4),
        (64, 128, 128, 4, 4),
        (32, 64, 128, 4, 4),  # decode-sized M
    ]
    return [
        triton.Config(
            {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8},
            num_stages=stages,
            num_warps=warps,
        )
        for bm, bn, bk, stages, warps in shapes
    ]


@triton.autotune(configs=_configs(), key=["M_BUCKET", "N", "K"])  # tune per power-of-2 M
@triton.jit
def _int8_linear_kernel(
    a_ptr,
    b_ptr,
    c_ptr,
    a_scale_ptr,
    b_scale_ptr,
    bias_ptr,
    M,
    N,
    K,
    M_BUCKET,
    stride_am,
    stride_bn,
    stride_cm,
    HAS_BIAS: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,
):
    # Grouped tile order: GROUP_M row blocks share each column block while it is in L2.
    pid = tl.program_id(0)
    num_m, num_n = tl.cdiv(M, BLOCK_M), tl.cdiv(N, BLOCK_N)
    group = GROUP_M * num_n
    first_m = (pid // group) * GROUP_M
    size_m = min(num_m - first_m, GROUP_M)
    pid_m = first_m + (pid % group) % size_m
    pid_n = (pid % group) // size_m
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    rows = offs_m % M  # wrap instead of masking: out-of-range rows are computed, not stored
    cols = offs_n % N
    a_ptrs = a_ptr + rows[:, None] * stride_am + offs_k[None, :]  # (BLOCK_M, BLOCK_K) of A
    b_ptrs = b_ptr + cols[None, :] * stride_bn + offs_k[:, None]  # (BLOCK_K, BLOCK_N) of W^T
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.int32)
    for k in range(tl.cdiv(K, BLOCK_K)):
        left = K - k * BLOCK_K
        a = tl.load(a_ptrs, mask=offs_k[None, :] < left, other=0)
        b = tl.load(b_ptrs, mask=offs_k[:, None] < left, other=0)
        acc = tl.dot(a, b, acc, out_dtype=tl.int32)
        a_ptrs += BLOCK_K
        b_ptrs += BLOCK_K
    # Epilogue: y = acc * s_x[m] * s_w[n] + bias[n], in the output dtype.
    a_scale = tl.load(a_scale_ptr + rows)
    b_scale = tl.load(b_scale_ptr + cols)
    y = acc.to(tl.float32) * a_scale[:, None] * b_scale[None, :]
    if HAS_BIAS:
        y += tl.load(bias_ptr + cols)[None, :]
    c_ptrs = c_ptr + offs_m[:, None] * stride_cm + offs_n[None, :]
    mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    tl.store(c_ptrs, y.to(c_ptr.dtype.element_ty), mask=mask)


def int8_linear(
    codes: Tensor,
    row_scales: Tensor,
    weight_q: Tensor,
    weight_scale: Tensor,
    bias: Tensor | None,
    out_dtype: torch.dtype,
) -> Tensor:
    """(M, K) int8 codes x (N, K) int8 weight -> (M, N) ``out_dtype``, scaled in the epilogue.

    Args:
        codes: (M, K) int8, row-major; row_scales: (M,) float32.
        weight_q: (N, K) int8, row-major (so W^T is K-major, as the tensor cores want it).
        weight_scale: (N,) float32; bias: (N,) float32 or None.
        out_dtype: float16, bfloat16 or float32.
    """
    m, k = codes.shape
    n = weight_q.shape[0]
    out = torch.empty((m, n), dtype=out_dtype, device=codes.device)

    def grid(meta: dict[str, int]) -> tuple[int]:
        return (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)

    if os.environ.get("TRITON_INTERPRET") == "1":  # no GPU to time configs on: take one
        launch: Any = _int8_linear_kernel.fn[grid]
        meta: dict[str, Any] = {"BLOCK_M": 32, "BLOCK_N": 64, "BLOCK_K": 128, "GROUP_M": 8}
    else:
        launch, meta = _int8_linear_kernel[grid], {}
    launch(
        codes,
        weight_q,
        out,
        row_scales,
        weight_scale,
        weight_scale if bias is None else bias,  # unused without a bias
        m,
        n,
        k,
        triton.next_power_of_2(m),
        codes.stride(0),
        weight_q.stride(0),
        out.stride(0),
        HAS_BIAS=bias is not None,
        **meta,
    )
    return out
