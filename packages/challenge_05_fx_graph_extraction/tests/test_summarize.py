"""Task 2: summarize - FLOPs against torch's FlopCounterMode, parameter counts against the model,
the op histogram against the IR, and peak memory against a brute-force liveness walk."""

from __future__ import annotations

from collections import Counter
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import torch
from challenge_05_fx_graph_extraction.ir import GraphIR, Method, NodeIR, NodeKind, TensorMeta
from hypothesis import given
from hypothesis import strategies as st
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

if TYPE_CHECKING:
    from conftest import Zoo

pytestmark = pytest.mark.task(2)

CAPTURED = [
    ("cnn", "symbolic_trace"),
    ("cnn", "export"),
    ("cnn", "dynamo"),
    ("gpt2", "export"),
    ("gpt2", "dynamo"),
]


@pytest.mark.parametrize(("name", "method"), CAPTURED)
def test_flops_match_flop_counter_mode(impl: ModuleType, zoo: Zoo, name: str, method: str) -> None:
    """Oracle: FlopCounterMode counts the matmuls, convolutions and attention the eager model
    actually dispatches; the IR-only estimate must agree exactly."""
    case = zoo.case(name)
    summary = impl.summarize(zoo.extract(impl, name, method).ir)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        case.model(*case.inputs)
    assert summary.flops == counter.get_total_flops(), (
        f"{name} via {method}: {summary.flops:,} FLOPs, FlopCounterMode says "
        f"{counter.get_total_flops():,} (by op: {summary.flops_by_op})"
    )
    assert sum(summary.flops_by_op.values()) == summary.flops


@pytest.mark.parametrize(("name", "method"), CAPTURED)
def test_parameter_count_matches_the_model(
    impl: ModuleType, zoo: Zoo, name: str, method: str
) -> None:
    """GPT-2 ties lm_head to wte: model.parameters() yields it once, so must the IR."""
    summary = impl.summarize(zoo.extract(impl, name, method).ir)
    assert summary.parameter_count == sum(p.numel() for p in zoo.case(name).model.parameters())


def test_histogram_counts_call_targets(impl: ModuleType, zoo: Zoo) -> None:
    ir = zoo.extract(impl, "gpt2", "export").ir
    summary = impl.summarize(ir)
    calls = [n for n in ir.nodes if n.kind is NodeKind.CALL]
    assert summary.op_histogram == dict(Counter(n.target for n in calls))
    counts = list(summary.op_histogram.values())
    assert counts == sorted(counts, reverse=True), "most common first"
    assert summary.node_count == len(calls)


# ---- Hypothesis: single ops against torch.utils.flop_counter's formulas -----------------------

sizes = st.integers(1, 9)


def _ir(target: str, shapes: list[tuple[int, ...]], out: tuple[int, ...]) -> GraphIR:
    """x -> op(x, w1, w2...) with the weights as parameters."""
    f32 = "float32"
    params = {f"w{i}": TensorMeta(s, f32) for i, s in enumerate(shapes[1:], 1)}
    nodes = (
        NodeIR("x", NodeKind.INPUT, "x", (), (TensorMeta(shapes[0], f32),)),
        NodeIR("op", NodeKind.CALL, target, ("x", *params), (TensorMeta(out, f32),)),
    )
    return GraphIR(Method.EXPORT, nodes, ("x",), ("op",), params)


@given(m=sizes, k=sizes, n=sizes, b=sizes)
def test_matmul_flops(impl: ModuleType, m: int, k: int, n: int, b: int) -> None:
    cases: list[tuple[str, list[tuple[int, ...]], tuple[int, ...], int]] = [
        ("aten.mm.default", [(m, k), (k, n)], (m, n), flop_counter.mm_flop((m, k), (k, n))),
        ("aten.bmm.default", [(b, m, k), (b, k, n)], (b, m, n), flop_counter.bmm_flop((b, m, k), (b, k, n))),
        ("aten.addmm.default", [(n,), (m, k), (k, n)], (m, n), flop_counter.addmm_flop((n,), (m, k), (k, n))),
        ("aten.linear", [(b, m, k), (n, k)], (b, m, n), flop_counter.bmm_flop((b, m, k), (b, k, n))),
    ]  # fmt: skip
    for target, shapes, out, expected in cases:
        ir = _ir(target, shapes, out)
        assert impl.summarize(ir).flops == expected, f"{target} {shapes}"


@given(b=sizes, c=sizes, o=sizes, h=st.integers(3, 9), kh=st.integers(1, 3), kw=st.integers(1, 3))
def test_conv_flops(impl: ModuleType, b: int, c: int, o: int, h: int, kh: int, kw: int) -> None:
    x, w, out = (b, c, h, h), (o, c, kh, kw), (b, o, h - kh + 1, h - kw + 1)
    ir = _ir("aten.conv2d.default", [x, w], out)
    assert impl.summarize(ir).flops == flop_counter.conv_flop_count(list(x), list(w), list(out))


