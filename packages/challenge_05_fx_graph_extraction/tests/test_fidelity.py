"""The IR against the FX graph it describes: every edge of the graph (keyword arguments and lists
included), operator argument order, defaulted ``forward`` arguments, export's strict mode, and
FLOPs of transposed convolutions."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
import torch.nn.functional as F  # noqa: N812 - the universal spelling
from challenge_05_fx_graph_extraction.ir import ExtractedGraph, NodeKind
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from prep.testing import assert_close

pytestmark = pytest.mark.traces


class KeywordsAndLists(nn.Module):
    """Tensors passed by keyword and inside a list, and one tensor read twice by one op."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.norm_weight = nn.Parameter(torch.linspace(0.5, 1.5, 16))

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc(x)  # (B, 8)
        joined = torch.cat([h, x], dim=1)  # (B, 16): a list argument
        doubled = torch.add(joined, other=joined * 2.0)  # a keyword tensor argument
        squared = doubled * doubled  # one input, read twice
        return F.layer_norm(squared, (16,), weight=self.norm_weight)  # a keyword parameter


def _state_name(model: nn.Module, extracted: ExtractedGraph, node: torch.fx.Node) -> str:
    """The FQN of the parameter or buffer a get_attr node reads (by identity, not by name)."""
    value: object = extracted.graph_module
    for part in str(node.target).split("."):
        value = getattr(value, part)
    owners = {id(t): n for n, t in (*model.named_parameters(), *model.named_buffers())}
    return owners.get(id(value), str(node.target))


@pytest.mark.task(1)
@pytest.mark.parametrize("method", ["symbolic_trace", "export", "dynamo"])
def test_every_edge_of_the_graph_is_in_the_ir(impl: ModuleType, method: str) -> None:
    """Oracle: FX's own ``node.all_input_nodes`` (args and kwargs, lists flattened, each input
    once). The IR lists the same inputs in the same order of first appearance."""
    model = KeywordsAndLists().eval()
    x = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    extracted = impl.extract_graph(model, (x,), method=method)
    by_name = {n.name: n for n in extracted.ir.nodes}
    checked = 0
    for node in extracted.graph_module.graph.nodes:
        if node.op not in ("call_function", "call_method", "call_module"):
            continue
        expected = [
            _state_name(model, extracted, n) if n.op == "get_attr" else n.name
            for n in node.all_input_nodes
        ]
        listed = list(dict.fromkeys(by_name[node.name].inputs))
        if node.op == "call_module":  # a module's own parameters come on top of its inputs
            listed = [r for r in listed if r not in extracted.ir.parameters]
        assert listed == expected, (
            f"{node.name} ({node.target}) reads {expected} in the graph, the IR lists {listed}: "
            "walk args and kwargs, flattening lists (task 1)"
        )
        checked += 1
    assert checked >= 5


@pytest.mark.task(1)
def test_embedding_reads_weight_then_indices_like_aten(impl: ModuleType) -> None:
    """``aten.embedding(weight, indices)``: a symbolic_trace ``nn.Embedding`` call must list its
    inputs in the order the exported ATen operator has them."""
    model = nn.Sequential(nn.Embedding(10, 4)).eval()  # a leaf module call under symbolic_trace
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    orders = {}
    for method in ("symbolic_trace", "export"):
        ir = impl.extract_graph(model, (ids,), method=method).ir
        (call,) = (n for n in ir.nodes if n.kind is NodeKind.CALL)
        assert call.op == "embedding"
        orders[method] = ["weight" if ref == "0.weight" else "indices" for ref in call.inputs]
    assert orders["symbolic_trace"] == orders["export"] == ["weight", "indices"], orders


class OptionalMask(nn.Module):
    """``forward(x, mask=None, scale=2.0)``: callers usually give ``x`` alone."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x: Tensor, mask: Tensor | None = None, scale: float = 2.0) -> Tensor:
        y: Tensor = self.fc(x) * scale
        if mask is not None:
            y = y.masked_fill(mask, 0.0)
        return y


@pytest.mark.task(1)
@pytest.mark.parametrize("method", ["symbolic_trace", "export"])
def test_defaulted_arguments_keep_their_defaults(impl: ModuleType, method: str) -> None:
    """Traced with ``(x,)``, the graph is the model called with ``(x,)``: ``mask`` is ``None``
    and ``scale`` is 2.0; the graph and the IR take one input."""
    model = OptionalMask().eval()
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    extracted = impl.extract_graph(model, (x,), method=method)
    with torch.no_grad():
        got, want = extracted.graph_module(x), model(x)
    assert_close(got, want, rtol=1e-6, atol=1e-6, task=1, what=f"defaults via {method}")
    assert [extracted.ir.node(n).target for n in extracted.ir.inputs] == ["x"]
    assert [n.op for n in extracted.graph_module.graph.nodes].count("placeholder") == 1


@pytest.mark.task(1)
def test_export_strict_and_non_strict_agree_on_a_plain_model(impl: ModuleType) -> None:
    """Non-strict (the default) runs forward as Python with fake tensors; strict=True analyses
    the bytecode with Dynamo first. On a model both accept, the ATen graph is the same."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    loose = impl.extract_graph(model.eval(), (x,), method="export")
    strict = impl.extract_graph(model.eval(), (x,), method="export", strict=True)
    ops = [[n.target for n in e.ir.nodes if n.kind is NodeKind.CALL] for e in (loose, strict)]
    assert ops[0] == ops[1]
    with torch.no_grad():
        assert_close(strict.graph_module(x), model(x), rtol=1e-6, atol=1e-6, task=1, what="strict")


@pytest.mark.task(1)
def test_strict_is_checked(impl: ModuleType) -> None:
    model, x = nn.Linear(4, 4), torch.ones(2, 4)
    with pytest.raises(TypeError, match="strict"):
        impl.extract_graph(model, (x,), method="export", strict="yes")
    with pytest.raises(ValueError, match="strict"):
        impl.extract_graph(model, (x,), method="symbolic_trace", strict=True)


@pytest.mark.task(2)
@pytest.mark.parametrize(
    ("method", "decompose"), [("symbolic_trace", False), ("export", False), ("export", True)]
)
@pytest.mark.parametrize("groups", [1, 2])
def test_transposed_convolution_flops_match_flop_counter_mode(
    impl: ModuleType, method: str, decompose: bool, groups: int
) -> None:
    """A transposed conv's weight is (C_in, C_out / groups, *kernel): its K runs over the
    input, so FLOPs = 2 * input.numel * C_out / groups * prod(kernel). Decomposed, it is an
    ``aten.convolution`` whose ``transposed`` argument says so. Oracle: FlopCounterMode."""
    model = nn.Sequential(
        nn.ConvTranspose2d(4, 6, 3, stride=2, groups=groups), nn.ReLU(), nn.Conv2d(6, 2, 1)
    ).eval()
    x = torch.randn(2, 4, 5, 7, generator=torch.Generator().manual_seed(0))
    extracted = impl.extract_graph(model, (x,), method=method, decompose=decompose)
    summary = impl.summarize(extracted.ir)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    assert summary.flops == counter.get_total_flops(), (
        f"{summary.flops:,} FLOPs ({summary.flops_by_op}), FlopCounterMode says "
        f"{counter.get_total_flops():,}"
    )
    assert ("convolution" if decompose else "conv_transpose2d") in summary.flops_by_op
