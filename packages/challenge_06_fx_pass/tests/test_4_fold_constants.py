"""Task 4: constant folding of parameter-only subgraphs."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, run_seeded


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
