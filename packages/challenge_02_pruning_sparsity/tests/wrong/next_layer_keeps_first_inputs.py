"""Known wrong: the next layer's inputs are cut to its first k columns instead of the columns
of the k kept channels. Every shape fits and the model runs, but each kept channel now feeds
the weights of a removed one: the pruned model computes something else."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from prep.impl import fresh_copy

_base = fresh_copy("challenge_02_pruning_sparsity.solution")
_shrink = _base._shrink_layer


def _first_inputs(layer: nn.Module, out_idx: Tensor | None, in_idx: Tensor | None) -> Any:
    if in_idx is not None:
        in_idx = torch.arange(in_idx.numel())  # the bug: the first k, not the kept ones
    return _shrink(layer, out_idx, in_idx)


vars(_base)["_shrink_layer"] = _first_inputs

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 2  # whose tests reject it: `prep verify` runs them first
