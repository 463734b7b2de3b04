"""Task 5: dynamic shapes - batch and sequence length symbolic through torch.export.Dim; the
graph re-executes at a second shape, and the IR spells sizes in the user's names."""

from __future__ import annotations

import re
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import torch
from challenge_05_fx_graph_extraction import models
from challenge_05_fx_graph_extraction.breaks import Construct, ExtractionError
from challenge_05_fx_graph_extraction.ir import GraphIR
from torch import nn
from torch.export import Dim

from prep.testing import assert_close

if TYPE_CHECKING:
    from conftest import Zoo

pytestmark = pytest.mark.task(5)

DYNAMIC = [("minilm", "export"), ("gpt2", "dynamo")]
RTOL, ATOL = 1e-5, 1e-5  # same ATen ops in float32: only reduction order may differ


@pytest.mark.parametrize(("name", "method"), DYNAMIC)
def test_graph_runs_at_two_shapes(impl: ModuleType, zoo: Zoo, name: str, method: str) -> None:
    case = zoo.case(name)
    gm = zoo.extract(impl, name, method, dynamic=True).graph_module
    for inputs in (case.inputs, case.other_inputs):
        shape = tuple(inputs[0].shape)
        with torch.no_grad():
            out = gm(*inputs)
        what = f"{name} via {method} at {shape}"
        assert_close(out, case.eager(inputs), rtol=RTOL, atol=ATOL, task=5, what=what)


def _names_used(ir: GraphIR) -> set[str]:
    metas = [m for n in ir.nodes for m in n.outputs]
    texts = [s for m in metas if m.sym_shape is not None for s in m.sym_shape]
    return {word for text in texts for word in re.findall(r"[A-Za-z_]\w*", text)}


@pytest.mark.parametrize(("name", "method"), DYNAMIC)
def test_ir_uses_the_dimension_names(impl: ModuleType, zoo: Zoo, name: str, method: str) -> None:
    ir = zoo.extract(impl, name, method, dynamic=True).ir
    first = ir.node(ir.inputs[0]).outputs[0]
    assert all(ir.node(i).outputs[0].sym_shape == ("batch", "seq") for i in ir.inputs)
    assert first.shape == tuple(zoo.case(name).inputs[0].shape), "shape: the example's sizes"
    used = _names_used(ir)
    assert used <= {"batch", "seq", "Max", "Min"}, f"raw symbols leaked into sym_shape: {used}"
    (out,) = ir.outputs
    meta = ir.tensor(out)
    assert meta is not None
    assert meta.sym_shape is not None
    assert meta.sym_shape[0] == "batch"


def test_static_capture_has_no_symbols(impl: ModuleType, zoo: Zoo) -> None:
    ir = zoo.extract(impl, "cnn", "export").ir
    assert all(m.sym_shape is None for n in ir.nodes for m in n.outputs)


def test_minilm_inputs_keep_their_names(impl: ModuleType, zoo: Zoo) -> None:
    ir = zoo.extract(impl, "minilm", "export", dynamic=True).ir
    assert [ir.node(i).target for i in ir.inputs] == ["input_ids", "attention_mask"]
    (out,) = ir.outputs
    meta = ir.tensor(out)
    assert meta is not None
    assert meta.sym_shape == ("batch", str(models.MINILM_DIM))


def test_unbounded_sequence_names_the_bound(impl: ModuleType, zoo: Zoo) -> None:
    """BERT slices a position table (64 rows here, 512 in MiniLM), so export wants seq <= 64
    and says so."""
    with pytest.raises(ExtractionError) as info:
        zoo.extract(impl, "tiny_bert", "export", dynamic=True)
    assert info.value.construct is Construct.DYNAMIC_DIM
    assert "max=64" in str(info.value)


@pytest.mark.traces
def test_specialized_dimension_is_named(impl: ModuleType) -> None:
    """ShapeDependentLoop unrolls over T: T cannot stay dynamic."""
    x = torch.randn(2, 4, 8)
    with pytest.raises(ExtractionError) as info:
        impl.extract_graph(models.ShapeDependentLoop(), (x,), dynamic_dims=({1: "seq"},))
    assert info.value.construct is Construct.DYNAMIC_DIM


@pytest.mark.traces
def test_a_dim_object_keeps_its_bounds(impl: ModuleType) -> None:
    batch = Dim("batch", min=2, max=8)
    extracted = impl.extract_graph(
        nn.Linear(4, 3), (torch.randn(3, 4),), dynamic_dims=({0: batch},)
    )
    assert extracted.ir.node(extracted.ir.inputs[0]).outputs[0].sym_shape == ("batch", "4")
    out = extracted.graph_module(torch.randn(6, 4))
    assert out.shape == (6, 3)


# (method, example shape, dynamic_dims, error, the argument the message must name); the model
# is nn.Linear(5, 2). The wording is yours: the tests only ask that it names the argument.
BAD: list[tuple[str, tuple[int, ...], Any, type[Exception], str]] = [
    ("export", (3, 5), {0: {0: "batch"}}, TypeError, "dynamic_dims"),
    ("export", (3, 5), ("batch",), TypeError, r"dynamic_dims\[0\]"),
    ("export", (3, 5), ({"0": "batch"},), TypeError, r"dynamic_dims\[0\]"),
    ("export", (3, 5), ({0: 3},), TypeError, r"dynamic_dims\[0\]"),
    ("symbolic_trace", (3, 5), ({0: "batch"},), ValueError, "dynamic_dims"),
    ("export", (3, 5), ({0: "batch"}, None), ValueError, "dynamic_dims"),
    ("export", (3, 5), ({2: "batch"},), ValueError, r"dynamic_dims\[0\]"),
    ("export", (1, 5), ({0: "batch"},), ValueError, r"dynamic_dims\[0\]"),  # size 1 specializes
    ("export", (3, 5), ({0: "not a name"},), ValueError, r"dynamic_dims\[0\]"),
    ("dynamo", (3, 5), ({0: "n", -1: "n"},), ValueError, r"dynamic_dims\[0\]"),  # sizes 3 and 5
]


@pytest.mark.parametrize(("method", "shape", "dims", "error", "match"), BAD)
def test_rejects_bad_dynamic_dims(
    impl: ModuleType,
    method: str,
    shape: tuple[int, ...],
    dims: Any,
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        impl.extract_graph(nn.Linear(5, 2), (torch.randn(shape),), method=method, dynamic_dims=dims)
