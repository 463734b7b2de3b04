"""Known wrong: McNemar's chi-square without the continuity correction, (n01 - n10)^2 / m.

The textbook statistic many remember; statsmodels (and the task) subtract 1 from |n01 - n10|
first. Without it the chi-square approximation is anti-conservative: p-values too small.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from prep.impl import fresh_copy

_base = fresh_copy("challenge_03_statistical_testing.solution")
_mcnemar = _base.mcnemar_test


def _mcnemar_uncorrected(correct_a: Any, correct_b: Any, *, exact: bool | None = None) -> Any:
    result = _mcnemar(correct_a, correct_b, exact=exact)
    a, b, _ = _base.as_paired_correctness(correct_a, correct_b)
    only_a, only_b = (a & ~b).sum(axis=-1), (~a & b).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(only_a + only_b > 0, (only_a - only_b) ** 2 / (only_a + only_b), 0.0)
    df = np.atleast_1d(np.asarray(result.df, dtype=np.float64))
    chi_square = ~np.isnan(df)  # the rows that used the chi-square version
    stat = np.where(chi_square, chi2, np.atleast_1d(result.statistic))  # the bug: no "- 1"
    pvalue = np.where(chi_square, special.chdtrc(1.0, chi2), np.atleast_1d(result.pvalue))
    single = np.ndim(result.pvalue) == 0
    return _base.TestResult(
        statistic=float(stat[0]) if single else stat,
        pvalue=float(pvalue[0]) if single else pvalue,
        df=result.df,
        alternative=result.alternative,
        estimate=result.estimate,
    )


vars(_base).update(mcnemar_test=_mcnemar_uncorrected)  # compare_models calls it too
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 6  # whose tests reject it: `prep verify` runs them first
