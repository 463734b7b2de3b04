"""Known wrong: a bucket counts as ready once every parameter in it has a ``.grad`` - which
is true from the second step on when ``zero_grad(set_to_none=False)`` leaves zeroed tensors in
place. The bucket's all-reduce then starts at its first hook, packing zeros for gradients
that backward has not produced yet, and ``wait()`` writes those stale averages back."""

from __future__ import annotations

from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_10_ring_allreduce.solution")


def _is_ready(self: Any, bucket: Any) -> bool:
    return all(p.grad is not None for p in bucket.params)  # the bug: stale grads count


_base.GradientAverager._is_ready = _is_ready
IMPLEMENTATION = _base

TASK = 4  # whose tests reject it: `prep verify` runs them first
