"""Known wrong: the textbook recursive topological sort. Correct on small graphs; a chain of
100,000 ops exceeds Python's recursion limit (caught by test_deep_graph_does_not_recurse)."""

from __future__ import annotations

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

    visit(self)
    return order


_base.Tensor._topological_order = _recursive_order
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests
