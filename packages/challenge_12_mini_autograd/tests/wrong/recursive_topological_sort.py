"""Known wrong: the textbook recursive topological sort, with the recursion limit raised so a
100,000-op chain no longer overflows. From Python 3.11 on that even works (Python-to-Python
calls no longer use the C stack), but the walk still nests one call per node: caught by
test_backward_does_not_recurse, which measures the call depth."""

from __future__ import annotations

import sys
from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_12_mini_autograd.solution")


def _recursive_order(self: Any) -> list[Any]:
    order: list[Any] = []
    visited: set[int] = set()

    def visit(node: Any) -> None:
        if id(node) in visited:
            return
        visited.add(id(node))
        for parent in node._parents:
            if parent.requires_grad:
                visit(parent)
        order.append(node)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 1_000_000))  # "fixes" the overflow
    try:
        visit(self)
    finally:
        sys.setrecursionlimit(limit)
    return order


_base.Tensor._topological_order = _recursive_order
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 1  # whose tests reject it: `prep verify` runs them first
