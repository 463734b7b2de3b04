"""Known wrong (GPU only): the reduction reads the input as float4 and forgets the n % 4
elements after the last full vector (and everything, when the input is not 16-byte aligned).
Right whenever n is a multiple of 4 and the data is aligned: the sizes people benchmark.
`CHALLENGE_IMPL=wrong:_gpu_reduce_drops_tail pytest -m gpu` runs it on a GPU."""

from __future__ import annotations

from challenge_11_cuda_kernels import extensions

from prep.impl import patched

_SOURCES = extensions.kernel_sources("solution")
_REDUCE = extensions.mutated_source(
    _SOURCES[1],
    "wrong_gpu_reduce_drops_tail",
    "  for (int64_t j = 4 * n4 + start; j < n; j += stride) acc = Op::apply(acc, x[j]);  // the tail\n",
    "",
)

IMPLEMENTATION = patched(
    "challenge_11_cuda_kernels.solution",
    KERNEL_SOURCES=(_SOURCES[0], _REDUCE, *_SOURCES[2:]),
    BUILD_LABEL="wrong_gpu_reduce_drops_tail",
)
