"""Known wrong: the one-pass variance, (sum(x^2) - n mean^2) / (n - 1).

Algebraically equal to the two-pass formula and fast, but on data far from 0 (timestamps,
latencies in ns, 1e8 + noise) both terms are near 1e16 and their difference is rounding noise:
the t statistic comes out wrong, even negative variances appear.
"""

from __future__ import annotations

from typing import Any

from prep.impl import patched


def _one_pass(x: Any) -> tuple[Any, Any]:
    n = x.shape[-1]
    mean = x.mean(axis=-1)
    return mean, ((x * x).sum(axis=-1) - n * mean * mean) / (n - 1)  # the bug: cancellation


IMPLEMENTATION = patched("challenge_03_statistical_testing.solution", _mean_var=_one_pass)

TASK = (1, 2, 3)  # whose tests reject it: `prep verify` runs them first
