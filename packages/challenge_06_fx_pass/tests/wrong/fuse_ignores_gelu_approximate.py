"""Wrong: fuses every GELU as the exact (erf) GELU, dropping approximate="tanh".

The two differ by up to ~3e-4 per activation: small, but a different model.
"""

from __future__ import annotations

from challenge_06_fx_pass import solution
from challenge_06_fx_pass.fused import Activation
from torch import nn
from torch.fx.node import Node

from prep.impl import patched


def _activation_of(node: Node, modules: dict[str, nn.Module]) -> Activation | None:
    found = solution._activation_of(node, modules)
    return Activation.GELU if found is Activation.GELU_TANH else found  # the bug


# A private copy of the solution whose fusion passes (and the pass manager's pipeline) call
# the bug.
IMPLEMENTATION = patched("challenge_06_fx_pass.solution", _activation_of=_activation_of)
TASK = 2  # whose tests reject it: `prep verify` runs them first
