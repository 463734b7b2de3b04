// Task 6: strided index arithmetic and bit reversal in C++, bound with pybind11 (CPU only).
// The bindings at the bottom are given; fill in each function. README task 6.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

namespace {

using Dims = std::vector<int64_t>;

// Throw std::invalid_argument (Python sees ValueError) for a bad argument, naming it.

Dims contiguous_strides(const Dims& shape) {
  // TODO(11.6): row-major strides (the last dim moves by 1).
  return Dims(shape.size(), 0);
}

bool is_contiguous(const Dims& shape, const Dims& strides) {
  // TODO(11.6): torch's rule: size-1 dims may have any stride; an empty tensor is contiguous.
  return false;
}

int64_t flat_offset(const Dims& coord, const Dims& shape, const Dims& strides) {
  // TODO(11.6): sum of coord[k] * strides[k], after checking 0 <= coord[k] < shape[k].
  return 0;
}

Dims unravel_index(int64_t index, const Dims& shape) {
  // TODO(11.6): the coordinate of the index-th element in row-major order.
  return Dims(shape.size(), 0);
}

std::pair<Dims, Dims> permute(const Dims& shape, const Dims& strides, const Dims& dims) {
  // TODO(11.6): output dim k takes input dim dims[k]'s size and stride.
  return {shape, strides};
}

uint32_t reverse_bits(uint32_t x) {
  // TODO(11.6): reverse the 32 bits without a loop (swap halves, then bytes, nibbles, ...).
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
