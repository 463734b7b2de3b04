"""Task 1: extract_graph - the graph re-executes like the model, the IR describes the graph, and
what a method cannot capture raises ExtractionError naming the construct."""

from __future__ import annotations

from collections import Counter
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import torch
from challenge_05_fx_graph_extraction import models
from challenge_05_fx_graph_extraction.breaks import Construct, ExtractionError
from challenge_05_fx_graph_extraction.ir import GraphIR, Method, NodeKind
from torch import Tensor, nn
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

from prep.testing import assert_close

if TYPE_CHECKING:
    from conftest import Zoo

pytestmark = pytest.mark.task(1)

# (model, method) pairs the method supports. A capture of all-MiniLM-L6-v2 costs seconds on a
# CPU: task 5 captures it once (with dynamic batch and seq) and checks it the same way; here a
# GPT-2 covers transformers models, and MiniLM static runs with --run-slow.
SUPPORTED = [
    ("cnn", "symbolic_trace"),
    ("cnn", "export"),
    ("cnn", "dynamo"),
    ("gpt2", "export"),
    ("gpt2", "dynamo"),
    pytest.param("minilm", "export", marks=pytest.mark.slow),
    pytest.param("minilm", "dynamo", marks=pytest.mark.slow),
]

# The same ATen ops, float32 on the CPU: only reduction order can differ.
RTOL, ATOL = 1e-5, 1e-5


@pytest.mark.parametrize(("name", "method"), SUPPORTED)
def test_graph_reexecutes_like_the_model(
    impl: ModuleType, zoo: Zoo, name: str, method: str
) -> None:
    extracted = zoo.extract(impl, name, method)
    case = zoo.case(name)
    with torch.no_grad():
        out = extracted.graph_module(*case.inputs)
    assert_close(out, case.eager(), rtol=RTOL, atol=ATOL, task=1, what=f"{name} via {method}")


@pytest.mark.parametrize(("name", "method"), SUPPORTED)
def test_ir_round_trips_through_json(impl: ModuleType, zoo: Zoo, name: str, method: str) -> None:
    ir = zoo.extract(impl, name, method).ir
    assert isinstance(ir, GraphIR)
    assert ir.method == Method(method)
    again = GraphIR.from_json(ir.to_json())
    assert again == ir, "GraphIR.from_json(ir.to_json()) differs from ir: keep fields plain"


@pytest.mark.parametrize(("name", "method"), SUPPORTED)
def test_ir_shapes_match_shape_propagation(
    impl: ModuleType, zoo: Zoo, name: str, method: str
) -> None:
    """Oracle: torch.fx's ShapeProp runs the extracted graph on the real inputs and records each
    node's output; every CALL node of the IR must carry the same shapes and dtypes."""
    extracted = zoo.extract(impl, name, method)
    gm = extracted.graph_module
    with torch.no_grad():
        ShapeProp(gm).propagate(*zoo.case(name).inputs)
    by_name = {n.name: n for n in extracted.ir.nodes}
    calls = [n for n in gm.graph.nodes if n.op.startswith("call_")]
    missing = [n.name for n in calls if n.name not in by_name]
    assert not missing, f"graph nodes missing from the IR: {missing[:5]}"
    for node in calls:
        meta = node.meta.get("tensor_meta")
        if not isinstance(meta, TensorMetadata):
            continue  # a tuple or a non-tensor: checked through the getitem nodes that use it
        ours = by_name[node.name]
        assert ours.kind is NodeKind.CALL
        assert len(ours.outputs) == 1, f"{node.name}: one tensor out, IR lists {ours.outputs}"
        assert ours.outputs[0].shape == tuple(meta.shape), f"{node.name}: shape"
        assert ours.outputs[0].dtype == str(meta.dtype).removeprefix("torch."), f"{node.name}"


@pytest.mark.parametrize(("name", "method"), [("cnn", "export"), ("gpt2", "export")])
def test_export_targets_keep_the_aten_overload(
    impl: ModuleType, zoo: Zoo, name: str, method: str
) -> None:
    extracted = zoo.extract(impl, name, method)
    by_name = {n.name: n for n in extracted.ir.nodes}
    for node in extracted.graph_module.graph.nodes:
        if node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload):
            assert by_name[node.name].target == str(node.target)  # e.g. aten.add.Tensor


