"""Task 2: fuse nn.Linear + ReLU/GELU into one LinearActivation module."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, called_modules, run_seeded
from challenge_06_fx_pass.fused import Activation, LinearActivation
from hypothesis import given
from hypothesis import strategies as st
from torch import nn


def _fused(gm: torch.fx.GraphModule) -> list[LinearActivation]:
    return [m for m in called_modules(gm) if isinstance(m, LinearActivation)]


@pytest.mark.task(2)
def test_every_activation_form_is_fused_with_its_mode(impl: ModuleType) -> None:
    case = models.make_case("activation_forms")
    gm = models.trace(case.model)
    fused = impl.fuse_linear_activation(gm)
    kinds = [m.activation for m in _fused(fused)]
    expected = [
        Activation.RELU,
        Activation.GELU_TANH,
        Activation.RELU,
        Activation.RELU,
        Activation.GELU,
    ]
    assert kinds == expected, (
        f"fused activations {kinds}, expected {expected}: each form (module, function, method) "
        "fused, GELU's approximate mode kept (task 2)"
    )
    assert len(fused.graph.nodes) == len(gm.graph.nodes) - 5, "one node fewer per fused pair"
    assert_same_outputs(
        run_seeded(fused, case.inputs),
        run_seeded(case.model, case.inputs),
        task=2,
        what="fused net",
    )


@pytest.mark.task(2)
def test_linear_read_twice_is_not_fused(impl: ModuleType) -> None:
    case = models.make_case("activation_forms")
    fused = impl.fuse_linear_activation(models.trace(case.model))
    plain = [m for m in called_modules(fused) if type(m) is nn.Linear]
    last = case.model.get_submodule("fc.5")
    assert isinstance(last, nn.Linear)
    assert len(plain) == 1, "fc.5 feeds ReLU and the residual: it must stay a Linear (task 2)"
    assert torch.equal(plain[0].weight, last.weight), "the Linear left must be fc.5"


@pytest.mark.task(2)
def test_mlp_is_fused(impl: ModuleType) -> None:
    case = models.make_case("mlp")
    fused = impl.fuse_linear_activation(models.trace(case.model))
    assert [m.activation for m in _fused(fused)] == [Activation.RELU, Activation.GELU]
    assert_same_outputs(
        run_seeded(fused, case.inputs), run_seeded(case.model, case.inputs), task=2, what="MLP"
    )


_FORMS: dict[str, Callable[[Any, torch.Tensor], torch.Tensor]] = {
    "F.relu": lambda m, y: F.relu(y),
    "torch.relu": lambda m, y: torch.relu(y),
    "method relu": lambda m, y: y.relu(),
    "F.gelu": lambda m, y: F.gelu(y),
    "F.gelu tanh": lambda m, y: F.gelu(y, approximate="tanh"),
    "nn.ReLU": lambda m, y: m.relu(y),
    "nn.GELU tanh": lambda m, y: m.gelu_tanh(y),
}


class _LinearThen(nn.Module):
    def __init__(self, d_in: int, d_out: int, bias: bool, form: str) -> None:
        super().__init__()
        self.fc = nn.Linear(d_in, d_out, bias=bias)
        self.relu = nn.ReLU()
        self.gelu_tanh = nn.GELU(approximate="tanh")
        self.form = form

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _FORMS[self.form](self, self.fc(x))


@pytest.mark.task(2)
@given(
    d_in=st.integers(1, 12),
    d_out=st.integers(1, 12),
    bias=st.booleans(),
    form=st.sampled_from(sorted(_FORMS)),
    lead=st.lists(st.integers(1, 3), min_size=1, max_size=2),
    seed=st.integers(0, 2**16),
)
def test_fusion_matches_eager_on_random_layers(
    impl: ModuleType, d_in: int, d_out: int, bias: bool, form: str, lead: list[int], seed: int
) -> None:
    model = models.build(lambda: _LinearThen(d_in, d_out, bias, form), seed)
    x = 3.0 * torch.randn(*lead, d_in, generator=torch.Generator().manual_seed(seed))
    fused = impl.fuse_linear_activation(models.trace(model))
    assert len(_fused(fused)) == 1, f"{form} after a Linear was not fused"
    # same float32 ops in the same order: only the activation's own rounding may differ
    assert_same_outputs(
        run_seeded(fused, (x,)), run_seeded(model, (x,)), task=2, what=form, rtol=1e-6, atol=1e-6
    )
