"""Known wrong: backward() never frees the graph (it behaves as retain_graph=True always).
Gradients are right, but every saved activation lives as long as the output does, and a second
backward() through the same graph silently runs instead of raising as torch does."""

from __future__ import annotations

from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_12_mini_autograd.solution")
_backward = _base.Tensor.backward


def _backward_keeping_the_graph(self: Any, grad: Any = None, retain_graph: bool = False) -> None:
    _backward(self, grad, retain_graph=True)  # the bug: ignores retain_graph=False


_base.Tensor.backward = _backward_keeping_the_graph
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 1  # whose tests reject it: `prep verify` runs them first
