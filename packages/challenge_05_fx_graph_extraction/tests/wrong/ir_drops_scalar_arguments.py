"""Wrong: the IR keeps a call's tensor arguments and drops the rest (stride, padding, dim, eps).

Enough to draw the graph and count FLOPs from shapes, not enough to run it anywhere else: a
consumer that rebuilds the graph from the IR calls ``conv2d(x, w, None, None, ...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from challenge_05_fx_graph_extraction.ir import Arg

from prep.impl import patched


def tensors_only(value: Any, refer: Callable[[Any], str | None]) -> Arg:
    name = refer(value)
    if name is not None:
        return {"ref": name}
    if isinstance(value, (tuple, list)):
        return [tensors_only(v, refer) for v in value]
    return None  # the bug: every non-tensor argument is lost


IMPLEMENTATION = patched("challenge_05_fx_graph_extraction.solution", encode_arg=tensors_only)


TASK = 1  # whose tests reject it: `prep verify` runs them first
