"""Task 3 on CUDA: SparseLinear through torch.sparse.to_sparse_semi_structured (cuSPARSELt).

Imports nothing but torch and pytest, so it also runs where hypothesis is not installed.
"""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from torch import Tensor
from torch.nn import functional

from prep.testing import assert_close

pytestmark = [pytest.mark.task(3), pytest.mark.gpu]


def needs_sparse_tensor_cores() -> None:
    if torch.cuda.get_device_capability() < (8, 0):
        pytest.skip("2:4 sparse tensor cores need compute capability 8.0+ (Ampere or later)")


def masked_by(impl: ModuleType, weight: Tensor) -> Tensor:
    """``weight`` times the implementation's own 2:4 mask, after checking that mask: exactly
    two kept per group of four, none dropped larger than one kept (fp16 and bf16 values tie
    often, so which of two equal entries stays is left open)."""
    mask = impl.semi_structured_24(weight)
    assert mask.device == weight.device
    assert mask.dtype == torch.bool
    groups, magnitude = mask.reshape(-1, 4), weight.abs().reshape(-1, 4).float()
    assert bool((groups.sum(1) == 2).all()), "every group of 4 keeps exactly 2"
    kept_min = magnitude.masked_fill(~groups, float("inf")).amin(1)
    dropped_max = magnitude.masked_fill(groups, -float("inf")).amax(1)
    assert bool((kept_min >= dropped_max).all()), "a dropped entry is larger than a kept one"
    masked: Tensor = weight * mask
    return masked


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_sparse_kernel_matches_masked_dense(impl: ModuleType, dtype: torch.dtype) -> None:
    needs_sparse_tensor_cores()
    from torch.sparse import SparseSemiStructuredTensor

    gen = torch.Generator(device="cuda").manual_seed(0)
    weight = torch.randn(256, 512, device="cuda", generator=gen).to(dtype)
    bias = torch.randn(256, device="cuda", generator=gen).to(dtype)
    layer = impl.SparseLinear(weight, bias)
    assert layer.uses_sparse_kernel, "fp16/bf16 on CUDA 8.0+ with 64-multiple dims: sparse"
    assert isinstance(layer.weight.data, SparseSemiStructuredTensor) or isinstance(
        layer.weight, SparseSemiStructuredTensor
    ), "the weight is stored compressed (to_sparse_semi_structured)"
    masked = masked_by(impl, weight)
    assert_close(layer.dense_weight(), masked, task=3, what="dense_weight() on CUDA")
    for shape in ((128, 512), (13, 512), (2, 40, 512)):  # 13 rows: the kernel pads them
        x = torch.randn(*shape, device="cuda", generator=gen).to(dtype)
        with torch.no_grad():
            out = layer(x)
            expected = functional.linear(x.float(), masked.float(), bias.float())
        assert out.dtype == dtype
        assert out.shape == (*shape[:-1], 256)
        # fp16/bf16 output of a 512-term dot product: compare at the output format's precision
        tol = 2e-2 if dtype == torch.bfloat16 else 4e-3
        assert_close(out.float(), expected, rtol=tol, atol=tol * 8, task=3, what=f"x {shape}")


def test_fallback_where_the_kernel_does_not_fit(impl: ModuleType) -> None:
    gen = torch.Generator(device="cuda").manual_seed(1)
    for weight in (
        torch.randn(64, 128, device="cuda", generator=gen),  # float32: no sparse kernel
        torch.randn(24, 40, device="cuda", generator=gen).half(),  # dims not multiples of 64
    ):
        layer = impl.SparseLinear(weight)
        assert not layer.uses_sparse_kernel
        x = torch.randn(8, weight.shape[1], device="cuda", generator=gen).to(weight.dtype)
        with torch.no_grad():
            expected = functional.linear(x.float(), masked_by(impl, weight).float())
            assert_close(layer(x).float(), expected, rtol=4e-3, atol=3e-2, task=3, what="fallback")


def test_compressed_weight_round_trips(impl: ModuleType) -> None:
    needs_sparse_tensor_cores()
    from torch.sparse import to_sparse_semi_structured

    weight = torch.randn(128, 256, device="cuda").half()
    masked = masked_by(impl, weight)
    assert_close(
        to_sparse_semi_structured(masked).to_dense(), masked, task=3,
        what="to_sparse_semi_structured(masked).to_dense()",
    )  # fmt: skip
