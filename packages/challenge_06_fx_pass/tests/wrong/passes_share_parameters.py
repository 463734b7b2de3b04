"""Wrong: passes copy the graph but share the leaf modules and their Parameters.

Cheap (no weight copies), and the outputs are right - until the caller converts the result:
``optimized.half()`` replaces each shared Parameter's data in place, which converts the
original model too.
"""

from __future__ import annotations

import copy

import torch.fx as fx

from prep.impl import patched


def share_modules(gm: fx.GraphModule) -> fx.GraphModule:
    out = fx.GraphModule(gm, copy.deepcopy(gm.graph), class_name=type(gm).__name__)
    out.meta = dict(gm.meta)
    return out  # the bug: the new GraphModule holds gm's own submodules and tensors


IMPLEMENTATION = patched("challenge_06_fx_pass.solution", _fresh_copy=share_modules)

TASK = (1, 6)  # whose tests reject it: `prep verify` runs them first
