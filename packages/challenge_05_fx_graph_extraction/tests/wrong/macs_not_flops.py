"""Known wrong: counts multiply-adds (MACs) as FLOPs, so every estimate is half the truth.

A classic mix-up: papers quote MACs, FlopCounterMode and roofline plots count 2 FLOPs per MAC.
"""

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


def summarize(ir: GraphIR) -> GraphSummary:
    calls = [n for n in ir.nodes if n.kind is NodeKind.CALL]
    macs: Counter[str] = Counter()
    for node in calls:
        flops = solution._node_flops(ir, node)
        if flops:
            macs[node.op] += flops // 2  # the bug: one per multiply-add
    return GraphSummary(
        node_count=len(calls),
        op_histogram=dict(Counter(n.target for n in calls).most_common()),
        parameter_count=sum(meta.numel for meta in ir.parameters.values()),
        flops=sum(macs.values()),
        flops_by_op=dict(macs),
        peak_activation_bytes=solution._peak_activation_bytes(ir),
    )


TASK = 2  # whose tests reject it: `prep verify` runs them first
