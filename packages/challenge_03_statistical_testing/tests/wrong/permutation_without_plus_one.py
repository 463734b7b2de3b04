"""Known wrong: the random permutation test's p-value as count / R, without the +1.

With random resamples the observed split is one of the equally likely arrangements under H0,
so it counts: p = (count + 1) / (R + 1). Without it p can be exactly 0 (impossible for a valid
test) and the test rejects too often.
"""

from __future__ import annotations

from typing import Any

from prep.impl import fresh_copy, patched

_null_pvalue = fresh_copy("challenge_03_statistical_testing.solution")._null_pvalue


def _without_plus_one(null: Any, observed: Any, plus: int, alternative: Any) -> Any:
    return _null_pvalue(null, observed, 0, alternative)  # the bug: the observed split not counted


IMPLEMENTATION = patched(
    "challenge_03_statistical_testing.solution", _null_pvalue=_without_plus_one
)

TASK = 7  # whose tests reject it: `prep verify` runs them first
