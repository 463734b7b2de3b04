"""Wrong: the pass manager verifies by running the graph it was given, as it is.

A traced graph calls the model's own submodules, so every verification run (one before the
passes, one after each) updates a training-mode BatchNorm's running statistics and
``num_batches_tracked`` in the user's model: optimizing the model changed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.fx as fx

from prep.impl import patched


def run_in_place(gm: fx.GraphModule, inputs: Sequence[Any]) -> Any:
    args = [a.clone() if isinstance(a, torch.Tensor) else a for a in inputs]
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(0)
        return gm(*args)  # the bug: gm's modules are the model's, and they keep state


IMPLEMENTATION = patched("challenge_06_fx_pass.solution", _run_graph=run_in_place)

TASK = 6  # whose tests reject it: `prep verify` runs them first
