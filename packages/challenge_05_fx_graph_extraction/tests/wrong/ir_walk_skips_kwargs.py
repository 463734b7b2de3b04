"""Wrong: the IR walk collects a node's inputs from its positional arguments only.

``torch.add(a, other=b)`` and ``F.layer_norm(x, shape, weight=w)`` pass tensors by keyword: the
IR loses those edges (and parameters), so memory, DOT and any consumer of the IR see a graph
with dangling values.
"""

from __future__ import annotations

from collections.abc import Mapping

from challenge_05_fx_graph_extraction.ir import Arg, arg_refs

from prep.impl import patched


def positional_only(args: tuple[Arg, ...], kwargs: Mapping[str, Arg]) -> tuple[str, ...]:
    return tuple(ref for arg in args for ref in arg_refs(arg))  # the bug: kwargs never read


IMPLEMENTATION = patched("challenge_05_fx_graph_extraction.solution", _node_inputs=positional_only)


TASK = 1  # whose tests reject it: `prep verify` runs them first
