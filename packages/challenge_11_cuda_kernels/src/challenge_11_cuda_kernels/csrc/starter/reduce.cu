// Task 2: your reductions. *out = sum (or max) of x[0..n), n >= 1, float32.
// Aim: grid-stride loads (16 bytes wide), a warp reduction with __shfl_down_sync, one result per
// block, then one more pass (or one atomic per block). torch.max propagates NaN: so should you.
#include "launchers.h"

namespace {

__global__ void reduce_sum_kernel(const float* __restrict__ x, int64_t n, float* __restrict__ out) {
  // TODO(11.2): each thread accumulates its grid-stride share, then the block combines them.
}

__global__ void reduce_max_kernel(const float* __restrict__ x, int64_t n, float* __restrict__ out) {
  // TODO(11.2): as reduce_sum_kernel, with max (a NaN anywhere makes the result NaN).
}

}  // namespace

// How many floats of scratch memory your launchers need for n inputs (per-block partials).
int64_t reduce_workspace_floats(int64_t n) { return 1; }

void launch_reduce_sum(const float* x, int64_t n, float* workspace, float* out,
                       cudaStream_t stream) {
  // TODO(11.2): first pass into workspace, second pass (or atomics) into out.
  reduce_sum_kernel<<<1, 1, 0, stream>>>(x, n, out);
}

void launch_reduce_max(const float* x, int64_t n, float* workspace, float* out,
                       cudaStream_t stream) {
  // TODO(11.2): as launch_reduce_sum.
  reduce_max_kernel<<<1, 1, 0, stream>>>(x, n, out);
}
