"""Task 5: common subexpression elimination."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, run_seeded
from torch import nn


@pytest.mark.task(5)
def test_repeats_merge_and_kwargs_keep_look_alikes_apart(impl: ModuleType) -> None:
    case = models.make_case("common_subexpressions")
    gm = models.trace(case.model)
    merged = impl.eliminate_common_subexpressions(gm)
    removed = {n.name for n in gm.graph.nodes} - {n.name for n in merged.graph.nodes}
    assert removed == {"sin_1", "proj_1", "sum_2"}, (
        f"removed {sorted(removed)}: expected the second sin, proj and sum(dim=1, keepdim=True); "
        "cumsum(dim=0)/cumsum(dim=1) and gelu()/gelu(approximate='tanh') differ in kwargs (task 5)"
    )
    assert_same_outputs(
        run_seeded(merged, case.inputs), run_seeded(case.model, case.inputs), task=5, what="CSE"
    )


@pytest.mark.task(5)
def test_no_merge_across_an_in_place_op(impl: ModuleType) -> None:
    case = models.make_case("mutation")
    gm = models.trace(case.model)
    merged = impl.eliminate_common_subexpressions(gm)
    assert_same_outputs(
        run_seeded(merged, case.inputs),
        run_seeded(case.model, case.inputs),
        task=5,
        what="y.sum() before and after y.mul_(2)",
    )
    assert len(merged.graph.nodes) == len(gm.graph.nodes)


@pytest.mark.task(5)
def test_int_and_float_literals_are_different_arguments(impl: ModuleType) -> None:
    case = models.make_case("dtype_literal")
    merged = impl.eliminate_common_subexpressions(models.trace(case.model))
    assert_same_outputs(
        run_seeded(merged, case.inputs),
        run_seeded(case.model, case.inputs),
        task=5,
        what="x + 1 (int64) and x + 1.0 (float32)",
    )


@pytest.mark.task(5)
def test_random_draws_are_not_merged(impl: ModuleType) -> None:
    case = models.make_case("random_ops")
    merged = impl.eliminate_common_subexpressions(models.trace(case.model))
    names = {n.name for n in merged.graph.nodes}
    assert {"rand_like_1", "rand_like_2"} <= names, "two rand_like calls are two draws (task 5)"


@pytest.mark.task(5)
def test_values_written_later_are_not_merged(impl: ModuleType) -> None:
    """Three `x.clone()` look alike; one is then add_-ed, one mul_-ed, one written through a
    view. Merging them makes all three outputs the same tensor."""
    case = models.make_case("mutated_clones")
    gm = models.trace(case.model)
    merged = impl.eliminate_common_subexpressions(gm)
    assert_same_outputs(
        run_seeded(merged, case.inputs),
        run_seeded(case.model, case.inputs),
        task=5,
        what="clones written differently after the fact",
    )
    clones = [n for n in merged.graph.nodes if n.op == "call_method" and n.target == "clone"]
    assert len(clones) == 3, "a value written in place later (or through a view) is not shareable"


class _TwoTrainingCalls(nn.Module):
    """The same composite module called twice in training mode: its dropout draws twice."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.block(x)
        b = self.block(x)
        out: torch.Tensor = a - b  # zero if the two calls were one
        return out


@pytest.mark.task(5)
@pytest.mark.parametrize("kind", ["encoder_layer", "lstm"])
def test_composite_modules_with_dropout_are_not_merged_in_training(
    impl: ModuleType, kind: str
) -> None:
    block = _composite(kind).train()
    model = _TwoTrainingCalls(block)
    x = torch.randn(3, 5, 8, generator=torch.Generator().manual_seed(0))
    merged = impl.eliminate_common_subexpressions(models.trace(model))
    calls = [n for n in merged.graph.nodes if n.op == "call_module"]
    assert len(calls) == 2, f"{kind} in training mode draws dropout masks: two calls, two draws"
    assert_same_outputs(
        run_seeded(merged, (x,)), run_seeded(model, (x,)), task=5, what=f"{kind} twice"
    )


def _composite(kind: str) -> nn.Module:
    """A torch.nn module with dropout inside it (symbolic_trace keeps it as one leaf call)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if kind == "encoder_layer":
            return nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True)
        return _LSTMOutput(nn.LSTM(8, 8, num_layers=2, dropout=0.5, batch_first=True))


class _LSTMOutput(nn.Module):
    def __init__(self, lstm: nn.LSTM) -> None:
        super().__init__()
        self.lstm = lstm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.lstm(x)[0]
        return out
