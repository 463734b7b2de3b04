// Task 1, baseline: one thread per element of C, reading A and B straight from global memory.
// threadIdx.x walks the columns, so a warp reads one A element (broadcast) and 32 consecutive
// B elements per step: coalesced, but each operand is re-read from L2 by every block that needs it.
#include "launchers.h"

namespace {

constexpr int TILE = 16;

__global__ void sgemm_naive(const float* __restrict__ a, const float* __restrict__ b,
                            float* __restrict__ c, int m, int n, int k) {
  const int row = blockIdx.y * TILE + threadIdx.y;
  const int col = blockIdx.x * TILE + threadIdx.x;
  if (row >= m || col >= n) return;
  float acc = 0.f;
  for (int p = 0; p < k; ++p) {
    acc = fmaf(a[static_cast<int64_t>(row) * k + p], b[static_cast<int64_t>(p) * n + col], acc);
  }
  c[static_cast<int64_t>(row) * n + col] = acc;
}

}  // namespace

void launch_matmul(const float* a, const float* b, float* c, int m, int n, int k,
                   cudaStream_t stream) {
  const dim3 block(TILE, TILE);
  const dim3 grid((n + TILE - 1) / TILE, (m + TILE - 1) / TILE);
  sgemm_naive<<<grid, block, 0, stream>>>(a, b, c, m, n, k);
}
