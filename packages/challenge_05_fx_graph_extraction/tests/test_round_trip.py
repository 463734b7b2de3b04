"""Task 1: the IR as an exchange format. A consumer that has only the JSON and the weights
rebuilds a runnable graph (``rebuild.py``) and must compute what the model computes; every
target is spelled one way; ``decompose=True`` leaves core ATen operators only."""

from __future__ import annotations

import re
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import torch
from challenge_05_fx_graph_extraction import models
from challenge_05_fx_graph_extraction.ir import GraphIR, NodeKind
from challenge_05_fx_graph_extraction.rebuild import rebuild, resolve_target, state_of
from torch import Tensor, nn

from prep.testing import assert_close

if TYPE_CHECKING:
    from conftest import Zoo

pytestmark = pytest.mark.task(1)

# (name, method, decompose): every way the MLP and the CNN can be captured
CAPTURES = [
    (model, method, decompose)
    for model in ("mlp", "cnn")
    for method, decompose in (
        ("symbolic_trace", False),
        ("export", False),
        ("export", True),
        ("dynamo", False),
    )
]

# The same float32 operators (or their core-ATen decompositions) on the CPU: only the
# reduction order of a convolution or matmul may differ.
RTOL, ATOL = 1e-5, 1e-5


def _mlp() -> tuple[nn.Module, Tensor, Tensor]:
    """Linear-GELU(tanh)-Dropout-Linear-Softmax: a keyword argument (``approximate``), a float
    (``p``), a bool (``train``) and an int (``dim``) that a rebuilt graph needs."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(8, 16), nn.GELU("tanh"), nn.Dropout(0.1), nn.Linear(16, 4), nn.Softmax(-1)
    ).eval()
    gen = torch.Generator().manual_seed(1)
    return model, torch.randn(3, 8, generator=gen), torch.randn(3, 8, generator=gen)


def _cnn() -> tuple[nn.Module, Tensor, Tensor]:
    """ResNetCNN: strides, paddings, eps and the shortcut's 1x1 stride-2 convolution."""
    gen = torch.Generator().manual_seed(2)
    x, y = (torch.randn(2, 3, 16, 16, generator=gen) for _ in range(2))
    return models.resnet_cnn(), x, y


MODELS = {"mlp": _mlp, "cnn": _cnn}
_DECOMPOSED: dict[tuple[str, str], Any] = {}


def _decomposed(impl: ModuleType, name: str) -> tuple[Any, nn.Module, Tensor, Tensor]:
    """The decomposed export of ``name``, captured once per implementation."""
    model, x, other = MODELS[name]()
    key = (impl.__name__, name)
    if key not in _DECOMPOSED:
        _DECOMPOSED[key] = impl.extract_graph(model, (x,), method="export", decompose=True)
    return _DECOMPOSED[key], model, x, other


@pytest.mark.parametrize(("name", "method", "decompose"), CAPTURES)
def test_ir_alone_rebuilds_a_graph_that_computes_the_model(
    impl: ModuleType, zoo: Zoo, name: str, method: str, decompose: bool
) -> None:
    """Oracle: the eager model, on the example input and on a second input. The rebuilt graph
    sees the IR's JSON and the weights by name, nothing else: a dropped stride, padding, eps,
    dim or keyword argument, an argument out of order or a wrong overload changes the output
    or fails the call."""
    model, x, other = MODELS[name]()
    if name == "cnn" and not decompose:  # captured once per session for every task's tests
        extracted = zoo.extract(impl, "cnn", method)
        model, (x,) = zoo.case("cnn").model, zoo.case("cnn").inputs
        other = torch.randn(x.shape, generator=torch.Generator().manual_seed(3))
    elif decompose:
        extracted, model, x, other = _decomposed(impl, name)
    else:
        extracted = impl.extract_graph(model, (x,), method=method)
    ir = GraphIR.from_json(extracted.ir.to_json())
    gm = rebuild(ir, state_of(model, ir))
    for inputs in (x, other):
        with torch.no_grad():
            got, want = gm(inputs), model(inputs)
        what = f"{name} via {method}{' decomposed' if decompose else ''}, rebuilt from the IR"
        assert_close(got, want, rtol=RTOL, atol=ATOL, task=1, what=what)


@pytest.mark.traces
def test_a_transformer_rebuilds_too(impl: ModuleType, zoo: Zoo) -> None:
    """GPT-2 through export: embeddings, ``view``s with -1, slicing, SDPA and a tied head."""
    ir = GraphIR.from_json(zoo.extract(impl, "gpt2", "export").ir.to_json())
    case = zoo.case("gpt2")
    gm = rebuild(ir, state_of(case.model, ir))
    with torch.no_grad():
        out = gm(*case.inputs)
    assert_close(out, case.eager(), rtol=RTOL, atol=ATOL, task=1, what="GPT-2 rebuilt")


ONE_SPELLING = re.compile(
    r"^(aten\.\w+\.\w+|python\.[\w.]+|method\.\w+|module\.[\w.]+|higher_order\.\w+)$"
)


