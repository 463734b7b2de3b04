"""Known wrong: f's backward passes the gradient through instead of all-reducing it.

The forward is right, and so are every weight gradient of the column-parallel layer; but the
gradient of its input is only this rank's output columns' share, so every layer below (and the
LayerNorm before attention and the MLP) trains on a fraction of its gradient."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_15_tensor_parallelism.solution")


def _backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
    return grad, None  # the bug: no all-reduce of the partial input gradients


_base.CopyToTensorParallel.backward = staticmethod(_backward)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
