"""Known wrong: compare_models decides with McNemar but reports the paired t-interval of the
0/1 differences.

Two different tests: near the boundary the decision says "no significant difference" while
the interval excludes 0 (or the reverse), and for few examples the t-interval even leaves the
possible range [-1, 1].
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from prep.impl import patched


def _paired_t_interval(a: Any, b: Any, level: float, exact: Any) -> tuple[Any, Any]:
    diff = b - a  # (B, n)
    n = diff.shape[-1]
    mean = diff.mean(axis=-1)
    se = diff.std(axis=-1, ddof=1) / np.sqrt(n)
    half = special.stdtrit(n - 1.0, 1 - level / 2) * se  # the bug: another test's interval
    return mean - half, mean + half


IMPLEMENTATION = patched(
    "challenge_03_statistical_testing.solution", _mcnemar_interval=_paired_t_interval
)

TASK = 10  # whose tests reject it: `prep verify` runs them first
