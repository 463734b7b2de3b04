"""Challenge 11, your file: CUDA kernels (in ``csrc/starter/``), Triton kernels and index math.

Tasks 1-4 are CUDA C++: write the kernels and launchers in ``csrc/starter/<family>.cu`` (the
launcher signatures are in ``csrc/launchers.h``; ``csrc/bindings.cpp`` already checks tensors
and calls them), then make the Python function below check its arguments with ``contracts`` and
return ``_cuda().<function>(...)``. Tasks 3-5 also ask for Triton kernels, written here. Task 6 is
C++ for the CPU in ``csrc/starter/index_math.cpp``, called through ``_cpu()``.

Every function checks its arguments first: ``TypeError`` for a non-tensor or a wrong dtype,
``ValueError`` for a wrong shape or device, naming the argument (``contracts`` has the checks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import triton  # type: ignore[import-untyped]
from torch import Tensor

from challenge_11_cuda_kernels import extensions

__all__ = [
    "bias_relu",
    "bias_relu_triton",
    "contiguous_strides",
    "flat_offset",
    "is_contiguous",
    "matmul",
    "matmul_triton",
    "permute_strides",
    "reduce_max",
    "reduce_sum",
    "reverse_bits",
    "softmax",
    "softmax_triton",
    "unravel_index",
]

KERNEL_SOURCES = extensions.kernel_sources("starter")
INDEX_MATH_SOURCE = extensions.index_math_source("starter")
BUILD_LABEL = "starter"


def _cuda() -> ModuleType:
    """Your CUDA kernels, built on first use (ninja; later calls rebuild only changed files)."""
    return extensions.cuda_ops(BUILD_LABEL, KERNEL_SOURCES)


def _cpu() -> ModuleType:
    """Your ``index_math.cpp``, built on first use."""
    return extensions.cpu_ops(INDEX_MATH_SOURCE)


def _jit(fn: Callable[..., None]) -> Any:
    """``triton.jit`` with a type mypy can see: decorate kernels with ``@_jit @no_type_check``."""
    return triton.jit(fn)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """``c = a @ b`` in float32 with your CUDA kernel (``csrc/starter/matmul.cu``).

    Args:
        a: (m, k) float32 CUDA tensor.
        b: (k, n) float32 CUDA tensor on the same device.

    Returns:
        (m, n) float32: every product and sum in float32 (no TF32), for any m, n, k (0 included).

    Raises:
        TypeError: a or b is not a tensor, not float32, or they differ in dtype.
        ValueError: not 2-d, inner sizes differ, or not on one CUDA device.
    """
    raise NotImplementedError(
        "TODO(11.1): write the tiled SGEMM in csrc/starter/matmul.cu and call it - see README task 1"
    )


def reduce_sum(x: Tensor) -> Tensor:
    """Sum of all elements with your CUDA kernel (``csrc/starter/reduce.cu``).

    Args:
        x: float32 CUDA tensor of any shape (non-contiguous input is copied first).

    Returns:
        0-d float32 tensor on x's device; 0 for an empty x.

    Raises:
        TypeError: x is not a float32 tensor.
        ValueError: x is not on a CUDA device.
    """
    raise NotImplementedError(
        "TODO(11.2): write the shuffle reduction in csrc/starter/reduce.cu and call it "
        "- see README task 2"
    )


def reduce_max(x: Tensor) -> Tensor:
    """Largest element with your CUDA kernel (``csrc/starter/reduce.cu``).

    Args:
        x: non-empty float32 CUDA tensor of any shape.

    Returns:
        0-d float32 tensor; NaN if any element is NaN (as ``torch.max``).

    Raises:
        TypeError: x is not a float32 tensor.
        ValueError: x is empty or not on a CUDA device.
    """
    raise NotImplementedError(
        "TODO(11.2): add the max reduction to csrc/starter/reduce.cu and call it - see README task 2"
    )


def bias_relu(x: Tensor, bias: Tensor) -> Tensor:
    """``relu(x + bias)`` fused in one pass with your CUDA kernel (``csrc/starter/bias_relu.cu``).

    Args:
        x: (..., n) float32 CUDA tensor.
        bias: (n,) float32 tensor on the same device, broadcast over every row of x.

    Returns:
        float32 tensor of x's shape.

    Raises:
        TypeError: x or bias is not a float32 tensor.
        ValueError: bias is not (n,) for x (..., n), or the tensors are not on one CUDA device.
    """
    raise NotImplementedError(
        "TODO(11.3): write the fused bias+ReLU in csrc/starter/bias_relu.cu and call it "
        "- see README task 3"
    )


def bias_relu_triton(x: Tensor, bias: Tensor) -> Tensor:
    """``relu(x + bias)`` fused in one pass with your Triton kernel.

    Args:
        x: (..., n) float32, float16 or bfloat16 tensor (CUDA, or CPU under TRITON_INTERPRET=1).
        bias: (n,) tensor of x's dtype and device.

    Returns:
        tensor of x's shape and dtype (computed in float32, rounded once).

    Raises:
        TypeError: not tensors, a dtype outside fp32/fp16/bf16, or dtypes that differ.
        ValueError: bias is not (n,) for x (..., n), or a device Triton cannot run on.
    """
    raise NotImplementedError(
        "TODO(11.3): write the Triton bias+ReLU kernel and launch it - see README task 3"
    )


def softmax(x: Tensor) -> Tensor:
    """Softmax over the last dimension with your CUDA kernels (``csrc/starter/softmax.cu``).

    Args:
        x: (..., n) float32 CUDA tensor, at least 1-d.

    Returns:
        float32 tensor of x's shape, equal to ``torch.softmax(x, -1)``: -inf entries give 0, a
        row of only -inf gives NaN, a row of one element gives 1, a NaN makes its row NaN.

    Raises:
        TypeError: x is not a float32 tensor.
        ValueError: x is 0-d or not on a CUDA device.
    """
    raise NotImplementedError(
        "TODO(11.4): write the warp-per-row and online block-per-row softmax in "
        "csrc/starter/softmax.cu and call it - see README task 4"
    )


def softmax_triton(x: Tensor) -> Tensor:
    """Softmax over the last dimension with your Triton kernel(s).

    Args:
        x: (..., n) float32, float16 or bfloat16 tensor, at least 1-d (CUDA, or CPU under
            TRITON_INTERPRET=1). Rows of any length: hold short rows in registers, stream long
            ones with the online max/sum rescaling.

    Returns:
        tensor of x's shape and dtype, as ``torch.softmax(x, -1)`` (same -inf and NaN rules).

    Raises:
        TypeError: not a tensor, or a dtype outside fp32/fp16/bf16.
        ValueError: x is 0-d, or on a device Triton cannot run on.
    """
    raise NotImplementedError("TODO(11.4): write the Triton softmax - see README task 4")


def matmul_triton(a: Tensor, b: Tensor) -> Tensor:
    """``c = a @ b`` on tensor cores with your Triton kernel (autotuned tile sizes on a GPU).

    Args:
        a: (m, k) bfloat16 or float16 tensor (CUDA, or CPU under TRITON_INTERPRET=1).
        b: (k, n) tensor of a's dtype and device.

    Returns:
        (m, n) tensor of a's dtype, accumulated in float32 and rounded once.

    Raises:
        TypeError: not tensors, a dtype other than bf16/fp16, or dtypes that differ.
        ValueError: not 2-d, inner sizes differ, or a device Triton cannot run on.
    """
    raise NotImplementedError(
        "TODO(11.5): write the Triton matmul (tl.dot, fp32 accumulator) - see README task 5"
    )


def contiguous_strides(shape: Sequence[int]) -> tuple[int, ...]:
    """Row-major strides of ``shape`` (C++ in ``csrc/starter/index_math.cpp``).

    Args:
        shape: sizes >= 0.

    Returns:
        strides in elements, as ``torch.empty(shape).stride()`` (a size-0 dim counts as 1).

    Raises:
        TypeError: shape is not a sequence of ints.
        ValueError: a negative size.
    """
    raise NotImplementedError(
        "TODO(11.6): row-major strides in index_math.cpp, called through _cpu() - see README task 6"
    )


def is_contiguous(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether ``(shape, strides)`` is row-major, by ``torch.Tensor.is_contiguous``'s rule.

    Args:
        shape: sizes >= 0.
        strides: one stride per dim (any ints).

    Returns:
        True if every dim of size > 1 has its row-major stride (size-1 dims may have any
        stride), or the tensor has no elements.

    Raises:
        TypeError: not sequences of ints.
        ValueError: a negative size, or lengths that differ.
    """
    raise NotImplementedError(
        "TODO(11.6): the contiguity check in index_math.cpp - see README task 6"
    )


