"""Known wrong: on a cycle, report every node Kahn's algorithm could not order. That includes
nodes downstream of the cycle (they wait on it but are not part of it), so the "cycle" is not
one."""

from __future__ import annotations

from challenge_17_systems_dsa.structures import Node

from prep.impl import patched


def _leftovers(succ: dict[Node, list[Node]], remaining: set[Node]) -> list[Node]:
    return [node for node in succ if node in remaining]


IMPLEMENTATION = patched("challenge_17_systems_dsa.solution", _find_cycle=_leftovers)

TASK = 1  # whose tests reject it: `prep verify` runs them first
