"""Task 1: LoRALinear - initialisation, forward against a float64 oracle, merge/unmerge."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from prep.testing import assert_close


def _linear(in_f: int, out_f: int, seed: int = 0, bias: bool = True) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(in_f, out_f, bias=bias)


def _randomise_b(layer: Any, seed: int = 1) -> None:
    """Give B non-zero values, as training would, so the update is visible."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=gen))


def _oracle(x: Tensor, base: nn.Linear, A: Tensor, B: Tensor, alpha: float, r: int) -> Tensor:
    """y = x W^T + b + (alpha / r) x A^T B^T, in float64."""
    x64, W = x.double(), base.weight.detach().double()
    y = x64 @ W.T + (0 if base.bias is None else base.bias.detach().double())
    return y + (alpha / r) * (x64 @ A.detach().double().T) @ B.detach().double().T


@pytest.mark.task(1)
def test_fresh_adapter_leaves_the_output_unchanged(impl: ModuleType) -> None:
    base = _linear(16, 12)
    layer = impl.LoRALinear(base, r=4, alpha=8.0)
    x = torch.randn(5, 16)
    # B starts at zero, so before any training the adapted layer is exactly the base layer
    assert_close(layer(x), base(x), task=1, what="fresh LoRALinear(x) vs base(x)")
    assert torch.count_nonzero(layer.lora_B) == 0, "lora_B must start at zero (README task 1)"


@pytest.mark.task(1)
def test_initialisation_freezes_base_and_shapes_adapters(impl: ModuleType) -> None:
    base = _linear(20, 6)
    layer = impl.LoRALinear(base, r=3, alpha=6.0)
    assert layer.base is base
    assert not any(p.requires_grad for p in base.parameters()), "the base layer must be frozen"
    assert layer.lora_A.shape == (3, 20)
    assert layer.lora_B.shape == (6, 3)
    assert layer.lora_A.requires_grad
    assert layer.lora_B.requires_grad
    assert layer.lora_A.dtype == base.weight.dtype
    assert layer.lora_B.dtype == base.weight.dtype
    assert layer.scaling == pytest.approx(2.0), "scaling is alpha / r"
    assert layer.merged is False
    trainable = {n for n, p in layer.named_parameters() if p.requires_grad}
    assert trainable == {"lora_A", "lora_B"}


@pytest.mark.task(1)
def test_a_is_kaiming_uniform_like_nn_linear(impl: ModuleType) -> None:
    torch.manual_seed(0)
    layer = impl.LoRALinear(_linear(256, 8), r=64, alpha=64.0)
    A = layer.lora_A.detach()
    # kaiming_uniform_(a=sqrt(5)) draws from U(-1/sqrt(in), 1/sqrt(in)), nn.Linear's own init
    bound = 1 / math.sqrt(256)
    assert float(A.abs().max()) <= bound + 1e-7
    # std of U(-b, b) is b / sqrt(3); 16384 draws put the estimate within 3%
    assert float(A.std()) == pytest.approx(bound / math.sqrt(3), rel=0.03)


@pytest.mark.task(1)
@settings(max_examples=20)
@given(
    in_f=st.integers(1, 24),
    out_f=st.integers(1, 24),
    r=st.integers(1, 8),
    alpha=st.sampled_from([1.0, 2.0, 8.0, 16.0, 0.5]),
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    bias=st.booleans(),
)
def test_forward_matches_the_formula(
    impl: ModuleType, in_f: int, out_f: int, r: int, alpha: float, lead: list[int], bias: bool
) -> None:
    base = _linear(in_f, out_f, bias=bias)
    layer = impl.LoRALinear(base, r=r, alpha=alpha)
    _randomise_b(layer)
    x = torch.randn(*lead, in_f)
    expected = _oracle(x, base, layer.lora_A, layer.lora_B, alpha, r)
    # float32 matmuls of <= 24 terms against float64: a few ulps of the magnitude
    assert_close(layer(x), expected, rtol=1e-5, atol=1e-5, task=1, what="LoRALinear(x)")


