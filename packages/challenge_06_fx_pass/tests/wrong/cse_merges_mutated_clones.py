"""Wrong: CSE that clears its table at every in-place op but ignores what is written later.

``a = x.clone(); b = x.clone(); a.add_(1); b.mul_(2)``: the two clones are merged before either
write is seen, so both outputs become ``(x + 1) * 2``. Forgetting at a mutation protects values
computed *before* it, not tensors that are written *after* they were merged.
"""

from __future__ import annotations

import torch.fx as fx
from torch import nn
from torch.fx.node import Node

from prep.impl import patched


def nothing_is_written(graph: fx.Graph, modules: dict[str, nn.Module]) -> set[Node]:
    return set()  # the bug: no node is ever considered written in place


IMPLEMENTATION = patched("challenge_06_fx_pass.solution", _mutated_aliases=nothing_is_written)

TASK = 5  # whose tests reject it: `prep verify` runs them first
