// Task 4, solution: softmax over rows with the online max/sum rescaling.
//
// Each thread keeps a running (max m, sum s of exp(x - m)) over the elements it reads, rescaling
// s whenever m grows; partial pairs merge the same way across a warp (shuffles) and a block
// (shared memory). One pass finds (m, s), a second computes exp(x - m) / s: 2 reads + 1 write,
// and the second read of a row just read comes mostly from L2.
// Rows of up to 1024 elements get one warp each (no shared memory, no __syncthreads); longer
// rows get a block of 256 threads each, with 16-byte loads when the row allows.
#include "launchers.h"

namespace {

constexpr int WARP = 32;
constexpr int THREADS = 256;
constexpr int WARP_ROW_MAX = 1024;
constexpr unsigned FULL_MASK = 0xffffffffu;

struct MaxSum {
  float m;  // running max (never NaN)
  float s;  // sum of exp(x - m) over the elements seen
};

// Fold x into (m, s). -inf contributes exp(-inf) = 0: skipping it keeps an all -inf row at
// (m, s) = (-inf, 0), so the output exp(x - m) / s is NaN there, as in torch. NaN makes s NaN.
__device__ __forceinline__ MaxSum fold(MaxSum a, float x) {
  if (x == -INFINITY) return a;
  if (x > a.m) {
    a.s = a.s * expf(a.m - x) + 1.f;  // a.m = -inf: s * 0
    a.m = x;
  } else {
    a.s += expf(x - a.m);
  }
  return a;
}

// Merge two partial pairs: rescale both sums to the larger max.
__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.m, b.m);
  // A side with m = -inf has s = 0 (or NaN from a NaN input): s * 0 keeps the NaN.
  const float sa = a.m == -INFINITY ? a.s * 0.f : a.s * expf(a.m - m);
  const float sb = b.m == -INFINITY ? b.s * 0.f : b.s * expf(b.m - m);
  return {m, sa + sb};
}

__device__ __forceinline__ MaxSum warp_merge(MaxSum v) {
#pragma unroll
  for (int offset = WARP / 2; offset > 0; offset >>= 1) {
    const MaxSum other = {__shfl_xor_sync(FULL_MASK, v.m, offset),
                          __shfl_xor_sync(FULL_MASK, v.s, offset)};
    v = merge(v, other);
  }
  return v;  // every lane holds the warp's pair
}

// torch gives NaN for a whole row holding +inf (inf - inf); the online form would not.
__device__ __forceinline__ float final_sum(MaxSum v) { return v.m == INFINITY ? NAN : v.s; }

__global__ void __launch_bounds__(THREADS)
    softmax_warp_per_row(const float* __restrict__ x, float* __restrict__ out, int64_t rows,
                         int cols) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (THREADS / WARP) + threadIdx.x / WARP;
  if (row >= rows) return;  // whole warps leave together: the shuffles below stay full
  const int lane = threadIdx.x % WARP;
  const float* x_row = x + row * cols;
  float* out_row = out + row * cols;
  MaxSum acc = {-INFINITY, 0.f};
  for (int j = lane; j < cols; j += WARP) acc = fold(acc, x_row[j]);
  acc = warp_merge(acc);
  const float s = final_sum(acc);
  for (int j = lane; j < cols; j += WARP) out_row[j] = expf(x_row[j] - acc.m) / s;
}

template <bool VEC>
__global__ void __launch_bounds__(THREADS)
    softmax_block_per_row(const float* __restrict__ x, float* __restrict__ out, int64_t cols) {
  __shared__ MaxSum warp_pairs[THREADS / WARP];
  __shared__ MaxSum row_pair;
  const float* x_row = x + static_cast<int64_t>(blockIdx.x) * cols;
  float* out_row = out + static_cast<int64_t>(blockIdx.x) * cols;
  MaxSum acc = {-INFINITY, 0.f};
  if (VEC) {
    const float4* x4 = reinterpret_cast<const float4*>(x_row);
    for (int64_t j = threadIdx.x; j < cols / 4; j += THREADS) {
      const float4 v = x4[j];
      acc = fold(fold(fold(fold(acc, v.x), v.y), v.z), v.w);
    }
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += THREADS) acc = fold(acc, x_row[j]);
  }
  acc = warp_merge(acc);
  if (threadIdx.x % WARP == 0) warp_pairs[threadIdx.x / WARP] = acc;
  __syncthreads();
  if (threadIdx.x < WARP) {
    MaxSum v = threadIdx.x < THREADS / WARP ? warp_pairs[threadIdx.x] : MaxSum{-INFINITY, 0.f};
    v = warp_merge(v);
    if (threadIdx.x == 0) row_pair = v;
  }
  __syncthreads();
  const float m = row_pair.m;
  const float inv_s = 1.f / final_sum(row_pair);
  if (VEC) {
    const float4* x4 = reinterpret_cast<const float4*>(x_row);
    float4* out4 = reinterpret_cast<float4*>(out_row);
    for (int64_t j = threadIdx.x; j < cols / 4; j += THREADS) {
      const float4 v = x4[j];
      out4[j] = make_float4(expf(v.x - m) * inv_s, expf(v.y - m) * inv_s, expf(v.z - m) * inv_s,
                            expf(v.w - m) * inv_s);
    }
  } else {
    for (int64_t j = threadIdx.x; j < cols; j += THREADS) out_row[j] = expf(x_row[j] - m) * inv_s;
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void launch_softmax(const float* x, float* out, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (cols <= WARP_ROW_MAX) {
    const int64_t rows_per_block = THREADS / WARP;
    const auto blocks = static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block);
    softmax_warp_per_row<<<blocks, THREADS, 0, stream>>>(x, out, rows, static_cast<int>(cols));
  } else if (cols % 4 == 0 && aligned16(x) && aligned16(out)) {
    softmax_block_per_row<true><<<static_cast<unsigned>(rows), THREADS, 0, stream>>>(x, out, cols);
  } else {
    softmax_block_per_row<false><<<static_cast<unsigned>(rows), THREADS, 0, stream>>>(x, out, cols);
  }
}
