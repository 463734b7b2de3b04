"""Wrong: DOT output that draws an edge for every input, parameters included.

Graphviz then invents a node for each weight (``"layer1.0.conv1.weight"``), and the drawing no
longer matches the graph: parameters are not nodes of the IR, they are what a node reads.
"""

from __future__ import annotations

from challenge_05_fx_graph_extraction import solution
from challenge_05_fx_graph_extraction.ir import GraphIR

from prep.impl import patched


def to_dot(ir: GraphIR) -> str:
    text = solution.to_dot(ir)
    names = {node.name for node in ir.nodes}
    extra = [
        f"  {solution._quote(ref)} -> {solution._quote(node.name)};"
        for node in ir.nodes
        for ref in dict.fromkeys(node.inputs)
        if ref not in names  # the bug: parameters and buffers drawn as edges too
    ]
    body = text.rstrip("\n").removesuffix("}")
    return body + "\n".join(extra) + ("\n" if extra else "") + "}\n"


IMPLEMENTATION = patched("challenge_05_fx_graph_extraction.solution", to_dot=to_dot)


TASK = 3  # whose tests reject it: `prep verify` runs them first