@pytest.mark.parametrize("method", ["symbolic_trace", "export", "dynamo"])
def test_every_method_speaks_the_same_vocabulary(impl: ModuleType, zoo: Zoo, method: str) -> None:
    """ResNetCNN has 6 convolutions, 5 ReLUs, 2 residual adds and 1 linear layer; nn modules,
    torch functions and ATen overloads must all normalize to those op names."""
    ir = zoo.extract(impl, "cnn", method).ir
    ops = Counter(n.op for n in ir.nodes if n.kind is NodeKind.CALL)
    assert (ops["conv2d"], ops["relu"], ops["add"], ops["linear"]) == (6, 5, 2, 1), ops
    assert all(n.target.startswith("aten.") for n in ir.nodes if n.op in ("conv2d", "linear"))


@pytest.mark.parametrize(("name", "method"), [("cnn", "symbolic_trace"), ("gpt2", "dynamo")])
def test_state_is_named_by_fully_qualified_name(
    impl: ModuleType, zoo: Zoo, name: str, method: str
) -> None:
    """Parameters by FQN, whatever the tracer called the attribute (dynamo mangles it), and a
    tied weight (GPT-2's lm_head is wte) once."""
    ir = zoo.extract(impl, name, method).ir
    model = zoo.case(name).model
    params = dict(model.named_parameters())
    assert set(ir.parameters) == set(params)
    for fqn, meta in ir.parameters.items():
        assert meta.shape == tuple(params[fqn].shape), fqn
    assert set(ir.buffers) <= set(dict(model.named_buffers()))
    reads = {ref for n in ir.nodes for ref in n.inputs}
    assert set(ir.parameters) <= reads, "every listed parameter is read by some node"


@pytest.mark.parametrize("method", ["export", "dynamo"])
def test_inputs_and_outputs(impl: ModuleType, zoo: Zoo, method: str) -> None:
    ir = zoo.extract(impl, "gpt2", method).ir
    (ids,) = zoo.case("gpt2").inputs
    (first,) = (ir.node(name) for name in ir.inputs)
    assert (first.kind, first.target) == (NodeKind.INPUT, "input_ids"), "named as in forward()"
    assert first.outputs[0].shape == tuple(ids.shape)
    assert first.outputs[0].dtype == "int64"
    (out,) = ir.outputs
    meta = ir.tensor(out)
    assert meta is not None
    assert meta.shape == tuple(zoo.case("gpt2").eager().shape)


# ---- What each method cannot capture -----------------------------------------------------

UNSUPPORTED = [
    ("branch", "symbolic_trace", Construct.CONTROL_FLOW),
    ("branch", "export", Construct.CONTROL_FLOW),
    ("branch", "dynamo", Construct.CONTROL_FLOW),
    ("loop", "symbolic_trace", Construct.PYTHON_VALUE),
    ("logger", "dynamo", Construct.SIDE_EFFECT),
    ("numpy", "symbolic_trace", Construct.NON_TORCH_CALL),
    ("numpy", "export", Construct.NON_TORCH_CALL),
]


def _defeater(name: str) -> tuple[nn.Module, tuple[Tensor, ...]]:
    x = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
    if name == "loop":
        return models.ShapeDependentLoop().eval(), (torch.randn(2, 4, 8),)
    cls = {
        "branch": models.DataDependentBranch,
        "cond": models.CondBranch,
        "logger": models.ActivationLogger,
        "numpy": models.NumpyRoundTrip,
    }[name]
    return cls().eval(), (x,)


def _check_error(error: ExtractionError, method: str, construct: Construct) -> None:
    assert error.construct is construct, f"via {method}: {error.construct} != {construct}"
    assert error.method is Method(method)
    assert construct.value in str(error)
    assert isinstance(error.__cause__, Exception), (
        "raise ExtractionError(...) from the tracer's error"
    )


@pytest.mark.parametrize(("name", "method", "construct"), UNSUPPORTED)
def test_unsupported_construct_is_named(
    impl: ModuleType, name: str, method: str, construct: Construct
) -> None:
    model, inputs = _defeater(name)
    with pytest.raises(ExtractionError) as info:
        impl.extract_graph(model, inputs, method=method)
    _check_error(info.value, method, construct)


