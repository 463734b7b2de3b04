"""Wrong: constant folding that folds the values the graph returns.

``return self.log_scale.exp().view(-1)`` becomes a view of one buffer: every call returns the
same memory, so a caller that writes to one result changes all later results.
"""

from __future__ import annotations

import torch.fx as fx
from torch import nn
from torch.fx.node import Node

from prep.impl import patched


def nothing_escapes(graph: fx.Graph, modules: dict[str, nn.Module]) -> set[Node]:
    return set()  # the bug: returned values are folded like any other constant


IMPLEMENTATION = patched("challenge_06_fx_pass.solution", _returned_memory=nothing_escapes)

TASK = 4  # whose tests reject it: `prep verify` runs them first
