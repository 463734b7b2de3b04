"""Known wrong: a buffer dies one step before its last consumer runs, as if a node could write
its output over its input. The planner then places a consumer's output on top of the input it
is still reading, and the peak is underestimated."""

from __future__ import annotations

from collections.abc import Sequence

from challenge_17_systems_dsa import solution
from challenge_17_systems_dsa.structures import Node

from prep.impl import patched


def _lifetimes_early(
    succ: dict[Node, list[Node]], order: Sequence[Node]
) -> dict[Node, tuple[int, int]]:
    spans = solution._lifetimes(succ, order)
    return {n: (a, max(a, b - 1) if succ[n] else b) for n, (a, b) in spans.items()}


IMPLEMENTATION = patched("challenge_17_systems_dsa.solution", _lifetimes=_lifetimes_early)

TASK = 1  # whose tests reject it: `prep verify` runs them first
