"""Task 3: to_dot - parse the DOT text back and compare its nodes, edges and labels with the IR;
render it with Graphviz when the `dot` binary is installed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import torch
from challenge_05_fx_graph_extraction.ir import GraphIR, Method, NodeIR, NodeKind, TensorMeta
from challenge_05_fx_graph_extraction.svg import render_svg
from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

if TYPE_CHECKING:
    from conftest import Zoo

pytestmark = pytest.mark.task(3)

QUOTED = r'"((?:[^"\\]|\\.)*)"'
NODE = re.compile(rf"^\s*{QUOTED} \[(.*)\];$")
EDGE = re.compile(rf"^\s*{QUOTED} -> {QUOTED};$")
LABEL = re.compile(rf"label={QUOTED}")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


def parse(dot: str) -> tuple[dict[str, tuple[str, str]], set[tuple[str, str]]]:
    """{node id: (label, other attributes)} and the set of edges of ``to_dot``'s format."""
    lines = dot.strip().splitlines()
    assert re.match(r'^digraph ".*" \{$', lines[0]), f"first line: {lines[0]!r}"
    assert lines[-1] == "}", f"last line: {lines[-1]!r}"
    nodes: dict[str, tuple[str, str]] = {}
    edges: set[tuple[str, str]] = set()
    for line in lines[1:-1]:
        if edge := EDGE.match(line):
            edges.add((_unquote(edge.group(1)), _unquote(edge.group(2))))
        elif node := NODE.match(line):
            label = LABEL.search(node.group(2))
            assert label is not None, f"node without a label: {line!r}"
            nodes[_unquote(node.group(1))] = (_unquote(label.group(1)), node.group(2))
    return nodes, edges


def _check_against_ir(dot: str, ir: GraphIR) -> dict[str, tuple[str, str]]:
    nodes, edges = parse(dot)
    names = {n.name for n in ir.nodes}
    assert set(nodes) == names
    expected = {(ref, n.name) for n in ir.nodes for ref in n.inputs if ref in names}
    assert edges == expected
    for node in ir.nodes:
        label, attrs = nodes[node.name]
        assert node.target in label.split("\n"), f"{node.name}: target missing from {label!r}"
        for ref in node.inputs:
            if ref not in names:
                assert f"reads {ref}" in label.split("\n"), f"{node.name}: 'reads {ref}'"
        assert ("peripheries=2" in attrs) == (node.name in ir.outputs), node.name
        assert ("shape=ellipse" in attrs) == (node.kind is NodeKind.INPUT), node.name
    return nodes


@pytest.mark.parametrize("method", ["symbolic_trace", "export"])
def test_dot_matches_the_ir(impl: ModuleType, zoo: Zoo, method: str) -> None:
    ir = zoo.extract(impl, "cnn", method).ir
    nodes = _check_against_ir(impl.to_dot(ir), ir)
    x = ir.inputs[0]
    assert "(2, 3, 32, 32) float32" in nodes[x][0].split("\n")


def test_dot_shows_symbolic_sizes(impl: ModuleType, zoo: Zoo) -> None:
    ir = zoo.extract(impl, "gpt2", "dynamo", dynamic=True).ir
    nodes = _check_against_ir(impl.to_dot(ir), ir)
    assert "(batch, seq) int64" in nodes[ir.inputs[0]][0].split("\n")


def test_dot_escapes_quotes_and_backslashes(impl: ModuleType) -> None:
    odd = 'say "hi" \\ bye'
    nodes = (
        NodeIR("x", NodeKind.INPUT, "x", (), (TensorMeta((2,), "float32"),)),
        NodeIR(odd, NodeKind.CALL, 'python.m."f"', ("x",), (TensorMeta((2,), "float32"),)),
    )
    ir = GraphIR(Method.SYMBOLIC_TRACE, nodes, ("x",), (odd,))
    _check_against_ir(impl.to_dot(ir), ir)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_dot_renders_to_svg(impl: ModuleType, zoo: Zoo, tmp_path: Path) -> None:
    ir = zoo.extract(impl, "cnn", "export").ir
    path = render_svg(impl.to_dot(ir), tmp_path / "cnn.svg")
    assert path is not None
    assert "<svg" in path.read_text(encoding="utf-8")


def test_rejects_what_is_not_an_ir(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="ir"):
        impl.to_dot("digraph {}")


@pytest.mark.parametrize("method", ["symbolic_trace", "export"])
def test_dot_edges_are_the_graphs_edges(impl: ModuleType, zoo: Zoo, method: str) -> None:
    """Oracle: the FX graph itself. One edge per (input, reader) pair of nodes the graph has;
    parameters and buffers are labels ("reads ..."), not nodes, so they draw no edge."""
    extracted = zoo.extract(impl, "cnn", method)
    _, edges = parse(impl.to_dot(extracted.ir))
    graph_edges = {
        (source.name, node.name)
        for node in extracted.graph_module.graph.nodes
        if node.op in ("call_function", "call_method", "call_module")
        for source in node.all_input_nodes
        if source.op != "get_attr"
    }
    assert edges == graph_edges, (
        f"DOT has {len(edges)} edges, the graph {len(graph_edges)}: extra "
        f"{sorted(edges - graph_edges)[:3]}, missing {sorted(graph_edges - edges)[:3]}"
    )


@pytest.mark.parametrize("method", ["symbolic_trace", "export"])
def test_dot_labels_show_what_the_graph_computes(impl: ModuleType, zoo: Zoo, method: str) -> None:
    """Oracle: the graph run for real (ShapeProp) and the model's own parameter names. Each
    node's label shows the shape and dtype its FX node produced, and ``reads <fqn>`` for each
    parameter or buffer it reads (a get_attr input, or a leaf module's weights)."""
    extracted = zoo.extract(impl, "cnn", method)
    gm, model = extracted.graph_module, zoo.case("cnn").model
    with torch.no_grad():
        ShapeProp(gm).propagate(*zoo.case("cnn").inputs)
    fqn = {id(t): n for n, t in (*model.named_parameters(), *model.named_buffers())}
    labels = {
        name: label.split("\n") for name, (label, _) in parse(impl.to_dot(extracted.ir))[0].items()
    }
    checked = 0
    for node in gm.graph.nodes:
        meta = node.meta.get("tensor_meta")
        if node.op in ("get_attr", "output") or not isinstance(meta, TensorMetadata):
            continue
        line = f"({', '.join(map(str, meta.shape))}) {str(meta.dtype).removeprefix('torch.')}"
        assert line in labels[node.name], f"{node.name}: {line!r} missing from {labels[node.name]}"
        state = [_attr(gm, str(n.target)) for n in node.all_input_nodes if n.op == "get_attr"]
        if node.op == "call_module":
            state = list(gm.get_submodule(str(node.target)).parameters())
        for tensor in state:
            assert f"reads {fqn[id(tensor)]}" in labels[node.name], f"{node.name}: reads"
        checked += 1
    assert checked >= 20


def _attr(gm: torch.nn.Module, target: str) -> torch.Tensor:
    value: object = gm
    for part in target.split("."):
        value = getattr(value, part)
    assert isinstance(value, torch.Tensor)
    return value
