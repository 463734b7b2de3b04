"""Wrong: dead code elimination that removes every node without readers.

`z.add_(1.0)` has no readers, but it changed `z`, which the output reads. (torch's own
``Graph.eliminate_dead_code()`` makes the same mistake on a call_method ``add_``: it assumes
a functional graph, which symbolic_trace's graphs are not.)
"""

from __future__ import annotations

import torch.fx as fx
from challenge_06_fx_pass import solution

from prep.impl import patched


def _eliminate_dead_code(gm: fx.GraphModule) -> fx.GraphModule:
    out = solution._fresh_copy(solution._check_graph_module(gm))
    changed = False
    for node in reversed(list(out.graph.nodes)):
        if node.users or node.op in ("placeholder", "output"):
            continue
        out.graph.erase_node(node)  # the bug: no side-effect check
        changed = True
    return solution._finish(out, changed)


# A private copy of the solution whose other functions (the pass manager's pipeline
# included) call the bug too.
IMPLEMENTATION = patched("challenge_06_fx_pass.solution", eliminate_dead_code=_eliminate_dead_code)
TASK = 3  # whose tests reject it: `prep verify` runs them first
