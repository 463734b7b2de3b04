"""Known wrong: one-sided p-values doubled, as if every test were two-sided.

P(T >= t) is the p-value for alternative="greater"; doubling it belongs to the two-sided test
only, and halves the power in the direction the analyst asked about. Every t-test shares the
patched helper.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from prep.impl import fresh_copy

_base = fresh_copy("challenge_03_statistical_testing.solution")


def _t_pvalue_doubled(t: Any, df: Any, alternative: str) -> Any:
    if alternative == "less":
        return np.minimum(1.0, 2 * special.stdtr(df, t))  # the bug: doubled
    if alternative == "greater":
        return np.minimum(1.0, 2 * special.stdtr(df, -t))  # the bug: doubled
    return 2.0 * special.stdtr(df, -np.abs(t))


vars(_base).update(_t_pvalue=_t_pvalue_doubled)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 1  # whose tests reject it: `prep verify` runs them first