@pytest.mark.task(1)
def test_merge_then_unmerge_is_exact(impl: ModuleType) -> None:
    base = _linear(32, 24)
    original = base.weight.detach().clone()
    layer = impl.LoRALinear(base, r=4, alpha=16.0)  # scaling 4: a forgotten scaling shows
    _randomise_b(layer)
    x = torch.randn(7, 32)
    before = layer(x).detach()
    expected_w = (
        original.double() + 4.0 * layer.lora_B.detach().double() @ layer.lora_A.detach().double()
    )
    assert_close(
        layer.delta_weight(),
        expected_w - original.double(),
        rtol=1e-5,
        atol=1e-6,
        task=1,
        what="delta_weight()",
    )
    layer.merge()
    assert layer.merged
    assert_close(base.weight, expected_w, rtol=1e-5, atol=1e-6, task=1, what="merged base.weight")
    # merged, the layer is the base layer alone: same output as the adapter path computed
    assert_close(layer(x), before, rtol=1e-5, atol=1e-5, task=1, what="merged output")
    layer.unmerge()
    assert not layer.merged
    assert_close(base.weight, original, rtol=0, atol=1e-6, task=1, what="unmerged base.weight")
    assert_close(layer(x), before, rtol=1e-5, atol=1e-5, task=1, what="unmerged output")


@pytest.mark.task(1)
def test_merge_twice_and_unmerge_unmerged_raise(impl: ModuleType) -> None:
    layer = impl.LoRALinear(_linear(4, 4), r=2, alpha=2.0)
    with pytest.raises(RuntimeError):
        layer.unmerge()
    layer.merge()
    with pytest.raises(RuntimeError):
        layer.merge()


@pytest.mark.task(1)
def test_gradients_reach_only_the_adapters(impl: ModuleType) -> None:
    base = _linear(10, 5)
    layer = impl.LoRALinear(base, r=2, alpha=4.0)
    layer(torch.randn(6, 10)).square().sum().backward()
    assert base.weight.grad is None
    assert base.bias is not None
    assert base.bias.grad is None
    assert layer.lora_B.grad is not None
    assert float(layer.lora_B.grad.abs().sum()) > 0
    # with B = 0 the first step cannot move A: dL/dA = s B^T (dL/dy)^T x = 0
    assert layer.lora_A.grad is not None
    assert float(layer.lora_A.grad.abs().sum()) == 0.0


@pytest.mark.task(1)
def test_dropout_touches_only_the_adapter_path(impl: ModuleType) -> None:
    base = _linear(16, 16)
    layer = impl.LoRALinear(base, r=4, alpha=4.0, dropout=0.5)
    _randomise_b(layer)
    x = torch.randn(64, 16)
    layer.eval()
    expected = _oracle(x, base, layer.lora_A, layer.lora_B, 4.0, 4)
    assert_close(layer(x), expected, rtol=1e-5, atol=1e-5, task=1, what="eval-mode output")
    layer.train()
    torch.manual_seed(3)
    noisy = layer(x).detach()
    assert not torch.allclose(noisy, expected.float(), atol=1e-4), "dropout must act in train mode"
    with torch.no_grad():
        layer.lora_B.zero_()
    # with B = 0 the adapter adds nothing: dropout must not have touched the base path
    assert_close(layer(x), base(x), task=1, what="train-mode output with B = 0")


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"r": 0}, ValueError, "r"),
        ({"r": 2.5}, TypeError, "r"),
        ({"alpha": 0.0}, ValueError, "alpha"),
        ({"alpha": -1.0}, ValueError, "alpha"),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"dropout": -0.1}, ValueError, "dropout"),
    ],
)
def test_bad_arguments_are_named(
    impl: ModuleType, kwargs: dict[str, float], error: type[Exception], word: str
) -> None:
    args: dict[str, float] = {"r": 2, "alpha": 4.0, "dropout": 0.0, **kwargs}
    with pytest.raises(error, match=rf"\b{word}\b"):
        impl.LoRALinear(_linear(4, 4), **args)


@pytest.mark.task(1)
def test_base_must_be_a_linear(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="base"):
        impl.LoRALinear(nn.Conv1d(4, 4, 1), r=2, alpha=4.0)
