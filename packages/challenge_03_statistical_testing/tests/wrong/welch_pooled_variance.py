"""Known wrong: Welch's test with the pooled variance in its standard error.

The Welch-Satterthwaite df is right, but se = sqrt(s_p^2 (1/na + 1/nb)) is Student's: with
unequal variances and unequal sizes the statistic, and so the test's size, is off.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from prep.impl import fresh_copy

_base = fresh_copy("challenge_03_statistical_testing.solution")


def _two_sample_pooled(
    a: Any, b: Any, *, equal_var: bool = False, alternative: Any = "two-sided"
) -> Any:
    alt = _base.check_alternative(alternative)
    a2, b2, batched = _base.as_pair(a, b, paired=False)
    na, nb = a2.shape[-1], b2.shape[-1]
    mean_a, var_a = _base._mean_var(a2)
    mean_b, var_b = _base._mean_var(b2)
    pooled = ((na - 1) * var_a + (nb - 1) * var_b) / (na + nb - 2.0)
    se = np.sqrt(pooled * (1.0 / na + 1.0 / nb))  # the bug: pooled even when equal_var=False
    if equal_var:
        df = np.full_like(mean_a, na + nb - 2.0)
    else:
        vn_a, vn_b = var_a / na, var_b / nb
        df = (vn_a + vn_b) ** 2 / (vn_a**2 / (na - 1) + vn_b**2 / (nb - 1))
    t = (mean_a - mean_b) / se
    return _base.TestResult(
        statistic=_base.unbatch(t, batched),
        pvalue=_base.unbatch(_base._t_pvalue(t, df, alt), batched),
        df=_base.unbatch(df, batched),
        alternative=alt,
        estimate=_base.unbatch(mean_a - mean_b, batched),
        standard_error=_base.unbatch(se, batched),
    )


# compare_models' Welch test calls it too
vars(_base).update(two_sample_ttest=_two_sample_pooled)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 2  # whose tests reject it: `prep verify` runs them first
