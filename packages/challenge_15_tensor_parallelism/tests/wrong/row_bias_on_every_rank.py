"""Known wrong: the row-parallel layer adds its bias on every rank before the all-reduce.

``F.linear(x, W_r, b)`` on each rank looks like the single-device layer, but the all-reduce
then sums ``world`` copies of the bias: the output is off by ``(world - 1) * b``, and the bias
gradient is still right, so a check of gradients alone misses it."""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional

from prep.impl import fresh_copy

_base = fresh_copy("challenge_15_tensor_parallelism.solution")


def _forward(self: object, x: Tensor) -> Tensor:
    layer = _base.RowParallelLinear
    assert isinstance(self, layer)
    partial = functional.linear(x, self.weight, self.bias)  # the bug: bias before the sum
    if self.sequence_parallel:
        return _base.reduce_scatter_to_sequence_parallel(partial, self.group)  # type: ignore[no-any-return]
    return _base.reduce_from_tensor_parallel(partial, self.group)  # type: ignore[no-any-return]


_base.RowParallelLinear.forward = _forward
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
