"""Known wrong: the textbook search for distinct values. With duplicates, ``a[lo] <= a[mid]``
no longer proves the left half is sorted (``[1, 0, 1, 1, 1]``), and the search discards the half
that holds the target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prep.impl import patched


def _search_distinct(a: Sequence[Any], target: Any) -> int:
    if not isinstance(a, Sequence):
        raise TypeError(f"a must be a sequence, got {type(a).__name__}")
    lo, hi = 0, len(a) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if a[mid] == target:
            return mid
        if a[lo] <= a[mid]:
            if a[lo] <= target < a[mid]:
                hi = mid - 1
            else:
                lo = mid + 1
        elif a[mid] < target <= a[hi]:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


IMPLEMENTATION = patched("challenge_17_systems_dsa.solution", search_rotated=_search_distinct)

TASK = 4  # whose tests reject it: `prep verify` runs them first
