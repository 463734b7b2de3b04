"""Known wrong: the bias is indexed by the row instead of the column (``x + bias[:, None]``
instead of ``x + bias``), the broadcasting slip that passes every square, batch-of-one or
constant-bias test. Planted in the Triton kernel and in the CUDA kernel for odd widths."""

from __future__ import annotations

from typing import no_type_check

import triton.language as tl  # type: ignore[import-untyped]
from challenge_11_cuda_kernels import extensions, solution

from prep.impl import patched

_SOURCES = extensions.kernel_sources("solution")
_BIAS_RELU = extensions.mutated_source(
    _SOURCES[2],
    "wrong_bias_indexed_by_row",
    "out[row * cols + col] = relu_add(x[row * cols + col], b);",
    "out[row * cols + col] = relu_add(x[row * cols + col], bias[row % cols]);",
)


@solution._jit
@no_type_check
def _bias_by_row(
    x_ptr, bias_ptr, out_ptr, rows, cols, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr
):
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    mask = (r[:, None] < rows) & (c[None, :] < cols)
    offsets = r[:, None].to(tl.int64) * cols + c[None, :]
    bias = tl.load(bias_ptr + r % cols).to(tl.float32)  # the bug: one bias per row
    x = tl.load(x_ptr + offsets, mask=mask, other=0.0).to(tl.float32)
    y = tl.maximum(x + bias[:, None], 0.0)
    tl.store(out_ptr + offsets, y.to(out_ptr.dtype.element_ty), mask=mask)


IMPLEMENTATION = patched(
    "challenge_11_cuda_kernels.solution",
    KERNEL_SOURCES=(*_SOURCES[:2], _BIAS_RELU, _SOURCES[3]),
    BUILD_LABEL="wrong_bias_indexed_by_row",
    _bias_relu_kernel=_bias_by_row,
)

TASK = 3  # whose tests reject it: `prep verify` runs them first
