"""Wrong: folds BatchNorm with s = gamma / sqrt(running_var), forgetting eps.

Invisible with eps=1e-5 on variances near 1 (a 5e-6 relative error); off by percents at
eps=1e-3 on small variances, and by tens of percents at eps=0.1.
"""

from __future__ import annotations

import copy

import torch
import torch.fx as fx
from challenge_06_fx_pass import solution
from torch import nn

from prep.impl import patched


def _fold_conv_bn(gm: fx.GraphModule) -> fx.GraphModule:
    out = solution._fresh_copy(solution._check_graph_module(gm))
    modules = dict(out.named_modules())
    changed = False
    for bn_node in list(out.graph.nodes):
        found = solution._foldable_conv_bn(bn_node, modules)
        if found is None:
            continue
        conv_node, conv, bn = found
        assert bn.running_mean is not None
        assert bn.running_var is not None
        with torch.no_grad():
            gamma = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
            beta = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_var)
            scale = gamma / torch.sqrt(bn.running_var)  # the bug: + bn.eps is missing
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_var)
            fused = copy.deepcopy(conv)
            fused.weight = nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1))
            fused.bias = nn.Parameter((bias - bn.running_mean) * scale + beta)
        name = solution._free_name(out, f"{conv_node.target}_bn_folded")
        out.add_submodule(name, fused)
        conv_node.target = name
        bn_node.replace_all_uses_with(conv_node)
        out.graph.erase_node(bn_node)
        changed = True
    return solution._finish(out, changed)


# A private copy of the solution whose other functions (the pass manager's pipeline
# included) call the bug too.
IMPLEMENTATION = patched("challenge_06_fx_pass.solution", fold_conv_bn=_fold_conv_bn)
TASK = 1  # whose tests reject it: `prep verify` runs them first
