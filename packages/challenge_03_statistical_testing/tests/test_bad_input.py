"""Bad input, every task: a clear ValueError or TypeError naming what is wrong.

Where scipy's documented result is kept instead (zero variance: inf or nan t; no discordant
pairs: p = 1), the task's own test file checks it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest


def bad(task: int, call: Any, match: str, id: str, error: type[Exception] = ValueError) -> Any:
    """``call(impl)`` must raise ``error`` with a message matching ``match`` (README task)."""
    return pytest.param(call, error, match, marks=pytest.mark.task(task), id=id)


BAD_INPUT = [
    bad(1, lambda m: m.one_sample_ttest([1.0], 0.0), "at least 2", "one observation"),
    bad(1, lambda m: m.one_sample_ttest([1.0, np.nan, 2.0], 0.0), "NaN", "NaN"),
    bad(1, lambda m: m.one_sample_ttest([1.0, 2.0], np.inf), "popmean", "inf popmean"),
    bad(
        1, lambda m: m.one_sample_ttest([1.0, 2.0], 0.0, alternative="bigger"), "alternative", "alt"
    ),
    bad(1, lambda m: m.one_sample_ttest(np.ones((2, 2, 2)), 0.0), "shape", "3-D"),
    bad(2, lambda m: m.two_sample_ttest([1.0, 2.0], [3.0]), "at least 2", "b too short"),
    bad(2, lambda m: m.two_sample_ttest(np.ones((3, 4)), np.ones((2, 4))), "batch", "batch sizes"),
    bad(2, lambda m: m.two_sample_ttest(np.ones((3, 4)), np.ones(4)), "batched", "batch vs single"),
    bad(3, lambda m: m.paired_ttest([1.0, 2.0, 3.0], [1.0, 2.0]), "paired", "paired lengths"),
    bad(
        4,
        lambda m: m.chi_square_goodness_of_fit([3.0, -1.0, 4.0]),
        "non-negative",
        "negative count",
    ),
    bad(4, lambda m: m.chi_square_goodness_of_fit([3.0, np.nan]), "NaN", "NaN"),
    bad(
        4,
        lambda m: m.chi_square_goodness_of_fit([3.0, 1.0], [4.0, 0.0]),
        "positive",
        "zero expected",
    ),
    bad(
        4,
        lambda m: m.chi_square_goodness_of_fit([3.0, 1.0], [5.0, -1.0]),
        "positive",
        "negative expected",
    ),
    bad(4, lambda m: m.chi_square_goodness_of_fit([3.0, 1.0], [1.0, 1.0]), "sum", "totals differ"),
    bad(
        4,
        lambda m: m.chi_square_goodness_of_fit([3.0, 1.0, 2.0], ddof=2),
        "degrees of freedom",
        "df 0",
    ),
    bad(4, lambda m: m.chi_square_goodness_of_fit([0.0, 0.0, 0.0]), "zero", "no counts"),
    bad(4, lambda m: m.chi_square_goodness_of_fit([5.0]), "2 categories", "one category"),
    bad(5, lambda m: m.chi_square_independence([[3.0, 4.0], [0.0, 0.0]]), "row 1", "zero row"),
    bad(
        5, lambda m: m.chi_square_independence([[3.0, 0.0], [2.0, 0.0]]), "column 1", "zero column"
    ),
    bad(5, lambda m: m.chi_square_independence([[3.0, 4.0, 5.0]]), "2 rows", "one row"),
    bad(
        5,
        lambda m: m.chi_square_independence([[3.0, -4.0], [1.0, 2.0]]),
        "non-negative",
        "negative cell",
    ),
    bad(5, lambda m: m.chi_square_independence([1.0, 2.0]), "shape", "1-D table"),
    bad(6, lambda m: m.mcnemar_test([1, 0, 1], [1, 0]), "paired", "mcnemar lengths"),
    bad(6, lambda m: m.mcnemar_test([1, 2, 0], [1, 0, 1]), "0/1", "mcnemar not binary"),
    bad(6, lambda m: m.mcnemar_test([], []), "at least 1", "mcnemar empty"),
    bad(7, lambda m: m.bootstrap_ci([1.0], np.mean), "at least 2", "bootstrap one value"),
    bad(7, lambda m: m.bootstrap_ci([1.0, np.nan], np.mean), "NaN", "bootstrap NaN"),
    bad(
        7, lambda m: m.bootstrap_ci([1.0, 2.0], np.mean, confidence=1.5), "confidence", "confidence"
    ),
    bad(7, lambda m: m.bootstrap_ci([1.0, 2.0], np.mean, method="basic"), "method", "method"),
    bad(
        7,
        lambda m: m.bootstrap_ci([1.0, 2.0], np.mean, n_resamples=0),
        "n_resamples",
        "no resamples",
    ),
    bad(7, lambda m: m.bootstrap_ci([1.0, 2.0], "mean"), "callable", "statistic", TypeError),
    bad(
        7,
        lambda m: m.bootstrap_ci([1.0, 2.0], lambda x, axis: x),
        "reduce",
        "no reduction",
        TypeError,
    ),
    bad(7, lambda m: m.permutation_test([2.0], [1.0, 3.0]), "at least 2", "permutation one value"),
    bad(
        7, lambda m: m.permutation_test([1.0, 2.0], [np.inf, 1.0]), "NaN or inf", "permutation inf"
    ),
    bad(8, lambda m: m.power_ttest(0.5, 1.0), "exceed 1", "power n 1"),
    bad(8, lambda m: m.power_ttest(0.5, 20, alpha=0.0), "alpha", "power alpha"),
    bad(8, lambda m: m.power_ttest(np.nan, 20), "NaN", "power NaN effect"),
    bad(8, lambda m: m.power_ttest(0.5, 20, kind="three-sample"), "kind", "power kind"),
    bad(8, lambda m: m.sample_size_ttest(0.0, 0.8), "effect_size 0", "sample size zero effect"),
    bad(8, lambda m: m.sample_size_ttest(-0.5, 0.8, alternative="greater"), "sign", "wrong sign"),
    bad(
        8, lambda m: m.sample_size_ttest(0.5, 0.01, alpha=0.05), "exceed alpha", "power below alpha"
    ),
    bad(8, lambda m: m.cohens_d([1.0, 2.0, 3.0], [1.0, 2.0], paired=True), "paired", "d lengths"),
    bad(9, lambda m: m.adjust_pvalues([0.1, 1.2]), r"\[0, 1\]", "p above 1"),
    bad(9, lambda m: m.adjust_pvalues([0.1, np.nan]), "NaN", "p NaN"),
    bad(9, lambda m: m.adjust_pvalues([0.1, 0.2], "hochberg"), "method", "unknown method"),
    bad(10, lambda m: m.compare_models([0.8, 0.9, 0.7], [0.8, 0.9]), "paired", "paired lengths"),
    bad(10, lambda m: m.compare_models([0.8, 0.9], [0.8, 0.7], alpha=1.0), "alpha", "alpha"),
    bad(10, lambda m: m.compare_models([0.8], [0.7, 0.9], paired=False), "at least 2", "one run"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUT)
def test_bad_input_raises_a_clear_error(
    impl: ModuleType, call: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call(impl)
