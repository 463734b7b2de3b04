"""Known wrong (GPU only): the SGEMM's edge guard on the store reads `col <= n` instead of
`col < n`, so on widths that are not a multiple of 4 each row writes one element past its end:
into the next row's first element (a race with its owner), or past the buffer on the last row
(compute-sanitizer --tool memcheck reports it). `CHALLENGE_IMPL=wrong:_gpu_store_guard_off_by_one
pytest -m gpu` runs it on a GPU."""

from __future__ import annotations

from challenge_11_cuda_kernels import extensions

from prep.impl import patched

_SOURCES = extensions.kernel_sources("solution")
_MATMUL = extensions.mutated_source(
    _SOURCES[0],
    "wrong_gpu_store_guard_off_by_one",
    "if (col + jj < n) c_row[col + jj]",
    "if (col + jj <= n) c_row[col + jj]",
)

IMPLEMENTATION = patched(
    "challenge_11_cuda_kernels.solution",
    KERNEL_SOURCES=(_MATMUL, *_SOURCES[1:]),
    BUILD_LABEL="wrong_gpu_store_guard_off_by_one",
)
