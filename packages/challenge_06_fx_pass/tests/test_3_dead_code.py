"""Task 3: dead code elimination that keeps in-place, random and stateful ops."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, run_seeded
from torch import nn


def scale_in_place(t: torch.Tensor) -> torch.Tensor:
    """A function of yours that FX keeps as one call (``torch.fx.wrap``): its effects are
    unknown to a pass, like those of a module of yours."""
    return t.mul_(2.0)


torch.fx.wrap("scale_in_place")


def _names(gm: torch.fx.GraphModule) -> set[str]:
    return {n.name for n in gm.graph.nodes}


@pytest.mark.task(3)
def test_dead_nodes_go_in_place_ops_stay(impl: ModuleType) -> None:
    case = models.make_case("dead_code")
    gm = models.trace(case.model)
    cleaned = impl.eliminate_dead_code(gm)
    removed = _names(gm) - _names(cleaned)
    assert removed == {"unused", "sin", "mul", "sum_1"}, (
        f"removed {sorted(removed)}; expected the dead module call and the dead sin-mul-sum chain "
        "only: add_, relu(inplace=True) and ReLU(inplace=True) change tensors the output reads "
        "(task 3)"
    )
    assert_same_outputs(
        run_seeded(cleaned, case.inputs), run_seeded(case.model, case.inputs), task=3, what="DCE"
    )


@pytest.mark.task(3)
def test_unread_random_draw_is_kept(impl: ModuleType) -> None:
    """Dropping the first rand_like shifts every later draw of the generator."""
    case = models.make_case("random_ops")
    gm = models.trace(case.model)
    cleaned = impl.eliminate_dead_code(gm)
    assert _names(cleaned) == _names(gm), "rand_like advances the generator: keep it (task 3)"


class _StatsOnly(nn.Module):
    """A training-mode BatchNorm whose output nobody reads still updates running_mean."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.bn(x)
        return x * 2.0


@pytest.mark.task(3)
def test_training_batchnorm_updates_survive(impl: ModuleType) -> None:
    model = _StatsOnly().train()
    cleaned = impl.eliminate_dead_code(models.trace(model))
    assert "bn" in {n.name for n in cleaned.graph.nodes}, "BN in training mode updates its stats"
    before = model.bn.running_mean.clone()  # type: ignore[union-attr]
    cleaned(torch.randn(8, 4, generator=torch.Generator().manual_seed(0)) + 3.0)
    assert not torch.equal(cleaned.get_submodule("bn").running_mean, before)


class _UnreadWrappedCall(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        scale_in_place(y)  # unread, but it doubled y
        return y + 1.0


@pytest.mark.task(3)
def test_unread_call_of_an_unknown_function_is_kept(impl: ModuleType) -> None:
    model = _UnreadWrappedCall()
    gm = models.trace(model)
    assert any(n.target is scale_in_place for n in gm.graph.nodes), "fx.wrap keeps the call"
    cleaned = impl.eliminate_dead_code(gm)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    assert_same_outputs(
        run_seeded(cleaned, (x,)), run_seeded(model, (x,)), task=3, what="unknown function kept"
    )


class _UnreadTrainingBlock(nn.Module):
    """A composite module whose output nobody reads, then a random draw: in training mode the
    block's dropout advances the generator the draw reads."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.block(x, x, x) if isinstance(self.block, nn.MultiheadAttention) else self.block(x)
        return torch.rand_like(x) + x


@pytest.mark.task(3)
@pytest.mark.parametrize("kind", ["attention", "encoder_layer"])
def test_unread_composite_module_with_dropout_is_kept_in_training(
    impl: ModuleType, kind: str
) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        block: nn.Module = (
            nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
            if kind == "attention"
            else nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True)
        )
    model = _UnreadTrainingBlock(block).train()
    x = torch.randn(2, 5, 8, generator=torch.Generator().manual_seed(1))
    cleaned = impl.eliminate_dead_code(models.trace(model))
    assert_same_outputs(
        run_seeded(cleaned, (x,)), run_seeded(model, (x,)), task=3, what=f"unread {kind}"
    )
    model.eval()  # in eval mode it draws nothing and is dead
    evaluated = impl.eliminate_dead_code(models.trace(model))
    assert not [n for n in evaluated.graph.nodes if n.op == "call_module"], (
        f"an unread {kind} in eval mode has no effect: remove it (task 3)"
    )
