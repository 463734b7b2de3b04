"""Known wrong: sequence-parallel LayerNorm weights are used directly, not through f.

The LayerNorms run on the shard as they should and the forward is exact, but each rank's
LayerNorm weight and bias gradients cover only its own tokens: the replicated LayerNorm copies
drift apart after one optimizer step. Megatron-LM sums them across the tensor-parallel group
after backward; here f on the weights does it."""

from __future__ import annotations

from torch import Tensor, nn

from prep.impl import fresh_copy

_base = fresh_copy("challenge_15_tensor_parallelism.solution")


def _norm(self: object, ln: nn.LayerNorm, x: Tensor) -> Tensor:
    out: Tensor = ln(x)  # the bug: on a shard, the weight gradient is only this rank's share
    return out


_base.ParallelGPT2Block._norm = _norm
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 2  # whose tests reject it: `prep verify` runs them first
