"""Known wrong: output channels are removed (with their BatchNorm entries) but the next layer
keeps all its input channels, so the shapes no longer chain and the pruned model fails on its
first forward - or, with a flatten in between, reads the wrong features."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from prep.impl import fresh_copy

_base = fresh_copy("challenge_02_pruning_sparsity.solution")
_shrink = _base._shrink_layer


def _outputs_only(layer: nn.Module, out_idx: Tensor | None, in_idx: Tensor | None) -> Any:
    return _shrink(layer, out_idx, None)  # the bug: in_idx is dropped


vars(_base)["_shrink_layer"] = _outputs_only

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 2  # whose tests reject it: `prep verify` runs them first
