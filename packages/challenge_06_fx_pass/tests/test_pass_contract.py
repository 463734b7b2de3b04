"""What every pass promises: same outputs, fewer nodes, idempotent, input untouched, and a clear
TypeError for anything but a GraphModule."""

from __future__ import annotations

import copy
from types import ModuleType

import pytest
import torch
import torch.fx as fx
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, run_seeded

# Each pass, the README task that writes it, and the case on which it must remove nodes.
PASSES: dict[str, tuple[int, str]] = {
    "fold_conv_bn": (1, "cnn"),
    "fuse_linear_activation": (2, "activation_forms"),
    "eliminate_dead_code": (3, "dead_code"),
    "fold_constants": (4, "constants"),
    "eliminate_common_subexpressions": (5, "common_subexpressions"),
}


def _pass_params(cases: tuple[str, ...] | None = None) -> list[object]:
    """One pytest.param per (pass, case), marked with the pass's task."""
    params: list[object] = []
    for name, (task, target) in PASSES.items():
        for case in cases or (target, "kitchen_sink"):
            params.append(
                pytest.param(name, case, marks=pytest.mark.task(task), id=f"{name}-{case}")
            )
    return params


_TRACED: dict[str, tuple[models.Case, fx.GraphModule]] = {}


def _traced(case_name: str) -> tuple[models.Case, fx.GraphModule]:
    """Each case traced once per session (passes must not modify their input, and
    test_input_is_left_untouched checks that they do not)."""
    if case_name not in _TRACED:
        case = models.make_case(case_name)
        _TRACED[case_name] = (case, models.trace(case.model))
    return _TRACED[case_name]


@pytest.mark.parametrize(("pass_name", "case_name"), _pass_params(models.CASE_NAMES))
def test_outputs_are_unchanged(impl: ModuleType, pass_name: str, case_name: str) -> None:
    """Same outputs (under the same seed: random ops included) on every model."""
    seed = 1  # not the seed anything ran under before: a precomputed random value shows
    case, gm = _traced(case_name)
    out = getattr(impl, pass_name)(gm)
    task = PASSES[pass_name][0]
    want = run_seeded(case.model, case.inputs, seed)
    assert_same_outputs(
        run_seeded(out, case.inputs, seed), want, task=task, what=f"{pass_name} on {case_name}"
    )


@pytest.mark.parametrize(("pass_name", "case_name"), _pass_params())
def test_fewer_nodes_and_idempotent(impl: ModuleType, pass_name: str, case_name: str) -> None:
    _, gm = _traced(case_name)
    graph_pass = getattr(impl, pass_name)
    once = graph_pass(gm)
    assert isinstance(once, fx.GraphModule), f"{pass_name} must return a GraphModule"
    assert len(once.graph.nodes) < len(gm.graph.nodes), (
        f"{pass_name} removed no node of {case_name}"
    )
    twice = graph_pass(once)
    assert twice.code == once.code, f"{pass_name} run twice changed the graph again: not idempotent"


@pytest.mark.parametrize(("pass_name", "case_name"), _pass_params(("kitchen_sink",)))
def test_input_is_left_untouched(impl: ModuleType, pass_name: str, case_name: str) -> None:
    case = models.make_case(case_name)
    gm = models.trace(case.model)
    code, state = gm.code, copy.deepcopy(gm.state_dict())
    want = run_seeded(case.model, case.inputs)
    getattr(impl, pass_name)(gm)
    assert gm.code == code, f"{pass_name} edited the graph it was given: copy first"
    assert gm.state_dict().keys() == state.keys(), f"{pass_name} changed the input's submodules"
    for key, value in state.items():
        assert torch.equal(gm.state_dict()[key], value), f"{pass_name} changed {key} in place"
    assert_same_outputs(
        run_seeded(case.model, case.inputs), want, task=PASSES[pass_name][0], what="original model"
    )


@pytest.mark.parametrize(("pass_name", "case_name"), _pass_params(("cnn",)))
def test_non_graph_module_is_a_type_error(impl: ModuleType, pass_name: str, case_name: str) -> None:
    case = models.make_case(case_name)
    with pytest.raises(TypeError, match="gm"):
        getattr(impl, pass_name)(case.model)  # an nn.Module, not yet traced


@pytest.mark.parametrize(("pass_name", "case_name"), _pass_params(("kitchen_sink",)))
def test_result_shares_no_state_with_the_input(
    impl: ModuleType, pass_name: str, case_name: str
) -> None:
    """Converting the result (``.half()``, ``.to(device)``) must not convert the model it came
    from: a pass that shares Parameter objects hands the caller a second handle on them."""
    case = models.make_case(case_name)
    gm = models.trace(case.model)
    out = getattr(impl, pass_name)(gm)
    out.half()
    for where, module in (("traced input", gm), ("model", case.model)):
        dtypes = {str(t.dtype) for t in module.state_dict().values() if t.is_floating_point()}
        assert dtypes == {"torch.float32"}, (
            f"{pass_name}(gm).half() converted the {where} to {dtypes}: copy the modules, "
            f"parameters and buffers (task {PASSES[pass_name][0]})"
        )
