"""Known wrong (GPU only): the SGEMM drops the __syncthreads() after the inner product, so a fast
warp overwrites the shared tiles of step k+1 while slower warps still read those of step k.
Results change from run to run; compute-sanitizer --tool racecheck reports the hazard. Needs a
GPU to show, so `prep verify` on a CPU machine skips it (its name starts with an underscore):
`CHALLENGE_IMPL=wrong:_gpu_missing_sync pytest -m gpu` runs it on a GPU."""

from __future__ import annotations

from challenge_11_cuda_kernels import extensions

from prep.impl import patched

_SOURCES = extensions.kernel_sources("solution")
_MATMUL = extensions.mutated_source(
    _SOURCES[0],
    "wrong_gpu_missing_sync",
    "    __syncthreads();  // everyone is done reading before the next step overwrites the slices\n",
    "",
)

IMPLEMENTATION = patched(
    "challenge_11_cuda_kernels.solution",
    KERNEL_SOURCES=(_MATMUL, *_SOURCES[1:]),
    BUILD_LABEL="wrong_gpu_missing_sync",
)
