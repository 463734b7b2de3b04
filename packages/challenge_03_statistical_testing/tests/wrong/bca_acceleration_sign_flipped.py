"""Known wrong: BCa with the influence values' sign flipped, U = jackknife - mean(jackknife)
instead of mean(jackknife) - jackknife.

Easy to get backwards (Efron writes it both ways with different acceleration formulas): the
acceleration changes sign, so the interval leans towards the short tail instead of the long
one. Planted by reflecting the jackknife values about their mean, which flips U exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prep.impl import fresh_copy, patched

_jackknife = fresh_copy("challenge_03_statistical_testing.solution")._jackknife


def _reflected_jackknife(statistic: Callable[..., Any], x: Any) -> Any:
    jack = _jackknife(statistic, x)
    return 2 * jack.mean(axis=-1, keepdims=True) - jack  # the bug: U changes sign


IMPLEMENTATION = patched(
    "challenge_03_statistical_testing.solution", _jackknife=_reflected_jackknife
)

TASK = 7  # whose tests reject it: `prep verify` runs them first
