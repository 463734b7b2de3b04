// Python bindings of the CUDA launchers (launchers.h): tensor checks, output allocation, the
// current stream, and a launch-error check after every kernel. Shared by every implementation:
// each one links its own csrc/<impl>/*.cu against this file.
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/extension.h>

#include "launchers.h"

namespace {

void check_float_cuda(const torch::Tensor& t, const char* name) {
  TORCH_CHECK(t.is_cuda(), name, " must be a CUDA tensor, got one on ", t.device());
  TORCH_CHECK(t.scalar_type() == torch::kFloat32, name, " must be float32, got ", t.scalar_type());
  TORCH_CHECK(t.is_contiguous(), name, " must be contiguous");
}

cudaStream_t current_stream() { return c10::cuda::getCurrentCUDAStream(); }

torch::Tensor matmul(const torch::Tensor& a, const torch::Tensor& b) {
  check_float_cuda(a, "a");
  check_float_cuda(b, "b");
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0),
              "a and b must be (m, k) and (k, n), got ", a.sizes(), " and ", b.sizes());
  const c10::cuda::CUDAGuard guard(a.device());
  const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  TORCH_CHECK(m < INT32_MAX && n < INT32_MAX && k < INT32_MAX, "matmul sizes must fit in int32");
  auto c = torch::empty({m, n}, a.options());
  if (m == 0 || n == 0) return c;
  if (k == 0) return c.zero_();
  launch_matmul(a.data_ptr<float>(), b.data_ptr<float>(), c.data_ptr<float>(),
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), current_stream());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return c;
}

template <void (*Launch)(const float*, int64_t, float*, float*, cudaStream_t)>
torch::Tensor reduce(const torch::Tensor& x) {
  check_float_cuda(x, "x");
  TORCH_CHECK(x.numel() > 0, "x must not be empty");
  const c10::cuda::CUDAGuard guard(x.device());
  auto out = torch::empty({}, x.options());
  auto workspace = torch::empty({reduce_workspace_floats(x.numel())}, x.options());
  Launch(x.data_ptr<float>(), x.numel(), workspace.data_ptr<float>(), out.data_ptr<float>(),
         current_stream());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

torch::Tensor bias_relu(const torch::Tensor& x, const torch::Tensor& bias) {
  check_float_cuda(x, "x");
  check_float_cuda(bias, "bias");
  TORCH_CHECK(x.dim() == 2 && bias.dim() == 1 && bias.size(0) == x.size(1),
              "x must be (rows, cols) and bias (cols,), got ", x.sizes(), " and ", bias.sizes());
  const c10::cuda::CUDAGuard guard(x.device());
  auto out = torch::empty_like(x);
  if (x.numel() == 0) return out;
  launch_bias_relu(x.data_ptr<float>(), bias.data_ptr<float>(), out.data_ptr<float>(),
                   x.size(0), x.size(1), current_stream());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

torch::Tensor softmax(const torch::Tensor& x) {
  check_float_cuda(x, "x");
  TORCH_CHECK(x.dim() == 2, "x must be (rows, cols), got ", x.sizes());
  const c10::cuda::CUDAGuard guard(x.device());
  auto out = torch::empty_like(x);
  if (x.numel() == 0) return out;
  launch_softmax(x.data_ptr<float>(), out.data_ptr<float>(), x.size(0), x.size(1),
                 current_stream());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("matmul", &matmul, "c = a @ b, float32 (task 1)");
  m.def("reduce_sum", &reduce<launch_reduce_sum>, "sum of all elements (task 2)");
  m.def("reduce_max", &reduce<launch_reduce_max>, "max of all elements (task 2)");
  m.def("bias_relu", &bias_relu, "relu(x + bias) (task 3)");
  m.def("softmax", &softmax, "softmax over the last dimension of a 2-d x (task 4)");
}
