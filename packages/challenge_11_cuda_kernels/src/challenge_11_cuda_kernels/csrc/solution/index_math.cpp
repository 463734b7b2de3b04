// Task 6, solution: strided index arithmetic and bit reversal in C++, bound with pybind11.
//
// A strided tensor is (shape, strides): element (i0, ..., i{d-1}) lives at sum_k ik * stride_k
// elements from the start of its storage. Transposes and permutes move strides, never data;
// "contiguous" means the strides are the row-major ones (size-1 dims may have any stride).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using Dims = std::vector<int64_t>;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);  // pybind11 raises ValueError
}

void require_same_rank(const Dims& a, const char* a_name, const Dims& b, const char* b_name) {
  require(a.size() == b.size(), std::string(a_name) + " has " + std::to_string(a.size()) +
                                    " entries but " + b_name + " has " +
                                    std::to_string(b.size()));
}

// Row-major strides: the last dim moves by 1, each earlier dim by the product of the later sizes.
Dims contiguous_strides(const Dims& shape) {
  Dims strides(shape.size());
  int64_t step = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    require(shape[k] >= 0, "shape must be non-negative");
    strides[k] = step;
    step *= shape[k] > 1 ? shape[k] : 1;
  }
  return strides;
}

bool is_contiguous(const Dims& shape, const Dims& strides) {
  require_same_rank(shape, "shape", strides, "strides");
  int64_t expected = 1;
  for (size_t k = shape.size(); k-- > 0;) {
    if (shape[k] == 0) return true;  // no elements: any strides describe them
  }
  for (size_t k = shape.size(); k-- > 0;) {
    if (shape[k] == 1) continue;  // a size-1 dim is never stepped along: its stride is free
    if (strides[k] != expected) return false;
    expected *= shape[k];
  }
  return true;
}

int64_t flat_offset(const Dims& coord, const Dims& shape, const Dims& strides) {
  require_same_rank(coord, "coord", shape, "shape");
  require_same_rank(shape, "shape", strides, "strides");
  int64_t offset = 0;
  for (size_t k = 0; k < coord.size(); ++k) {
    require(0 <= coord[k] && coord[k] < shape[k],
            "coord[" + std::to_string(k) + "] = " + std::to_string(coord[k]) +
                " is outside [0, " + std::to_string(shape[k]) + ")");
    offset += coord[k] * strides[k];
  }
  return offset;
}

Dims unravel_index(int64_t index, const Dims& shape) {
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  require(0 <= index && index < numel, "index " + std::to_string(index) +
                                           " is outside [0, " + std::to_string(numel) + ")");
  Dims coord(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {  // the last dim varies fastest
    coord[k] = index % shape[k];
    index /= shape[k];
  }
  return coord;
}

std::pair<Dims, Dims> permute(const Dims& shape, const Dims& strides, const Dims& dims) {
  require_same_rank(shape, "shape", strides, "strides");
  require_same_rank(dims, "dims", shape, "shape");
  std::vector<bool> seen(shape.size(), false);
  Dims new_shape(shape.size()), new_strides(shape.size());
  for (size_t k = 0; k < dims.size(); ++k) {
    const int64_t d = dims[k];
    require(0 <= d && d < static_cast<int64_t>(shape.size()) && !seen[d],
            "dims must be a permutation of 0.." + std::to_string(shape.size() - 1));
    seen[d] = true;
    new_shape[k] = shape[d];  // output dim k is input dim dims[k]: same size, same stride
    new_strides[k] = strides[d];
  }
  return {new_shape, new_strides};
}

// Swap halves, then quarters, then bytes, nibbles, pairs and single bits: 5 steps, no loop.
uint32_t reverse_bits(uint32_t x) {
  x = (x >> 16) | (x << 16);
  x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
  x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  return x;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("contiguous_strides", &contiguous_strides, "row-major strides of a shape");
  m.def("is_contiguous", &is_contiguous, "whether the strides are the row-major ones");
  m.def("flat_offset", &flat_offset, "storage offset of coord in a strided tensor");
  m.def("unravel_index", &unravel_index, "coordinate of a row-major flat index");
  m.def("permute", &permute, "shape and strides after permuting the dims");
  m.def("reverse_bits", &reverse_bits, "the 32 bits of x in reverse order");
}