@given(b=sizes, h=sizes, L=sizes, S=sizes, e=sizes, ev=sizes)
def test_attention_flops(impl: ModuleType, b: int, h: int, L: int, S: int, e: int, ev: int) -> None:
    q, k, v = (b, h, L, e), (b, h, S, e), (b, h, S, ev)
    ir = _ir("aten.scaled_dot_product_attention.default", [q, k, v], (b, h, L, ev))
    assert impl.summarize(ir).flops == flop_counter.sdpa_flop_count(q, k, v)


def test_unknown_sizes_give_no_flops(impl: ModuleType) -> None:
    ir = _ir("aten.mm.default", [(-1, 4), (4, 5)], (-1, 5))
    assert impl.summarize(ir).flops == 0


# ---- Hypothesis: peak memory on random DAGs against a brute-force liveness walk ---------------


@st.composite
def random_graphs(draw: st.DrawFn) -> GraphIR:
    """Random DAGs: each node reads 1-3 earlier nodes, outputs 0-2 tensors of random size."""
    n = draw(st.integers(1, 12))
    nodes: list[NodeIR] = []
    for i in range(n):
        reads = (
            ()
            if i == 0
            else tuple(
                f"n{j}" for j in draw(st.lists(st.integers(0, i - 1), min_size=1, max_size=3))
            )
        )
        outs = tuple(
            TensorMeta((draw(st.integers(1, 64)),), draw(st.sampled_from(["float32", "int8"])))
            for _ in range(draw(st.integers(0 if i else 1, 2)))
        )
        kind = NodeKind.INPUT if i == 0 else NodeKind.CALL
        nodes.append(NodeIR(f"n{i}", kind, "x" if i == 0 else "aten.add", reads, outs))
    returned = tuple(
        draw(st.lists(st.sampled_from([n.name for n in nodes]), min_size=1, max_size=2))
    )
    return GraphIR(Method.EXPORT, tuple(nodes), ("n0",), returned)


def brute_force_peak(ir: GraphIR) -> int:
    """Tensor j is live at step i when j <= i <= last(j): its last reader, or the end if
    returned. Sum the live bytes at every step; take the max."""
    names = [n.name for n in ir.nodes]
    end = len(names) - 1
    peak = 0
    for i in range(len(names)):
        live = 0
        for j, node in enumerate(ir.nodes[: i + 1]):
            readers = [k for k, other in enumerate(ir.nodes) if node.name in other.inputs]
            last = end if node.name in ir.outputs else max([j, *readers])
            if last >= i:
                live += sum(m.nbytes for m in node.outputs)
        peak = max(peak, live)
    return peak


@given(ir=random_graphs())
def test_peak_activation_matches_liveness(impl: ModuleType, ir: GraphIR) -> None:
    assert impl.summarize(ir).peak_activation_bytes == brute_force_peak(ir)


def test_peak_activation_of_a_chain_by_hand(impl: ModuleType) -> None:
    """x (400 B) -> a (800 B) -> b (40 B): while computing a, x and a are live: 1200 B."""
    f32 = "float32"
    nodes = (
        NodeIR("x", NodeKind.INPUT, "x", (), (TensorMeta((100,), f32),)),
        NodeIR("a", NodeKind.CALL, "aten.relu", ("x",), (TensorMeta((200,), f32),)),
        NodeIR("b", NodeKind.CALL, "aten.sum", ("a",), (TensorMeta((10,), f32),)),
    )
    ir = GraphIR(Method.EXPORT, nodes, ("x",), ("b",))
    assert impl.summarize(ir).peak_activation_bytes == 1200


def _nbytes(value: object) -> int:
    leaves = torch.utils._pytree.tree_leaves(value)
    return sum(t.numel() * t.element_size() for t in leaves if isinstance(t, torch.Tensor))


class MeasuredPeak(torch.fx.Interpreter):
    """Runs the captured graph for real, holding each value until FX's own last-use analysis
    frees it, and records the largest total of live activation bytes after each node (each
    node's outputs counted as their own allocation, parameters not at all)."""

    def __init__(self, gm: torch.fx.GraphModule) -> None:
        super().__init__(gm)
        self.peak = 0

    def run_node(self, n: torch.fx.Node) -> object:
        result = super().run_node(n)
        if n.op not in ("get_attr", "output"):
            # a value no node reads is live at its own step only (FX never frees it)
            held = [v for k, v in self.env.items() if k.op != "get_attr" and k.users]
            self.peak = max(self.peak, sum(map(_nbytes, held)) + _nbytes(result))
        return result


@pytest.mark.parametrize(
    ("name", "method"), [("cnn", "symbolic_trace"), ("cnn", "export"), ("gpt2", "export")]
)
def test_peak_activation_of_a_real_graph(
    impl: ModuleType, zoo: Zoo, name: str, method: str
) -> None:
    """Oracle: the graph run for real (``MeasuredPeak``), not the IR: an IR walk that loses an
    edge frees a tensor too early, and the estimate must still match the run."""
    extracted = zoo.extract(impl, name, method)
    measured = MeasuredPeak(extracted.graph_module)
    with torch.no_grad():
        measured.run(*zoo.case(name).inputs)
    assert impl.summarize(extracted.ir).peak_activation_bytes == measured.peak


def test_rejects_what_is_not_an_ir(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="ir"):
        impl.summarize({"nodes": []})