@pytest.mark.parametrize("method", ["symbolic_trace", "export", "dynamo"])
def test_every_aten_target_names_its_overload(impl: ModuleType, zoo: Zoo, method: str) -> None:
    """One spelling per operator: ``aten.<op>.<overload>`` whichever tracer recorded the call
    (never the bare ``aten.<op>``), and the name resolves to a real operator."""
    for name in ("cnn", "gpt2") if method != "symbolic_trace" else ("cnn",):
        ir = zoo.extract(impl, name, method).ir
        for node in ir.nodes:
            if node.kind is NodeKind.INPUT:
                continue
            assert ONE_SPELLING.match(node.target), f"{name}: {node.name} -> {node.target!r}"
            if node.target.startswith("aten."):
                assert isinstance(resolve_target(node.target), torch._ops.OpOverload)


def test_tracers_agree_on_the_overloads(impl: ModuleType, zoo: Zoo) -> None:
    """Oracle: torch.export's graph, whose overloads the dispatcher chose. A module call under
    symbolic_trace and a torch-level call under dynamo must name the same ATen overloads
    (``conv2d.default``, ``add.Tensor``, ``linear.default``, ``flatten.using_ints``)."""
    exported = {n.target for n in zoo.extract(impl, "cnn", "export").ir.nodes}
    for method in ("symbolic_trace", "dynamo"):
        ours = {n.target for n in zoo.extract(impl, "cnn", method).ir.nodes}
        for target in ("aten.conv2d.default", "aten.add.Tensor", "aten.linear.default"):
            assert target in exported
            assert target in ours, f"{method}: {sorted(t for t in ours if 'aten' in t)}"
        assert "aten.flatten.using_ints" in ours


@pytest.mark.parametrize("method", ["symbolic_trace", "export"])
def test_non_tensor_arguments_are_kept(impl: ModuleType, method: str) -> None:
    """A stride-2 convolution's call: ``conv2d(x, weight, None, [2, 2], [1, 1], ...)`` in the
    ATen schema's order, the weight by FQN - from an ``nn.Conv2d`` module call (symbolic_trace)
    as from the exported ATen graph (which leaves out trailing arguments at their defaults)."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False)).eval()
    ir = impl.extract_graph(model, (torch.randn(1, 3, 8, 8),), method=method).ir
    (conv,) = (n for n in ir.nodes if n.kind is NodeKind.CALL)
    assert conv.target == "aten.conv2d.default"
    x = {"ref": ir.inputs[0]}
    assert conv.args[:5] == (x, {"ref": "0.weight"}, None, [2, 2], [1, 1]), conv.args
    assert conv.inputs == (ir.inputs[0], "0.weight")


class TorchLevelCalls(nn.Module):
    """Calls whose ATen overload is not written in the source: ``torch.flatten(x, 1)`` is
    ``flatten.using_ints``, ``x.view(n, -1)`` is ``view.default`` with its sizes as one list,
    ``a + b`` is ``add.Tensor``, ``a * 2.0`` is ``mul.Tensor``."""

    def forward(self, x: Tensor) -> Tensor:
        flat = torch.flatten(x, 1)  # (B, C*H*W)
        return flat + x.view(x.shape[0], -1) * 2.0


@pytest.mark.parametrize("method", ["symbolic_trace", "dynamo"])
def test_torch_level_calls_name_the_dispatchers_overload(impl: ModuleType, method: str) -> None:
    x = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    model = TorchLevelCalls()
    ir = impl.extract_graph(model, (x,), method=method).ir
    targets = {n.target for n in ir.nodes if n.target.startswith("aten.")}
    expected = {
        "aten.flatten.using_ints",
        "aten.view.default",
        "aten.add.Tensor",
        "aten.mul.Tensor",
    }
    assert expected <= targets, f"{sorted(targets)}"
    gm = rebuild(GraphIR.from_json(ir.to_json()), {})
    assert_close(gm(x), model(x), rtol=0, atol=0, task=1, what=f"rebuilt via {method}")


@pytest.mark.traces
@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_decompose_leaves_core_aten_only(impl: ModuleType, name: str) -> None:
    """Oracle: torch's own ``core`` tag on each OpOverload. Composite operators
    (``linear``, ``conv2d``, ``batch_norm``) are gone; the graph still computes the model."""
    extracted, model, x, _ = _decomposed(impl, name)
    targets = {n.target for n in extracted.ir.nodes if n.kind is NodeKind.CALL}
    for target in targets - {"python.operator.getitem"}:
        op = resolve_target(target)
        assert torch.Tag.core in op.tags, f"{target} is not a core ATen operator"
    assert not targets & {"aten.linear.default", "aten.conv2d.default"}, targets
    with torch.no_grad():
        out = extracted.graph_module(x)
    assert_close(out, model(x), rtol=RTOL, atol=ATOL, task=1, what=f"{name} decomposed")


def test_decompose_is_checked(impl: ModuleType) -> None:
    model, x = nn.Linear(4, 4), torch.ones(2, 4)
    with pytest.raises(TypeError, match="decompose"):
        impl.extract_graph(model, (x,), method="export", decompose=1)
    with pytest.raises(ValueError, match="decompose"):
        impl.extract_graph(model, (x,), method="dynamo", decompose=True)
