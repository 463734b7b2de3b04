"""Wrong: the pass manager compares runs without fixing the random seed.

Each run of a graph with ``torch.rand_like`` draws new numbers, so a pass that changed nothing
is reported as one that changed the outputs.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.fx as fx

from prep.impl import patched


def run_unseeded(gm: fx.GraphModule, inputs: Sequence[Any]) -> Any:
    args = [a.clone() if isinstance(a, torch.Tensor) else a for a in inputs]
    with torch.no_grad():
        return copy.deepcopy(gm)(*args)  # the bug: no fork_rng + manual_seed


IMPLEMENTATION = patched("challenge_06_fx_pass.solution", _run_graph=run_unseeded)

TASK = 6  # whose tests reject it: `prep verify` runs them first
