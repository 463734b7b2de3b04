"""Known wrong: softmax as exp(x) / sum(exp(x)), without subtracting the row max first.

Mathematically the same function, and right for small logits; but exp overflows float32 above
about 88, so a row with large logits becomes inf / inf = NaN. Planted in the Triton kernel that
holds rows in registers and in the CUDA kernels' running (max, sum), whose max stays 0."""

from __future__ import annotations

from typing import no_type_check

import triton.language as tl  # type: ignore[import-untyped]
from challenge_11_cuda_kernels import extensions, solution

from prep.impl import patched

_SOURCES = extensions.kernel_sources("solution")
_SOFTMAX = extensions.mutated_source(
    _SOURCES[3],
    "wrong_softmax_max_not_subtracted",
    """  if (x > a.m) {
    a.s = a.s * expf(a.m - x) + 1.f;  // a.m = -inf: s * 0
    a.m = x;
  } else {
    a.s += expf(x - a.m);
  }""",
    "  a.s += expf(x);\n  a.m = 0.f;",
)


@solution._jit
@no_type_check
def _rows_without_max(x_ptr, out_ptr, rows, cols, ROWS: tl.constexpr, BLOCK: tl.constexpr):
    r = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    c = tl.arange(0, BLOCK)
    mask = (r[:, None] < rows) & (c[None, :] < cols)
    offsets = r[:, None].to(tl.int64) * cols + c[None, :]
    x = tl.load(x_ptr + offsets, mask=mask, other=float("-inf")).to(tl.float32)
    p = tl.exp(x)  # the bug: no "- max"
    y = p / tl.sum(p, axis=1)[:, None]
    tl.store(out_ptr + offsets, y.to(out_ptr.dtype.element_ty), mask=mask)


IMPLEMENTATION = patched(
    "challenge_11_cuda_kernels.solution",
    KERNEL_SOURCES=(*_SOURCES[:3], _SOFTMAX),
    BUILD_LABEL="wrong_softmax_max_not_subtracted",
    _softmax_rows_kernel=_rows_without_max,
)

TASK = 4  # whose tests reject it: `prep verify` runs them first
