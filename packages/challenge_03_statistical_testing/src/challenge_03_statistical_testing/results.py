"""The result records every implementation returns (shared, so the starter need not write them).

Each field holds a Python ``float`` for a single comparison, or a ``(B,)`` array when the input
carried a leading batch axis of ``B`` comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Values = float | FloatArray  # one comparison: float; a batch of B: array of shape (B,)
Alternative = Literal["two-sided", "less", "greater"]
ALTERNATIVES: tuple[Alternative, ...] = ("two-sided", "less", "greater")
BootstrapMethod = Literal["percentile", "bca"]
Correction = Literal["bonferroni", "holm", "bh"]
TTestKind = Literal["one-sample", "paired", "two-sample"]


@dataclass(frozen=True)
class TestResult:
    """The outcome of one hypothesis test (or a batch of them), in scipy's vocabulary."""

    __test__: ClassVar[bool] = False  # a class named Test*: tell pytest it holds no tests

    statistic: Values  # t, chi-square, McNemar's statistic, or the mean difference (permutation)
    pvalue: Values  # probability under H0 of a statistic at least as extreme, per `alternative`
    df: Values | None  # degrees of freedom; None for tests without one (permutation)
    alternative: Alternative  # the alternative hypothesis the p-value is for
    estimate: Values | None = None  # mean, mean difference or accuracy difference tested
    standard_error: Values | None = None  # of `estimate` (t-tests): statistic = estimate / se
    expected: FloatArray | None = None  # expected counts (chi-square), shaped like the input


@dataclass(frozen=True)
class BootstrapCI:
    """A bootstrap confidence interval for ``statistic(data)``."""

    low: Values  # lower end
    high: Values  # upper end
    estimate: Values  # statistic of the original data
    standard_error: Values  # standard deviation (ddof=1) of the bootstrap distribution
    confidence: float  # e.g. 0.95
    method: BootstrapMethod  # "percentile" or "bca"


@dataclass(frozen=True)
class ModelComparison:
    """``compare_models``' report: which test, its result, the decision and its size."""

    test: str  # "mcnemar", "paired t" or "welch t": the test compare_models chose
    result: TestResult  # that test's statistic, p-value and df
    decision: str | npt.NDArray[np.str_]  # "B better", "A better" or "no significant difference"
    mean_difference: Values  # mean(scores_b) - mean(scores_a) (accuracy difference for 0/1)
    effect_size: Values  # Cohen's d of B over A (d_z of the differences when paired)
    ci_low: Values  # (1 - alpha) interval for mean_difference, inverting the test that decided
    ci_high: Values
    alpha: float  # the significance level of the decision
