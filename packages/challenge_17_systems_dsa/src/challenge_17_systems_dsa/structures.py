"""Types the three implementations share: the graph alias, a cycle error and a memory plan."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

Node = Hashable
Graph = Mapping[Node, Iterable[Node]]  # node -> the nodes that consume its output


class CycleError(ValueError):
    """The graph has a cycle: ``cycle`` lists its nodes in edge order (each node's successor is
    the next one, and the last node's successor is the first)."""

    def __init__(self, cycle: list[Node]) -> None:
        self.cycle = cycle
        path = " -> ".join(map(repr, [*cycle, cycle[0]])) if cycle else "?"
        super().__init__(f"graph has a cycle: {path}")


@dataclass(frozen=True)
class MemoryPlan:
    """Where each node's output buffer lives in one arena.

    ``arena_bytes`` is the arena's size (the peak with reuse); ``naive_bytes`` the sum of every
    buffer (one allocation each, no reuse); ``peak_live_bytes`` the lower bound: the most bytes
    live at any one step of the order, which no placement can beat.
    """

    offsets: dict[Node, int]
    arena_bytes: int
    naive_bytes: int
    peak_live_bytes: int
