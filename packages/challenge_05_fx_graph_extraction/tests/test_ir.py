"""The given code: GraphIR's validation and JSON round trip, and Construct.classify on the
messages each tracer really prints. (No task: these pass before you write anything.)"""

from __future__ import annotations

import pytest
from challenge_05_fx_graph_extraction.breaks import Construct, ExtractionError
from challenge_05_fx_graph_extraction.ir import GraphIR, Method, NodeIR, NodeKind, TensorMeta
from hypothesis import given
from hypothesis import strategies as st

metas = st.builds(
    TensorMeta,
    shape=st.lists(st.integers(-1, 9), max_size=4).map(tuple),
    dtype=st.sampled_from(["float32", "bfloat16", "int64", "bool"]),
)


@st.composite
def graphs(draw: st.DrawFn) -> GraphIR:
    params = draw(st.dictionaries(st.sampled_from(["w.a", "w.b", "emb.weight"]), metas))
    nodes = [NodeIR("x", NodeKind.INPUT, "x", (), (draw(metas),))]
    for i in range(draw(st.integers(0, 6))):
        known = [n.name for n in nodes] + list(params)
        reads = tuple(draw(st.lists(st.sampled_from(known), max_size=3)))
        target = draw(st.sampled_from(["aten.add.Tensor", "aten.relu", "python.operator.getitem"]))
        outs = tuple(draw(st.lists(metas, max_size=2)))
        nodes.append(NodeIR(f"n{i}", NodeKind.CALL, target, reads, outs))
    method = draw(st.sampled_from(list(Method)))
    return GraphIR(method, tuple(nodes), ("x",), (nodes[-1].name,), params)


@given(ir=graphs())
def test_json_round_trip(ir: GraphIR) -> None:
    assert GraphIR.from_json(ir.to_json()) == ir


def _meta() -> TensorMeta:
    return TensorMeta((2,), "float32")


def test_rejects_a_read_of_nothing() -> None:
    nodes = (
        NodeIR("x", NodeKind.INPUT, "x", (), (_meta(),)),
        NodeIR("y", NodeKind.CALL, "aten.relu", ("z",), (_meta(),)),
    )
    with pytest.raises(ValueError, match="'z'"):
        GraphIR(Method.EXPORT, nodes, ("x",), ("y",))


def test_rejects_duplicate_names_and_bad_metas() -> None:
    x = NodeIR("x", NodeKind.INPUT, "x", (), (_meta(),))
    with pytest.raises(ValueError, match="'x'"):
        GraphIR(Method.EXPORT, (x, x), ("x",), ("x",))
    with pytest.raises(ValueError, match="dtype"):
        TensorMeta((2,), "float33")
    with pytest.raises(TypeError, match="shape"):
        TensorMeta([2], "float32")  # type: ignore[arg-type]


def test_op_names() -> None:
    def op(target: str) -> str:
        return NodeIR("n", NodeKind.CALL, target, (), ()).op

    assert op("aten.linear.default") == "linear"
    assert op("aten.add") == "add"
    assert op("python.operator.getitem") == "getitem"
    assert op("module.my.pkg.Block") == "Block"


@pytest.mark.parametrize(
    ("message", "construct"),
    [
        ("TraceError: symbolically traced variables cannot be used as inputs to control flow", Construct.CONTROL_FLOW),
        ("GuardOnDataDependentSymNode: Could not guard on data-dependent expression Eq(u0, 1)", Construct.CONTROL_FLOW),
        ("generic_jump TensorVariable()", Construct.CONTROL_FLOW),
        ("TypeError: 'Proxy' object cannot be interpreted as an integer", Construct.PYTHON_VALUE),
        ("TypeError: slice indices must be integers or None or have an __index__ method", Construct.PYTHON_VALUE),
        ("UserError: Constraints violated (seq)! ... Suggested fixes: seq = Dim('seq', max=512)", Construct.DYNAMIC_DIM),
        ("Unsupported: Failed to trace builtin operator `print`", Construct.SIDE_EFFECT),
        ("RuntimeError: .numpy() is not supported for tensor subclasses.", Construct.NON_TORCH_CALL),
        ("RuntimeError: something new", Construct.UNKNOWN),
    ],
)  # fmt: skip
def test_classify(message: str, construct: Construct) -> None:
    assert Construct.classify(message) is construct


def test_extraction_error_says_what_and_how() -> None:
    error = ExtractionError(Method.EXPORT, Construct.CONTROL_FLOW, "Could not guard", "Net")
    text = str(error)
    assert "'export'" in text
    assert "Net" in text
    assert Construct.CONTROL_FLOW.value in text
    assert "torch.cond" in text
