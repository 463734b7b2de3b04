"""Known wrong: the goodness-of-fit test ignores ``ddof``.

Fitting parameters to the data (a Poisson rate, a normal mean and variance) makes the observed
counts fit better than chance; each fitted parameter must cost a degree of freedom, else the
p-values are too large and real misfit goes unnoticed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from prep.impl import fresh_copy

_base = fresh_copy("challenge_03_statistical_testing.solution")


def _goodness_of_fit_without_ddof(observed: Any, expected: Any = None, *, ddof: int = 0) -> Any:
    obs, batched = _base.as_counts(observed)
    exp = _base.as_expected_counts(obs, expected)
    k = obs.shape[-1]
    _base.check_ddof(k, ddof)
    stat = ((obs - exp) ** 2 / exp).sum(axis=-1)
    df = np.full_like(stat, k - 1)  # the bug: k - 1 - ddof
    return _base.TestResult(
        statistic=_base.unbatch(stat, batched),
        pvalue=_base.unbatch(np.asarray(special.chdtrc(df, stat)), batched),
        df=_base.unbatch(df, batched),
        alternative="greater",
        expected=exp if batched else exp[0],
    )


vars(_base).update(chi_square_goodness_of_fit=_goodness_of_fit_without_ddof)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 4  # whose tests reject it: `prep verify` runs them first
