"""Task 3: 2:4 semi-structured masks and SparseLinear (the CPU path; CUDA in the gpu file)."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torch.ao.pruning.sparsifier.weight_norm_sparsifier import WeightNormSparsifier
from torch.nn import functional

from prep.testing import assert_close

pytestmark = pytest.mark.task(3)


def torch_24_mask(weight: Tensor) -> Tensor:
    """The oracle: torch.ao.pruning's sparsifier with 2 zeros per block of 1x4 (the recipe
    torchao documents for 2:4)."""
    holder: Any = nn.Sequential(nn.Linear(weight.shape[1], weight.shape[0], bias=False))
    with torch.no_grad():
        holder[0].weight.copy_(weight)
    sparsifier = WeightNormSparsifier(
        sparsity_level=1.0, sparse_block_shape=(1, 4), zeros_per_block=2
    )
    sparsifier.prepare(holder, [{"tensor_fqn": "0.weight"}])
    sparsifier.step()
    mask: Tensor = holder[0].parametrizations.weight[0].mask
    return mask.bool()


def check_24(mask: Tensor, weight: Tensor) -> None:
    """Exactly 2 kept per group of 4 along rows, and no dropped entry larger than a kept one."""
    assert mask.dtype == torch.bool
    assert mask.shape == weight.shape
    groups = mask.reshape(-1, 4)
    assert bool((groups.sum(1) == 2).all()), "every group of 4 keeps exactly 2 entries"
    magnitude = weight.abs().reshape(-1, 4).float()
    kept_min = magnitude.masked_fill(~groups, math.inf).amin(1)
    dropped_max = magnitude.masked_fill(groups, -math.inf).amax(1)
    assert bool((kept_min >= dropped_max).all()), "a dropped entry is larger than a kept one"


def test_mask_keeps_the_two_largest_of_four(impl: ModuleType) -> None:
    weight = torch.tensor([[0.1, -5.0, 3.0, 0.2, 1.0, 2.0, -3.0, 4.0]])
    expected = torch.tensor([[False, True, True, False, False, False, True, True]])
    assert_close(impl.semi_structured_24(weight), expected, task=3, what="2:4 mask")


@settings(max_examples=15)
@given(rows=st.integers(1, 9), groups=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_mask_equals_torch_ao_sparsifier(
    impl: ModuleType, rows: int, groups: int, seed: int
) -> None:
    weight = torch.randn(rows, 4 * groups, generator=torch.Generator().manual_seed(seed))
    mask = impl.semi_structured_24(weight)
    assert_close(mask, torch_24_mask(weight), task=3, what="2:4 mask vs torch.ao.pruning")
    check_24(mask, weight)


@pytest.mark.parametrize(
    "weight",
    [
        torch.zeros(2, 8),
        torch.ones(3, 4),
        torch.tensor([[1.0, -1.0, 1.0, 0.5], [2.0, 2.0, -2.0, 2.0]]),
        torch.randint(-2, 3, (8, 16)).float(),
    ],
    ids=["zeros", "ones", "signed-ties", "small-integers"],
)
def test_ties_still_keep_exactly_two(impl: ModuleType, weight: Tensor) -> None:
    check_24(impl.semi_structured_24(weight), weight)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_float_dtypes(impl: ModuleType, dtype: torch.dtype) -> None:
    weight = torch.randn(4, 32, generator=torch.Generator().manual_seed(0)).to(dtype)
    check_24(impl.semi_structured_24(weight), weight)


@pytest.mark.parametrize(
    ("weight", "error"),
    [
        (torch.randn(4, 6), ValueError),  # 6 inputs: not groups of 4
        (torch.randn(16), ValueError),
        (torch.randn(2, 4, 4), ValueError),
        (torch.tensor([[1.0, math.nan, 0.0, 2.0]]), ValueError),
        (torch.ones(2, 4, dtype=torch.int64), TypeError),
        ([[1.0, 2.0, 3.0, 4.0]], TypeError),
    ],
    ids=["in-6", "1-d", "3-d", "nan", "int", "list"],
)
def test_bad_weight(impl: ModuleType, weight: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="weight"):
        impl.semi_structured_24(weight)


def test_sparse_linear_cpu_is_the_masked_dense_layer(impl: ModuleType) -> None:
    torch.manual_seed(0)
    linear = nn.Linear(64, 32)
    layer = impl.SparseLinear.from_dense(linear)
    assert not layer.uses_sparse_kernel, "no sparse tensor cores on a CPU: dense fallback"
    assert (layer.in_features, layer.out_features) == (64, 32)
    masked = linear.weight.detach() * torch_24_mask(linear.weight.detach())
    assert_close(layer.dense_weight(), masked, task=3, what="dense_weight()")
    x = torch.randn(5, 3, 64)  # any leading dimensions
    with torch.no_grad():
        expected = functional.linear(x, masked, linear.bias)
        assert_close(layer(x), expected, rtol=1e-6, atol=1e-6, task=3, what="SparseLinear(x)")
    assert linear.weight.count_nonzero() == 64 * 32, "the dense layer itself is left intact"


def test_sparse_linear_without_bias(impl: ModuleType) -> None:
    weight = torch.randn(8, 16, generator=torch.Generator().manual_seed(1))
    layer = impl.SparseLinear(weight)
    assert layer.bias is None
    x = torch.randn(4, 16)
    with torch.no_grad():
        expected = x @ (weight * torch_24_mask(weight)).T
        assert_close(layer(x), expected, rtol=1e-6, atol=1e-6, task=3, what="no-bias output")


def test_sparse_linear_bad_input(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="linear"):
        impl.SparseLinear.from_dense(nn.Conv2d(4, 4, 1))
    with pytest.raises(ValueError, match="weight"):
        impl.SparseLinear(torch.randn(4, 10))
    with pytest.raises(ValueError, match="bias"):
        impl.SparseLinear(torch.randn(4, 8), torch.randn(5))
    layer = impl.SparseLinear(torch.randn(4, 8))
    with pytest.raises(ValueError, match="x"):
        layer(torch.randn(2, 12))