@pytest.mark.parametrize(
    ("name", "construct"),
    [("minilm", Construct.PYTHON_VALUE), ("gpt2", Construct.CONTROL_FLOW)],
)
def test_transformers_defeat_symbolic_trace(
    impl: ModuleType, zoo: Zoo, name: str, construct: Construct
) -> None:
    """HF models slice by sizes and branch on them: proxies cannot do either."""
    with pytest.raises(ExtractionError) as info:
        zoo.extract(impl, name, "symbolic_trace")
    _check_error(info.value, "symbolic_trace", construct)


@pytest.mark.parametrize(
    ("name", "method"),
    [("loop", "export"), ("loop", "dynamo"), ("numpy", "dynamo"), ("cond", "export")],
)
def test_what_each_method_can_capture(impl: ModuleType, name: str, method: str) -> None:
    """Export and dynamo unroll the shape loop at the example's length; dynamo traces NumPy as
    torch ops; torch.cond lets export keep both sides of a data-dependent branch."""
    model, inputs = _defeater(name)
    gm = impl.extract_graph(model, inputs, method=method).graph_module
    trials = [inputs]
    if isinstance(model, models.CondBranch):  # inputs that send the branch each way
        direction = torch.ones(2, 8) / model.fc.weight.sum(0)  # row sums of fc(t*direction): 8t + b
        trials = [(100.0 * direction,), (-100.0 * direction,)]
        assert model.fc(trials[0][0]).sum() > 0 > model.fc(trials[1][0]).sum()
    for args in trials:
        with torch.no_grad():
            assert_close(gm(*args), model(*args), rtol=RTOL, atol=ATOL, task=1, what=name)


@pytest.mark.parametrize("method", ["symbolic_trace", "export"])
def test_side_effect_runs_at_trace_time_only(impl: ModuleType, method: str) -> None:
    """The trap the README warns about: these methods capture ActivationLogger without an
    error, and the graph they return never writes the log."""
    model, inputs = _defeater("logger")
    assert isinstance(model, models.ActivationLogger)
    gm = impl.extract_graph(model, inputs, method=method).graph_module
    model.log.seek(0)
    model.log.truncate()
    gm(*inputs)
    assert model.log.getvalue() == ""
    model(*inputs)
    assert model.log.getvalue() != ""


@pytest.mark.traces
def test_method_accepts_enum_and_string(impl: ModuleType) -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU()).eval()
    x = torch.randn(2, 4)
    a = impl.extract_graph(model, (x,), method=Method.SYMBOLIC_TRACE).ir
    b = impl.extract_graph(model, [x], method="symbolic_trace").ir
    assert a == b


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["symbolic_trace", "export", "dynamo"])
def test_capture_on_gpu(impl: ModuleType, method: str) -> None:
    """Capture is device-agnostic: a CUDA model gives a CUDA graph with the same IR shapes."""
    model = models.resnet_cnn().cuda()
    x = torch.randn(2, 3, 32, 32, device="cuda")
    extracted = impl.extract_graph(model, (x,), method=method)
    with torch.no_grad():
        out, expected = extracted.graph_module(x), model(x)
    # cuDNN may pick different conv algorithms for the two runs: TF32-free fp32 tolerance
    assert_close(out, expected, rtol=1e-4, atol=1e-4, task=1, what=f"CUDA {method}")
    (name,) = extracted.ir.outputs
    meta = extracted.ir.tensor(name)
    assert meta is not None
    assert meta.shape == (2, 10)


# ---- Bad input ---------------------------------------------------------------------------


def test_rejects_a_model_that_is_not_a_module(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="model"):
        impl.extract_graph(lambda x: x, (torch.ones(2),))


@pytest.mark.parametrize(
    ("inputs", "match"),
    [(torch.ones(2, 4), "example_inputs"), ((torch.ones(2, 4), 3), r"example_inputs\[1\]")],
)
def test_rejects_inputs_that_are_not_a_sequence_of_tensors(
    impl: ModuleType, inputs: object, match: str
) -> None:
    with pytest.raises(TypeError, match=match):
        impl.extract_graph(nn.Linear(4, 4), inputs)


def test_rejects_an_unknown_method(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="method"):
        impl.extract_graph(nn.Linear(4, 4), (torch.ones(2, 4),), method="jit_trace")
    with pytest.raises(TypeError, match="method"):
        impl.extract_graph(nn.Linear(4, 4), (torch.ones(2, 4),), method=3)
