"""Argument checks every implementation runs before launching a kernel.

They raise ``TypeError`` for the wrong kind or dtype of argument and ``ValueError`` for the wrong
shape, device or range, naming the argument, so a mistake in the caller never reaches a kernel
(where it would read out of bounds instead of failing).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from challenge_11_cuda_kernels.extensions import triton_interpreted

# Triton's elementwise and softmax kernels load these and compute in float32.
TRITON_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
TENSOR_CORE_DTYPES = (torch.bfloat16, torch.float16)
UINT32_MAX = 2**32 - 1


def tensor(value: object, name: str, dtypes: Sequence[torch.dtype]) -> Tensor:
    """``value`` as a tensor of one of ``dtypes``, else ``TypeError`` naming ``name``."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dtype not in dtypes:
        wanted = " or ".join(str(d) for d in dtypes)
        raise TypeError(f"{name} must be {wanted}, got {value.dtype}")
    return value


def on_cuda(t: Tensor, name: str) -> None:
    """``ValueError`` unless ``t`` is on a CUDA device (the CUDA kernels' only home)."""
    if t.device.type != "cuda":
        raise ValueError(
            f"{name} must be a CUDA tensor for the CUDA kernels, got one on {t.device}: "
            "move it with .cuda() on a GPU machine"
        )


def on_triton_device(t: Tensor, name: str) -> None:
    """``ValueError`` unless Triton can run on ``t``: CUDA, or anything when interpreted."""
    if not triton_interpreted() and t.device.type != "cuda":
        raise ValueError(
            f"{name} must be a CUDA tensor for the Triton kernels, got one on {t.device} "
            "(set TRITON_INTERPRET=1 to run them on CPU tensors)"
        )


def same_device(a: Tensor, b: Tensor, a_name: str, b_name: str) -> None:
    if a.device != b.device:
        raise ValueError(f"{a_name} is on {a.device} but {b_name} is on {b.device}")


def matmul_operands(a: object, b: object, dtypes: Sequence[torch.dtype]) -> tuple[Tensor, Tensor]:
    """Check ``a (m, k) @ b (k, n)``: tensors of one dtype from ``dtypes``, inner sizes equal."""
    a = tensor(a, "a", dtypes)
    b = tensor(b, "b", dtypes)
    if a.dtype != b.dtype:
        raise TypeError(f"a and b must have one dtype, got {a.dtype} and {b.dtype}")
    if a.dim() != 2 or b.dim() != 2:
        raise ValueError(f"a and b must be 2-d, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"a (m, k) and b (k, n) disagree on k: shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
    same_device(a, b, "a", "b")
    return a, b


def bias_relu_operands(
    x: object, bias: object, dtypes: Sequence[torch.dtype]
) -> tuple[Tensor, Tensor]:
    """Check ``x (..., n)`` and ``bias (n,)`` of one dtype from ``dtypes``."""
    x = tensor(x, "x", dtypes)
    bias = tensor(bias, "bias", dtypes)
    if x.dtype != bias.dtype:
        raise TypeError(f"x and bias must have one dtype, got {x.dtype} and {bias.dtype}")
    if x.dim() < 1 or bias.dim() != 1 or bias.shape[0] != x.shape[-1]:
        raise ValueError(
            f"bias must be (n,) for x (..., n), got bias {tuple(bias.shape)} and x {tuple(x.shape)}"
        )
    same_device(x, bias, "x", "bias")
    return x, bias


def softmax_operand(x: object, dtypes: Sequence[torch.dtype]) -> Tensor:
    """Check ``x (..., n)`` with at least one dimension."""
    x = tensor(x, "x", dtypes)
    if x.dim() < 1:
        raise ValueError("x must have at least one dimension (softmax runs over the last one)")
    return x


def reduce_operand(x: object, allow_empty: bool) -> Tensor:
    """Check a float32 tensor to reduce; ``allow_empty=False`` for max (no identity element)."""
    x = tensor(x, "x", (torch.float32,))
    if not allow_empty and x.numel() == 0:
        raise ValueError("x must not be empty: the max of no elements is undefined")
    return x


def int_sequence(value: object, name: str) -> tuple[int, ...]:
    """A list/tuple of Python ints (``bool`` excluded), else ``TypeError`` naming ``name``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of ints, got {type(value).__name__}")
    for k, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"{name}[{k}] must be an int, got {type(item).__name__}")
    return tuple(value)


def shape(value: object, name: str = "shape") -> tuple[int, ...]:
    """A shape: ints >= 0."""
    dims = int_sequence(value, name)
    if any(d < 0 for d in dims):
        raise ValueError(f"{name} must hold sizes >= 0, got {dims}")
    return dims


def same_length(a: Sequence[int], b: Sequence[int], a_name: str, b_name: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{a_name} has {len(a)} entries but {b_name} has {len(b)}")


def coordinate(coord: Sequence[int], dims: Sequence[int]) -> None:
    """``ValueError`` unless ``0 <= coord[k] < dims[k]`` for every k."""
    same_length(coord, dims, "coord", "shape")
    for k, (i, n) in enumerate(zip(coord, dims, strict=True)):
        if not 0 <= i < n:
            raise ValueError(f"coord[{k}] = {i} is outside [0, {n})")


def permutation(dims: Sequence[int], rank: int) -> None:
    """``ValueError`` unless ``dims`` is a permutation of ``0 .. rank-1``."""
    if sorted(dims) != list(range(rank)):
        raise ValueError(f"dims must be a permutation of 0..{rank - 1}, got {tuple(dims)}")


def uint32(value: object, name: str = "x") -> int:
    """A Python int in ``[0, 2**32)`` (``bool`` excluded)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value <= UINT32_MAX:
        raise ValueError(f"{name} must be in [0, 2**32), got {value}")
    return value
