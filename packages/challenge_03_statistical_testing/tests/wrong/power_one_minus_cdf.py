"""Known wrong: power's upper tail as 1 - cdf, ``1 - nctdtr(df, nc, c)``.

Right to ~1e-16 absolute, so it passes any comparison of ordinary powers; but where the power
is tiny (a one-sided test facing the other way) the difference of two numbers near 1 keeps only
rounding: 7.4052e-14 instead of 7.4080e-14, or 0 instead of 2e-22.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from prep.impl import patched


def _power_one_minus_cdf(effect_size: Any, n: Any, alpha: Any, kind: str, alternative: str) -> Any:
    if kind == "two-sample":
        df, nobs = 2 * n - 2, n / 2
    else:
        df, nobs = n - 1, n
    noncentrality = effect_size * np.sqrt(nobs)
    tail = alpha / 2 if alternative == "two-sided" else alpha
    critical = -special.stdtrit(df, tail)
    power = np.zeros(np.broadcast(effect_size, n, alpha).shape)
    if alternative in ("two-sided", "greater"):
        power = power + (1 - special.nctdtr(df, noncentrality, critical))  # the bug
    if alternative in ("two-sided", "less"):
        power = power + special.nctdtr(df, noncentrality, -critical)
    return np.asarray(power)


IMPLEMENTATION = patched("challenge_03_statistical_testing.solution", _power=_power_one_minus_cdf)

TASK = 8  # whose tests reject it: `prep verify` runs them first
