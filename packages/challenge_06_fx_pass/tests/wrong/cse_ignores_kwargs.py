"""Wrong: CSE keys nodes on op, target and args, not kwargs.

`torch.cumsum(x, dim=0)` and `torch.cumsum(x, dim=1)` then look the same, and so do
`F.gelu(x)` and `F.gelu(x, approximate="tanh")`.
"""

from __future__ import annotations

from collections.abc import Hashable

import torch.fx as fx
from challenge_06_fx_pass import solution
from torch.fx.node import Node

from prep.impl import patched


def _eliminate_common_subexpressions(gm: fx.GraphModule) -> fx.GraphModule:
    out = solution._fresh_copy(solution._check_graph_module(gm))
    modules = dict(out.named_modules())
    seen: dict[Hashable, Node] = {}
    changed = False
    for node in list(out.graph.nodes):
        if node.op in ("placeholder", "output"):
            continue
        if solution._may_mutate(node, modules):
            seen.clear()
            continue
        if solution._is_random(node, modules):
            continue
        try:
            key = (node.op, node.target, solution._key(node.args))  # the bug: kwargs left out
            first = seen.setdefault(key, node)
        except TypeError:
            continue
        if first is not node:
            node.replace_all_uses_with(first)
            out.graph.erase_node(node)
            changed = True
    return solution._finish(out, changed)


# A private copy of the solution whose other functions (the pass manager's pipeline
# included) call the bug too.
IMPLEMENTATION = patched(
    "challenge_06_fx_pass.solution",
    eliminate_common_subexpressions=_eliminate_common_subexpressions,
)
TASK = 5  # whose tests reject it: `prep verify` runs them first
