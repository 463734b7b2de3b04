"""Brute-force oracles for the tests: the specification of liveness, written literally, and
every topological order of a small graph. Given code (not a task)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

Graph = Mapping[Any, Sequence[Any]]  # node -> its consumers


def sizes_for(graph: Graph, values: Sequence[int]) -> dict[Any, int]:
    return {node: values[k % len(values)] for k, node in enumerate(graph)}


def live_spans(graph: Graph, order: Sequence[Any]) -> dict[Any, tuple[int, int]]:
    """The specification, literally: produced at its step, live through its last consumer's
    step; a graph output stays live to the end."""
    position = {node: k for k, node in enumerate(order)}
    return {
        node: (position[node], max((position[t] for t in graph[node]), default=len(order) - 1))
        for node in graph
    }


def brute_peak(graph: Graph, order: Sequence[Any], sizes: dict[Any, int]) -> int:
    spans = live_spans(graph, order)
    return max(
        (
            sum(sizes[n] for n, (a, b) in spans.items() if a <= step <= b)
            for step in range(len(order))
        ),
        default=0,
    )


def all_topological_orders(graph: Graph) -> list[list[Any]]:
    nodes = list(graph)
    out = []
    for order in itertools.permutations(nodes):
        position = {node: k for k, node in enumerate(order)}
        if all(position[a] < position[b] for a in graph for b in graph[a]):
            out.append(list(order))
    return out
