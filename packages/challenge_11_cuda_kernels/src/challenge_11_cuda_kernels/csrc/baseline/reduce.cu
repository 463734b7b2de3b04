// Task 2, baseline: the first rung of the reduction ladder (interleaved addressing in shared
// memory). Each block loads 256 elements and halves them in a tree where thread t works while
// t % (2s) == 0: half the threads of every warp idle at each level (divergence) and most loads
// are done by few threads. Passes repeat on the block results until one value is left.
#include "launchers.h"

namespace {

constexpr int THREADS = 256;

struct Sum {
  static __device__ float identity() { return 0.f; }
  static __device__ float apply(float a, float b) { return a + b; }
};

struct Max {
  static __device__ float identity() { return -INFINITY; }
  static __device__ float apply(float a, float b) { return (a > b || a != a) ? a : b; }  // NaN wins
};

template <class Op>
__global__ void reduce_interleaved(const float* __restrict__ x, int64_t n, float* __restrict__ out) {
  __shared__ float partial[THREADS];
  const unsigned t = threadIdx.x;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * THREADS + t;
  partial[t] = i < n ? x[i] : Op::identity();
  __syncthreads();
  for (unsigned s = 1; s < THREADS; s *= 2) {
    if (t % (2 * s) == 0) partial[t] = Op::apply(partial[t], partial[t + s]);
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = partial[0];
}

int64_t blocks_for(int64_t n) { return (n + THREADS - 1) / THREADS; }

template <class Op>
void launch(const float* x, int64_t n, float* workspace, float* out, cudaStream_t stream) {
  // Level sizes shrink 256x per pass; each level's results go after the previous level's.
  const float* in = x;
  while (n > 1) {
    const int64_t blocks = blocks_for(n);
    float* level = blocks == 1 ? out : workspace;
    reduce_interleaved<Op><<<static_cast<unsigned>(blocks), THREADS, 0, stream>>>(in, n, level);
    in = level;
    workspace += blocks;
    n = blocks;
  }
  if (in == x) cudaMemcpyAsync(out, x, sizeof(float), cudaMemcpyDeviceToDevice, stream);  // n == 1
}

}  // namespace

int64_t reduce_workspace_floats(int64_t n) {
  int64_t total = 1;
  for (n = blocks_for(n); n > 1; n = blocks_for(n)) total += n;
  return total;
}

void launch_reduce_sum(const float* x, int64_t n, float* workspace, float* out,
                       cudaStream_t stream) {
  launch<Sum>(x, n, workspace, out, stream);
}

void launch_reduce_max(const float* x, int64_t n, float* workspace, float* out,
                       cudaStream_t stream) {
  launch<Max>(x, n, workspace, out, stream);
}
