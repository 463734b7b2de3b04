"""Known wrong: a node reached along two paths keeps the gradient of the last path instead of
the sum (``grads[parent] = g`` rather than ``+=``), so ``x * x + x`` gets 2x, not 2x + 1."""

from __future__ import annotations

from typing import Any

import numpy as np

from prep.impl import fresh_copy

_base = fresh_copy("challenge_12_mini_autograd.solution")


def _backward_overwriting(self: Any, grad: Any = None) -> None:
    seed = np.ones_like(self.data) if grad is None else np.asarray(grad, dtype=np.float64)
    grads: dict[int, Any] = {id(self): seed}
    for node in reversed(self._topological_order()):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._backward is None:
            node.grad = g if node.grad is None else node.grad + g
            continue
        node.grad = g
        for parent, pg in zip(node._parents, node._backward(g), strict=True):
            if pg is not None and parent.requires_grad:
                grads[id(parent)] = pg  # the bug: overwrites what another path delivered


_base.Tensor.backward = _backward_overwriting
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 1  # whose tests reject it: `prep verify` runs them first
