"""Task 3, Triton: fused bias+ReLU against torch (on CPU through Triton's interpreter)."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

pytestmark = pytest.mark.task(3)


@settings(max_examples=8, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_matches_torch_on_any_shape(
    impl: ModuleType, triton_device: torch.device, rows: int, cols: int, seed: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, cols, generator=gen)
    bias = torch.randn(cols, generator=gen)
    out = impl.bias_relu_triton(x.to(triton_device), bias.to(triton_device))
    # One add and one max per element in float32: exact.
    assert_close(out, torch.relu(x + bias), rtol=0, atol=0, task=3, what="bias_relu_triton")


def test_bias_is_per_column_for_leading_batch_dims(
    impl: ModuleType, triton_device: torch.device, gen: torch.Generator
) -> None:
    x = torch.randn(3, 5, 7, generator=gen)
    bias = torch.linspace(-2.0, 2.0, 7)  # distinct per column: a row-indexed bias shows
    out = impl.bias_relu_triton(x.to(triton_device), bias.to(triton_device))
    assert out.shape == x.shape
    assert_close(out, torch.relu(x + bias), rtol=0, atol=0, task=3, what="bias_relu_triton (3-d)")


def test_half_precision_rounds_once(
    impl: ModuleType, triton_device: torch.device, gen: torch.Generator
) -> None:
    x = torch.randn(17, 33, generator=gen).half()
    bias = torch.randn(33, generator=gen).half()
    out = impl.bias_relu_triton(x.to(triton_device), bias.to(triton_device))
    assert out.dtype == torch.float16
    expected = torch.relu(x.float() + bias.float()).half()  # fp32 sum, one rounding
    assert_close(out, expected, rtol=0, atol=0, task=3, what="bias_relu_triton fp16")


def test_empty_rows(impl: ModuleType, triton_device: torch.device) -> None:
    out = impl.bias_relu_triton(
        torch.ones(0, 4, device=triton_device), torch.ones(4, device=triton_device)
    )
    assert out.shape == (0, 4)


def test_rejects_bad_operands(impl: ModuleType, triton_device: torch.device) -> None:
    x = torch.ones(2, 3, device=triton_device)
    with pytest.raises(TypeError, match=r"bias must be a torch.Tensor"):
        impl.bias_relu_triton(x, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="x and bias must have one dtype"):
        impl.bias_relu_triton(x, torch.ones(3, dtype=torch.float16, device=triton_device))
    with pytest.raises(ValueError, match=r"bias must be \(n,\)"):
        impl.bias_relu_triton(x, torch.ones(2, device=triton_device))
    with pytest.raises(TypeError, match=r"x must be torch.float32 or torch.float16"):
        impl.bias_relu_triton(x.long(), torch.ones(3, device=triton_device).long())
