"""Known wrong: the 2:4 mask keeps the two smallest magnitudes of every group of four (topk
with largest=False, or an ascending sort read from the wrong end). The layout is a valid 2:4
pattern, so the sparse kernel accepts it - and throws away most of the weight's energy."""

from __future__ import annotations

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_02_pruning_sparsity.solution")


def _smallest_two(weight: Tensor) -> Tensor:
    weight = _base._check_weight(weight)
    groups = weight.detach().abs().reshape(-1, 4)
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(1, torch.topk(groups, 2, dim=1, largest=False).indices, True)  # the bug
    return keep.view_as(weight)


vars(_base)["semi_structured_24"] = _smallest_two

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 3  # whose tests reject it: `prep verify` runs them first
