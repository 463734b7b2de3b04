"""Known wrong: the broadcast gradient is summed over the axes broadcasting *added* but not
over the size-1 axes it *stretched*: a (1, 3) operand multiplied by a (2, 4, 3) one gets a
(4, 3) gradient instead of (1, 3) (caught by the broadcasting tests of task 2)."""

from __future__ import annotations

from typing import Any

from prep.impl import patched


def _leading_only(grad: Any, shape: tuple[int, ...]) -> Any:
    extra = grad.ndim - len(shape)
    return grad.sum(axis=tuple(range(extra))) if extra else grad


# Every op's backward in the copy calls _unbroadcast: all of them now keep stretched axes.
IMPLEMENTATION = patched("challenge_12_mini_autograd.solution", _unbroadcast=_leading_only)

TASK = 2  # whose tests reject it: `prep verify` runs them first
