"""Known wrong: backward() never compares versions, so after ``SGD.step()`` a graph built on
the old weights backpropagates with a mix of old saved arrays and new values instead of
raising (torch raises through its version counters)."""

from __future__ import annotations

from typing import Any

from prep.impl import patched


def _no_check(node: Any) -> None:
    return None  # the bug: in-place updates go unnoticed


IMPLEMENTATION = patched("challenge_12_mini_autograd.solution", _check_versions=_no_check)

TASK = (1, 5)  # whose tests reject it: `prep verify` runs them first
