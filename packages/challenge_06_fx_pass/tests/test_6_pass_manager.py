"""Task 6: the pass manager - records, verification, and use as a torch.compile backend."""

from __future__ import annotations

import copy
import operator
from types import ModuleType

import pytest
import torch
import torch.fx as fx
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, run_seeded
from challenge_06_fx_pass.results import PassResult, PassVerificationError
from torch import nn

PIPELINE = (
    "fold_conv_bn",
    "fuse_linear_activation",
    "fold_constants",
    "eliminate_common_subexpressions",
    "eliminate_dead_code",
)


def _pipeline(impl: ModuleType) -> list[object]:
    return [getattr(impl, name) for name in PIPELINE]


def swap_add_for_sub(gm: fx.GraphModule) -> fx.GraphModule:
    """A broken pass: every `a + b` becomes `a - b`."""
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target is operator.add:
            node.target = operator.sub
    gm.recompile()
    return gm


def return_nothing(gm: fx.GraphModule) -> None:
    """A broken pass: forgets to return the graph."""


@pytest.mark.task(6)
def test_one_record_per_pass_and_each_removes_nodes(impl: ModuleType) -> None:
    case = models.make_case("kitchen_sink")
    gm = models.trace(case.model)
    pm = impl.PassManager(_pipeline(impl))
    result = pm.run(gm, case.inputs)
    assert isinstance(result, PassResult)
    assert [r.name for r in result.records] == list(PIPELINE)
    assert result.records[0].nodes_before == len(gm.graph.nodes)
    for prev, record in zip(result.records, result.records[1:], strict=False):
        assert record.nodes_before == prev.nodes_after, "records must chain: before == last after"
    for record in result.records:
        assert record.nodes_removed >= 1, f"{record.name} removed nothing from the kitchen sink"
        assert record.seconds >= 0.0
        assert record.max_abs_error is not None
        assert record.max_abs_error <= 1e-4
    assert result.records[-1].nodes_after == len(result.graph_module.graph.nodes)
    assert pm.history[-1] is result
    assert_same_outputs(
        run_seeded(result.graph_module, case.inputs),
        run_seeded(case.model, case.inputs),
        task=6,
        what="pipeline output",
    )


def identity_pass(gm: fx.GraphModule) -> fx.GraphModule:
    """A correct pass that changes nothing."""
    return gm


@pytest.mark.task(6)
@pytest.mark.parametrize("case_name", ["random_ops", "input_mutation"])
def test_verification_is_reproducible(impl: ModuleType, case_name: str) -> None:
    """A graph that draws random numbers, or writes to its input, gives the same outputs on
    every verification run only when each run is seeded and gets fresh copies of the inputs:
    otherwise a pass that changed nothing is reported as a broken one."""
    case = models.make_case(case_name)
    inputs = tuple(x.clone() for x in case.inputs)
    result = impl.PassManager([identity_pass, impl.eliminate_dead_code]).run(
        models.trace(case.model), inputs
    )
    assert [r.max_abs_error for r in result.records] == [0.0, 0.0], (
        f"{case_name}: a pass that changes nothing must verify with error 0 (task 6)"
    )
    for given, original in zip(inputs, case.inputs, strict=True):
        assert torch.equal(given, original), "verification wrote to the caller's inputs (task 6)"


@pytest.mark.task(6)
def test_verification_leaves_the_model_state_alone(impl: ModuleType) -> None:
    """A traced graph calls the model's own modules. Verification runs the graph 1 + P times:
    run on those modules, a training-mode BatchNorm would update its running statistics each
    time (twice per run here: it is shared by two branches)."""
    case = models.make_case("shared_batchnorm")
    model = case.model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    result = impl.PassManager(_pipeline(impl)).run(models.trace(model), case.inputs)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), (
            f"verification changed the model's {key}: run copies of the graph (task 6)"
        )
    reference = copy.deepcopy(model)
    got = run_seeded(result.graph_module, case.inputs)
    want = run_seeded(reference, case.inputs)
    assert_same_outputs(got, want, task=6, what="training-mode shared BatchNorm after the passes")
    counts = []
    for module in (result.graph_module, reference):
        bn = module.get_submodule("bn")
        assert isinstance(bn, nn.BatchNorm1d)
        assert bn.num_batches_tracked is not None
        counts.append(int(bn.num_batches_tracked))
    assert counts == [2, 2], (
        f"num_batches_tracked {counts}: the optimized graph updates its BatchNorm as the model "
        "does, twice per call (two branches)"
    )


