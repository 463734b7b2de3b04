"""Task 4: constant folding of parameter-only subgraphs."""

from __future__ import annotations

import copy
from types import ModuleType

import pytest
import torch
import torch.fx as fx
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, run_seeded
from torch import nn


@pytest.mark.task(4)
def test_parameter_arithmetic_is_precomputed(impl: ModuleType) -> None:
    case = models.make_case("constants")
    gm = models.trace(case.model)
    folded = impl.fold_constants(gm)
    ops = [(n.op, str(n.target)) for n in folded.graph.nodes if n.op.startswith("call")]
    assert len(ops) == 2, (
        f"left {ops}: only the linear on x and the tanh read the input; exp, unsqueeze, mul and "
        "the offset arithmetic depend on parameters alone and should be one get_attr each (task 4)"
    )
    assert len(folded.graph.nodes) == len(gm.graph.nodes) - 6
    assert_same_outputs(
        run_seeded(folded, case.inputs), run_seeded(case.model, case.inputs), task=4, what="folded"
    )


@pytest.mark.task(4)
def test_folded_constants_move_with_the_module(impl: ModuleType) -> None:
    """Register folded values as buffers: .to(dtype/device) must carry them along."""
    case = models.make_case("constants")
    folded = impl.fold_constants(models.trace(case.model)).to(torch.float64)
    x = case.inputs[0].to(torch.float64)
    want = run_seeded(case.model.to(torch.float64), (x,))
    assert_same_outputs(run_seeded(folded, (x,)), want, task=4, what="float64 after .to()")


@pytest.mark.task(4)
def test_random_op_on_a_parameter_is_not_folded(impl: ModuleType) -> None:
    case = models.make_case("random_ops")
    folded = impl.fold_constants(models.trace(case.model))
    assert "randn_like" in {n.name for n in folded.graph.nodes}, (
        "randn_like(parameter) draws a fresh value on every call: never precompute it (task 4)"
    )


def _stats_reader() -> fx.GraphModule:
    """``bn(x) + 2 * bn.running_mean`` with the BatchNorm in training mode: the call updates
    running_mean, so the product is different on every call. (symbolic_trace bakes buffer
    arithmetic at trace time, so the graph is written by hand, as other tracers record it.)"""
    root = nn.Module()
    root.bn = nn.BatchNorm1d(4).train()
    graph = fx.Graph()
    x = graph.placeholder("x")
    normalized = graph.call_module("bn", (x,))
    mean = graph.get_attr("bn.running_mean")
    doubled = graph.call_function(torch.mul, (mean, 2.0))
    graph.output(graph.call_function(torch.add, (normalized, doubled)))
    return fx.GraphModule(root, graph)


@pytest.mark.task(4)
def test_state_a_module_updates_is_not_constant(impl: ModuleType) -> None:
    gm = _stats_reader()
    reference = copy.deepcopy(gm)
    folded = impl.fold_constants(gm)
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(0)) + 3.0
    for call in range(3):  # each call moves running_mean: a folded copy of it goes stale
        with torch.no_grad():
            got, want = folded(x), reference(x)
        assert_same_outputs(got, want, task=4, what=f"call {call} after BN updated its stats")


class _ReturnsAConstant(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(2, 3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x + 1.0, self.log_scale.exp().view(-1)  # (6,): computed afresh on every call


@pytest.mark.task(4)
def test_a_returned_value_is_not_one_shared_buffer(impl: ModuleType) -> None:
    """The caller owns what forward returns and may write to it; with the value folded into a
    buffer (or a view of one), that write would change every later call's result."""
    model = _ReturnsAConstant()
    folded = impl.fold_constants(models.trace(model))
    x = torch.zeros(2)
    with torch.no_grad():
        first = folded(x)[1]
        first.add_(100.0)  # the caller's business
        second = folded(x)[1]
    assert_same_outputs(second, torch.ones(6), task=4, what="second call after a caller's write")
