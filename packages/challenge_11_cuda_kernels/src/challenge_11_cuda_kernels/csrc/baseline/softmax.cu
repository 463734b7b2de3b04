// Task 4, baseline: one thread per row and three passes (max, sum of exp(x - max), normalise).
// Neighbouring threads read addresses a whole row apart: no coalescing at all.
#include "launchers.h"

namespace {

constexpr int THREADS = 128;

__global__ void softmax_thread_per_row(const float* __restrict__ x, float* __restrict__ out,
                                       int64_t rows, int64_t cols) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * THREADS + threadIdx.x;
  if (row >= rows) return;
  const float* x_row = x + row * cols;
  float* out_row = out + row * cols;
  float m = -INFINITY;
  for (int64_t j = 0; j < cols; ++j) m = fmaxf(m, x_row[j]);
  float s = 0.f;
  for (int64_t j = 0; j < cols; ++j) s += expf(x_row[j] - m);  // all -inf: -inf - -inf = NaN
  for (int64_t j = 0; j < cols; ++j) out_row[j] = expf(x_row[j] - m) / s;
}

}  // namespace

void launch_softmax(const float* x, float* out, int64_t rows, int64_t cols, cudaStream_t stream) {
  const auto blocks = static_cast<unsigned>((rows + THREADS - 1) / THREADS);
  softmax_thread_per_row<<<blocks, THREADS, 0, stream>>>(x, out, rows, cols);
}
