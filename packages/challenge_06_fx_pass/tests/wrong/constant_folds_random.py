"""Wrong: constant folding that treats every op with constant inputs as constant.

`torch.randn_like(self.noise_scale)` reads only a parameter, so it gets precomputed once:
every later call returns the same "noise".
"""

from __future__ import annotations

from typing import Any

import torch
import torch.fx as fx
from challenge_06_fx_pass import solution
from torch.fx.node import Node

from prep.impl import patched


def _fold_constants(gm: fx.GraphModule) -> fx.GraphModule:
    out = solution._fresh_copy(solution._check_graph_module(gm))
    constant: set[Node] = set()
    for node in out.graph.nodes:
        inputs_constant = all(n in constant for n in node.all_input_nodes)
        if node.op == "get_attr" or (node.op == "call_function" and inputs_constant):
            constant.add(node)  # the bug: no purity or randomness check
        elif node.op == "call_method" and inputs_constant:
            constant.add(node)
    env: dict[Node, Any] = {}
    with torch.no_grad():
        for node in out.graph.nodes:
            if node in constant:
                is_attr = node.op == "get_attr"
                target = str(node.target)
                env[node] = (
                    solution._fetch_attr(out, target) if is_attr else solution._evaluate(node, env)
                )
    changed = False
    for node in list(out.graph.nodes):
        if (
            node in constant
            and node.op != "get_attr"
            and any(u not in constant for u in node.users)
        ):
            name = solution._free_name(out, f"_folded_{node.name}")
            out.register_buffer(name, env[node].detach())
            with out.graph.inserting_before(node):
                node.replace_all_uses_with(out.graph.get_attr(name))
            changed = True
    for node in reversed(list(out.graph.nodes)):
        if node in constant and not node.users:
            out.graph.erase_node(node)
    return solution._finish(out, changed)


# A private copy of the solution whose other functions (the pass manager's pipeline
# included) call the bug too.
IMPLEMENTATION = patched("challenge_06_fx_pass.solution", fold_constants=_fold_constants)
TASK = 4  # whose tests reject it: `prep verify` runs them first
