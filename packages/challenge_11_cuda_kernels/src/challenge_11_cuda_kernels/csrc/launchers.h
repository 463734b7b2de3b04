// The contract between bindings.cpp and each implementation's kernels (csrc/<impl>/*.cu).
//
// Every launcher takes device pointers to contiguous row-major float32 data, the sizes, and the
// stream to launch on; it checks nothing (bindings.cpp has validated shapes and devices) and
// returns as soon as its kernels are queued.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

// Task 1: c (m, n) = a (m, k) @ b (k, n), with k >= 1 and m, n >= 1.
void launch_matmul(const float* a, const float* b, float* c, int m, int n, int k,
                   cudaStream_t stream);

// Task 2: *out = sum / max of the n >= 1 floats at x. `workspace` holds
// reduce_workspace_floats(n) floats the launcher may use for per-block partial results.
int64_t reduce_workspace_floats(int64_t n);
void launch_reduce_sum(const float* x, int64_t n, float* workspace, float* out,
                       cudaStream_t stream);
void launch_reduce_max(const float* x, int64_t n, float* workspace, float* out,
                       cudaStream_t stream);

// Task 3: out (rows, cols) = max(x + bias, 0), bias (cols,) broadcast over rows; rows, cols >= 1.
void launch_bias_relu(const float* x, const float* bias, float* out, int64_t rows, int64_t cols,
                      cudaStream_t stream);

// Task 4: out (rows, cols) = softmax of each row of x; rows, cols >= 1.
void launch_softmax(const float* x, float* out, int64_t rows, int64_t cols, cudaStream_t stream);
