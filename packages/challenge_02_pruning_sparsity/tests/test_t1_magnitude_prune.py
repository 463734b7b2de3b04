"""Task 1: unstructured magnitude pruning, per layer and global, against torch.nn.utils.prune."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import torch
import torch.nn.utils.prune as torch_prune
from challenge_02_pruning_sparsity.layers import prunable_layers
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from prep.testing import assert_close

pytestmark = pytest.mark.task(1)


def scaled_mlp(seed: int, scales: tuple[float, ...] = (1.0, 0.05, 3.0)) -> nn.Sequential:
    """Linears whose weights differ in scale by 60x: a global ranking prunes the small layer
    far more than `amount`, a per-layer one prunes every layer by `amount`."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(12, 10), nn.ReLU(), nn.Linear(10, 9), nn.ReLU(), nn.Linear(9, 7)
    )
    with torch.no_grad():
        for layer, scale in zip(prunable_layers(model).values(), scales, strict=True):
            layer.weight.mul_(scale)
    return model


def torch_masks(model: nn.Module, amount: float, scope: str) -> dict[str, torch.Tensor]:
    """The oracle: torch's own pruning on a copy of the model, masks keyed like ours."""
    reference = copy.deepcopy(model)
    layers: dict[str, Any] = dict(prunable_layers(reference))
    if scope == "global":
        torch_prune.global_unstructured(
            [(m, "weight") for m in layers.values()],
            pruning_method=torch_prune.L1Unstructured,
            amount=amount,
        )
    else:
        for module in layers.values():
            torch_prune.l1_unstructured(module, "weight", amount=amount)
    return {f"{name}.weight": m.weight_mask.bool() for name, m in layers.items()}


def check_masks(
    impl: ModuleType, model: nn.Module, amount: float, scope: str
) -> dict[str, torch.Tensor]:
    expected = torch_masks(model, amount, scope)
    masks: dict[str, torch.Tensor] = impl.magnitude_prune(model, amount, scope=scope)
    assert set(masks) == set(expected), "one mask per Linear/Conv weight, keyed '<layer>.weight'"
    for name, mask in masks.items():
        assert mask.dtype == torch.bool, f"{name}: masks are bool tensors (True = kept)"
        assert_close(mask, expected[name], task=1, what=f"{scope} mask of {name} vs torch")
    return masks


def test_global_masks_equal_torch_global_unstructured(impl: ModuleType) -> None:
    check_masks(impl, scaled_mlp(0), 0.5, "global")


def test_layer_masks_equal_torch_l1_unstructured(impl: ModuleType) -> None:
    check_masks(impl, scaled_mlp(1), 0.5, "layer")


@given(
    amount=st.floats(0.0, 1.0),
    scope=st.sampled_from(["layer", "global"]),
    seed=st.integers(0, 2**16),
)
def test_masks_equal_torch_on_random_models(
    impl: ModuleType, amount: float, scope: str, seed: int
) -> None:
    check_masks(impl, scaled_mlp(seed, scales=(1.0, 0.5, 2.0)), amount, scope)


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_convolutions_are_pruned_like_torch(
    impl: ModuleType, random_cnn: Callable[..., Any], scope: str
) -> None:
    check_masks(impl, random_cnn(3), 0.7, scope)


def test_counts_round_half_to_even_as_torch(impl: ModuleType) -> None:
    # 10 weights: amount 0.25 -> 2.5 -> 2 weights, 0.35 -> 3.5 -> 4, 0.05 -> 0.5 -> 0.
    for amount, removed in ((0.25, 2), (0.35, 4), (0.05, 0), (0.15, 2)):
        model = nn.Sequential(nn.Linear(5, 2))
        masks = impl.magnitude_prune(model, amount, scope="layer")
        assert int((~masks["0.weight"]).sum()) == removed, f"amount {amount} of 10 weights"


def test_weights_are_zeroed_in_place_and_biases_kept(impl: ModuleType) -> None:
    model = scaled_mlp(2)
    before = copy.deepcopy(model)
    masks = impl.magnitude_prune(model, 0.4, scope="global")
    for (name, layer), old in zip(
        prunable_layers(model).items(), prunable_layers(before).values(), strict=True
    ):
        mask = masks[f"{name}.weight"]
        assert_close(layer.weight, old.weight * mask, task=1, what=f"{name}.weight after pruning")
        assert_close(layer.bias, old.bias, task=1, what=f"{name}.bias (never pruned)")
    total = sum(m.numel() for m in masks.values())
    assert sum(int((~m).sum()) for m in masks.values()) == round(0.4 * total)


def test_global_prunes_small_layers_more(impl: ModuleType) -> None:
    masks = impl.magnitude_prune(scaled_mlp(4), 0.5, scope="global")
    kept = {name: float(m.float().mean()) for name, m in masks.items()}
    assert kept["2.weight"] < 0.05, "the layer 20x smaller than the others loses nearly all"
    assert kept["4.weight"] > 0.7, "the largest layer keeps most of its weights"


def test_pruning_again_only_grows_the_mask(
    impl: ModuleType, random_cnn: Callable[..., Any]
) -> None:
    model = random_cnn(5)
    first = impl.magnitude_prune(model, 0.3, scope="global")
    second = impl.magnitude_prune(model, 0.6, scope="global")
    for name, mask in first.items():
        assert not bool((second[name] & ~mask).any()), f"{name}: a pruned weight came back"


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_amount_zero_and_one(impl: ModuleType, scope: str) -> None:
    model = scaled_mlp(6)
    assert all(bool(m.all()) for m in impl.magnitude_prune(model, 0.0, scope=scope).values())
    assert not any(bool(m.any()) for m in impl.magnitude_prune(model, 1.0, scope=scope).values())
    assert all(int(layer.weight.count_nonzero()) == 0 for layer in prunable_layers(model).values())


def test_scope_accepts_the_enum(impl: ModuleType) -> None:
    from challenge_02_pruning_sparsity.config import Scope

    model = scaled_mlp(7)
    expected = torch_masks(model, 0.5, "global")
    masks = impl.magnitude_prune(model, 0.5, scope=Scope.GLOBAL)
    for name, mask in masks.items():
        assert_close(mask, expected[name], task=1, what=f"mask of {name}")


@pytest.mark.parametrize(
    ("amount", "error", "match"),
    [
        ("0.5", TypeError, "amount"),
        (True, TypeError, "amount"),
        (-0.1, ValueError, "amount"),
        (1.5, ValueError, "amount"),
        (math.nan, ValueError, "amount"),
    ],
)
def test_bad_amount(impl: ModuleType, amount: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        impl.magnitude_prune(scaled_mlp(0), amount)


def test_bad_scope_model(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="scope"):
        impl.magnitude_prune(scaled_mlp(0), 0.5, scope="channel")
    with pytest.raises(ValueError, match="model"):
        impl.magnitude_prune(nn.Sequential(nn.ReLU()), 0.5)
    with pytest.raises(TypeError, match="model"):
        impl.magnitude_prune(torch.zeros(3, 3), 0.5)