def flat_offset(coord: Sequence[int], shape: Sequence[int], strides: Sequence[int]) -> int:
    """Storage offset (in elements) of element ``coord`` of a strided tensor.

    Args:
        coord: one index per dim, ``0 <= coord[k] < shape[k]``.
        shape: sizes >= 0.
        strides: one stride per dim (a transposed or permuted view has non-row-major strides).

    Returns:
        ``sum(coord[k] * strides[k])``: the element ``tensor[coord]`` of
        ``storage.as_strided(shape, strides)``.

    Raises:
        TypeError: not sequences of ints.
        ValueError: lengths differ, a negative size, or an index out of range (naming it).
    """
    raise NotImplementedError("TODO(11.6): flat_offset in index_math.cpp - see README task 6")


def unravel_index(index: int, shape: Sequence[int]) -> tuple[int, ...]:
    """The coordinate of the ``index``-th element of ``shape`` in row-major order.

    Args:
        index: ``0 <= index < prod(shape)``.
        shape: sizes >= 0.

    Returns:
        the coordinate, as ``numpy.unravel_index(index, shape)``.

    Raises:
        TypeError: index is not an int, or shape not a sequence of ints.
        ValueError: index out of range, or a negative size.
    """
    raise NotImplementedError("TODO(11.6): unravel_index in index_math.cpp - see README task 6")


def permute_strides(
    shape: Sequence[int], strides: Sequence[int], dims: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(shape, strides)`` of ``tensor.permute(dims)``; a transpose is a permute of two dims.

    Args:
        shape: sizes >= 0.
        strides: one stride per dim.
        dims: a permutation of ``0 .. len(shape) - 1``.

    Returns:
        the permuted view's (shape, strides): output dim k is input dim ``dims[k]``.

    Raises:
        TypeError: not sequences of ints.
        ValueError: lengths differ, a negative size, or dims is not a permutation.
    """
    raise NotImplementedError("TODO(11.6): permute in index_math.cpp - see README task 6")


def reverse_bits(x: int) -> int:
    """The 32 bits of ``x`` in reverse order, computed without a loop (C++).

    Args:
        x: ``0 <= x < 2**32``.

    Returns:
        the reversed value: bit k of x becomes bit 31 - k.

    Raises:
        TypeError: x is not an int (bool is refused).
        ValueError: x is outside [0, 2**32).
    """
    raise NotImplementedError(
        "TODO(11.6): branch-free bit reversal in index_math.cpp - see README task 6"
    )