@pytest.mark.task(6)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batchnorm_without_running_stats(impl: ModuleType, training: bool) -> None:
    """track_running_stats=False: normalised with batch statistics in both modes, nothing to
    fold and no state to update."""

    def factory() -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4, track_running_stats=False)
        )

    model = models.build(factory).train(training)
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    result = impl.PassManager(_pipeline(impl)).run(models.trace(model), (x,))
    assert any(isinstance(m, nn.BatchNorm2d) for m in result.graph_module.modules()), (
        "a BatchNorm without running statistics has nothing fixed to fold (task 1)"
    )
    assert_same_outputs(
        run_seeded(result.graph_module, (x,)), run_seeded(model, (x,)), task=6, what="no stats"
    )


@pytest.mark.task(6)
def test_verification_names_the_pass_that_changed_outputs(impl: ModuleType) -> None:
    case = models.make_case("kitchen_sink")
    pm = impl.PassManager([impl.eliminate_dead_code, swap_add_for_sub])
    with pytest.raises(PassVerificationError, match="swap_add_for_sub"):
        pm.run(models.trace(case.model), case.inputs)


@pytest.mark.task(6)
def test_without_verify_no_inputs_are_needed(impl: ModuleType) -> None:
    case = models.make_case("kitchen_sink")
    pm = impl.PassManager([swap_add_for_sub], verify=False)
    result = pm.run(models.trace(case.model))
    assert result.records[0].max_abs_error is None


@pytest.mark.task(6)
def test_verifying_needs_the_example_inputs(impl: ModuleType) -> None:
    case = models.make_case("kitchen_sink")
    pm = impl.PassManager([impl.eliminate_dead_code])
    with pytest.raises(ValueError, match="example_inputs"):
        pm.run(models.trace(case.model))


@pytest.mark.task(6)
def test_a_pass_must_return_a_graph_module(impl: ModuleType) -> None:
    case = models.make_case("kitchen_sink")
    pm = impl.PassManager([return_nothing])
    with pytest.raises(TypeError, match="return_nothing"):
        pm.run(models.trace(case.model), case.inputs)


@pytest.mark.task(6)
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"passes": [1]}, TypeError, "passes"),
        ({"passes": "fold_conv_bn"}, TypeError, "passes"),
        ({"passes": [], "verify": "yes"}, TypeError, "verify"),
        ({"passes": [], "rtol": -1.0}, ValueError, "rtol"),
    ],
    ids=["not-callable", "a-string", "verify-not-bool", "negative-rtol"],
)
def test_bad_arguments_are_named(
    impl: ModuleType, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        impl.PassManager(**kwargs)


@pytest.mark.task(6)
def test_run_rejects_a_module_that_is_not_traced(impl: ModuleType) -> None:
    case = models.make_case("cnn")
    with pytest.raises(TypeError, match="gm"):
        impl.PassManager([impl.fold_conv_bn]).run(case.model, case.inputs)


@pytest.mark.task(6)
def test_torch_compile_backend(impl: ModuleType) -> None:
    """Dynamo hands the backend a flat graph (parameters as inputs, torch.conv2d and
    F.batch_norm calls): the passes must run on it, verify, and give the model's outputs.
    (One model only: importing Dynamo costs seconds.)"""
    case_name = "kitchen_sink"
    case = models.make_case(case_name)
    pm = impl.PassManager(_pipeline(impl))
    torch._dynamo.reset()
    compiled = torch.compile(case.model, backend=pm.as_backend())
    assert_same_outputs(
        run_seeded(compiled, case.inputs),
        run_seeded(case.model, case.inputs),
        task=6,
        what=f"torch.compile(backend=pm.as_backend()) on {case_name}",
    )
    assert pm.history, "the backend did not run the pass manager"
    assert [r.name for r in pm.history[-1].records] == list(PIPELINE)
    cse = pm.history[-1].records[PIPELINE.index("eliminate_common_subexpressions")]
    assert cse.nodes_removed >= 1, "CSE found nothing to merge in Dynamo's graph (h * scale twice)"
    torch._dynamo.reset()


@pytest.mark.gpu
@pytest.mark.task(6)
def test_pipeline_on_cuda(impl: ModuleType) -> None:
    case = models.make_case("kitchen_sink")
    model, x = case.model.cuda(), case.inputs[0].cuda()
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        result = impl.PassManager(_pipeline(impl)).run(models.trace(model), (x,))
        assert_same_outputs(
            run_seeded(result.graph_module, (x,)), run_seeded(model, (x,)), task=6, what="CUDA"
        )
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
