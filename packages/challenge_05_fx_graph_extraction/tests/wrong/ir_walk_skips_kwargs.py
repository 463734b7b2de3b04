"""Wrong: the IR walk collects a node's inputs from its positional arguments only.

``torch.add(a, other=b)`` and ``F.layer_norm(x, shape, weight=w)`` pass tensors by keyword: the
IR loses those edges (and parameters), so memory, DOT and any consumer of the IR see a graph
with dangling values.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils import _pytree as pytree

from prep.impl import patched


def positional_only(node: torch.fx.Node) -> Iterator[torch.fx.Node]:
    for leaf in pytree.tree_leaves(node.args):  # the bug: node.kwargs is never looked at
        if isinstance(leaf, torch.fx.Node):
            yield leaf


IMPLEMENTATION = patched("challenge_05_fx_graph_extraction.solution", _node_args=positional_only)
