// Task 3, baseline: unfused, two kernels: out = x + bias, then out = max(out, 0) in place.
// The intermediate makes a round trip through memory: 2 reads + 2 writes instead of 1 + 1.
#include "launchers.h"

namespace {

constexpr int THREADS = 256;

__global__ void add_bias(const float* __restrict__ x, const float* __restrict__ bias,
                         float* __restrict__ out, int64_t n, int64_t cols) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * THREADS + threadIdx.x;
  if (i < n) out[i] = x[i] + bias[i % cols];
}

__global__ void relu_inplace(float* __restrict__ out, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * THREADS + threadIdx.x;
  if (i < n) out[i] = fmaxf(out[i], 0.f);
}

}  // namespace

void launch_bias_relu(const float* x, const float* bias, float* out, int64_t rows, int64_t cols,
                      cudaStream_t stream) {
  const int64_t n = rows * cols;
  const auto blocks = static_cast<unsigned>((n + THREADS - 1) / THREADS);
  add_bias<<<blocks, THREADS, 0, stream>>>(x, bias, out, n, cols);
  relu_inplace<<<blocks, THREADS, 0, stream>>>(out, n);
}
