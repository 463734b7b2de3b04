"""Known wrong: frees a tensor at its last reader *before* adding the reader's output, as if an
op could overwrite its inputs while it writes its result. The peak comes out too low."""

from __future__ import annotations

from collections import Counter

from challenge_05_fx_graph_extraction import solution
from challenge_05_fx_graph_extraction.solution import (
    GraphIR,
    GraphSummary,
    NodeKind,
    explain_breaks,
    extract_graph,
    to_dot,
)

__all__ = ["explain_breaks", "extract_graph", "summarize", "to_dot"]


def _peak_activation_bytes(ir: GraphIR) -> int:
    index = {node.name: i for i, node in enumerate(ir.nodes)}
    last = list(range(len(ir.nodes)))
    for i, node in enumerate(ir.nodes):
        for ref in node.inputs:
            if ref in index:
                last[index[ref]] = i
    for ref in ir.outputs:
        if ref in index:
            last[index[ref]] = len(ir.nodes) - 1
    sizes = [sum(m.nbytes for m in node.outputs) for node in ir.nodes]
    freed_at = [0] * len(ir.nodes)
    for i, size in enumerate(sizes):
        if last[i] > i:
            freed_at[last[i]] += size
    live = peak = 0
    for i, size in enumerate(sizes):
        live -= freed_at[i]  # the bug: inputs released before the output is allocated
        live += size
        peak = max(peak, live)
        if last[i] == i:
            live -= size
    return peak


def summarize(ir: GraphIR) -> GraphSummary:
    calls = [n for n in ir.nodes if n.kind is NodeKind.CALL]
    flops_by_op: Counter[str] = Counter()
    for node in calls:
        flops = solution._node_flops(ir, node)
        if flops:
            flops_by_op[node.op] += flops
    return GraphSummary(
        node_count=len(calls),
        op_histogram=dict(Counter(n.target for n in calls).most_common()),
        parameter_count=sum(meta.numel for meta in ir.parameters.values()),
        flops=sum(flops_by_op.values()),
        flops_by_op=dict(flops_by_op),
        peak_activation_bytes=_peak_activation_bytes(ir),
    )


TASK = 2  # whose tests reject it: `prep verify` runs them first
