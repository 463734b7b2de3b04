"""Wrong: fuses every GELU as the exact (erf) GELU, dropping approximate="tanh".

The two differ by up to ~3e-4 per activation: small, but a different model.
"""

from __future__ import annotations

import torch.fx as fx
from challenge_06_fx_pass import solution
from challenge_06_fx_pass.fused import Activation, LinearActivation
from torch import nn
from torch.fx.node import Node

from prep.impl import patched


def _activation_of(node: Node, modules: dict[str, nn.Module]) -> Activation | None:
    found = solution._activation_of(node, modules)
    return Activation.GELU if found is Activation.GELU_TANH else found  # the bug


def _fuse_linear_activation(gm: fx.GraphModule) -> fx.GraphModule:
    out = solution._fresh_copy(solution._check_graph_module(gm))
    modules = dict(out.named_modules())
    changed = False
    for act_node in list(out.graph.nodes):
        activation = _activation_of(act_node, modules)
        if activation is None:
            continue
        linear_node = act_node.args[0]
        if not isinstance(linear_node, Node) or len(linear_node.users) != 1:
            continue
        linear = solution._module(modules, linear_node)
        if type(linear) is not nn.Linear:
            continue
        name = solution._free_name(out, f"{linear_node.target}_{activation.value}")
        out.add_submodule(name, LinearActivation(linear, activation))
        linear_node.target = name
        act_node.replace_all_uses_with(linear_node)
        out.graph.erase_node(act_node)
        changed = True
    return solution._finish(out, changed)


# A private copy of the solution whose other functions (the pass manager's pipeline
# included) call the bug too.
IMPLEMENTATION = patched(
    "challenge_06_fx_pass.solution", fuse_linear_activation=_fuse_linear_activation
)
TASK = 2  # whose tests reject it: `prep verify` runs them first
