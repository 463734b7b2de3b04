"""Known wrong: the t-tests' upper tail as 1 - cdf, ``1 - stdtr(df, t)``.

Fine for ordinary statistics; for an extreme one (t = 60) the cdf is 1.0 in float64 and the
p-value comes out exactly 0, which no test can give: P(T >= 60) with 19 df is about 1e-23.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from prep.impl import patched


def _t_pvalue_one_minus_cdf(t: Any, df: Any, alternative: str) -> Any:
    if alternative == "less":
        return np.asarray(special.stdtr(df, t))
    if alternative == "greater":
        return np.asarray(1 - special.stdtr(df, t))  # the bug
    return np.asarray(2.0 * (1 - special.stdtr(df, np.abs(t))))  # the bug


IMPLEMENTATION = patched(
    "challenge_03_statistical_testing.solution", _t_pvalue=_t_pvalue_one_minus_cdf
)

TASK = 1  # whose tests reject it: `prep verify` runs them first
