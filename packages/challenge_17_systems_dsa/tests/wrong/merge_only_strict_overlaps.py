"""Known wrong: intervals merge only when they strictly overlap (``start < end``), so closed
intervals that touch, such as (1, 3) and (3, 5), stay apart."""

from __future__ import annotations

from collections.abc import Iterable

from challenge_17_systems_dsa import solution

from prep.impl import patched


def _merge_strict(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(solution._checked_intervals(intervals)):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


IMPLEMENTATION = patched("challenge_17_systems_dsa.solution", merge_intervals=_merge_strict)

TASK = 3  # whose tests reject it: `prep verify` runs them first
