"""Tasks 1-3: one-sample, two-sample (Student and Welch) and paired t-tests against scipy.stats."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

# The tests ask for scipy's own answer to 1e-10 relative: an implementation computing the same
# formulas in float64 lands within a few ulps (1e-15); a wrong formula is off by far more.
RTOL = 1e-10
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
ALTERNATIVES = ("two-sided", "less", "greater")

# Values on a few scales plus small integers (ties); samples must not be constant to rounding,
# where the t statistic is 0/0 (the constant case has its own test below).
values = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    st.integers(-20, 20).map(float),
)


def spread(x: np.ndarray[Any, Any]) -> bool:
    return bool(np.ptp(x) > 1e-6 * (1 + np.abs(x).max()))


def samples(min_n: int = 2, max_n: int = 25) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    return st.lists(values, min_size=min_n, max_size=max_n).map(np.array).filter(spread)


def check(result: Any, reference: Any, task: int, *, df: bool = True) -> None:
    """statistic, p-value (and df) of ``result`` against a scipy result."""
    assert_close(result.statistic, reference.statistic, rtol=RTOL, task=task, what="statistic")
    assert_close(result.pvalue, reference.pvalue, rtol=RTOL, task=task, what="p-value")
    if df:
        assert_close(result.df, reference.df, rtol=RTOL, task=task, what="degrees of freedom")


@pytest.mark.task(1)
@SETTINGS
@given(x=samples(), popmean=values, alternative=st.sampled_from(ALTERNATIVES))
def test_one_sample_matches_scipy(
    impl: ModuleType, x: Any, popmean: float, alternative: str
) -> None:
    result = impl.one_sample_ttest(x, popmean, alternative=alternative)
    check(result, scipy.stats.ttest_1samp(x, popmean, alternative=alternative), task=1)
    assert result.alternative == alternative
    assert_close(result.estimate, np.mean(x), rtol=RTOL, task=1, what="estimate (the mean)")


@pytest.mark.task(1)
def test_one_sample_returns_floats_and_a_frozen_result(impl: ModuleType) -> None:
    result = impl.one_sample_ttest([1.0, 2.0, 4.0], 1.0)
    assert isinstance(result.statistic, float)
    assert isinstance(result.pvalue, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.pvalue = 0.0


@pytest.mark.task(1)
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_one_sample_batch_matches_scipy(impl: ModuleType, alternative: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.2, 1.5, size=(64, 7))
    popmean = rng.normal(0, 0.5, size=64)
    result = impl.one_sample_ttest(x, popmean, alternative=alternative)
    reference = scipy.stats.ttest_1samp(x, popmean[:, None], axis=-1, alternative=alternative)
    assert np.shape(result.pvalue) == (64,)
    check(result, reference, task=1)


@pytest.mark.task(1)
def test_one_sample_zero_variance_follows_scipy(impl: ModuleType) -> None:
    """Documented: a constant sample gives t = +-inf (p = 0) away from popmean, nan at it."""
    away = impl.one_sample_ttest([3.0, 3.0, 3.0], 1.0)
    assert away.statistic == np.inf
    assert away.pvalue == 0.0
    at = impl.one_sample_ttest([3.0, 3.0, 3.0], 3.0)
    assert np.isnan(at.statistic)
    assert np.isnan(at.pvalue)


@pytest.mark.task(2)
@SETTINGS
@given(
    a=samples(),
    b=samples(),
    equal_var=st.booleans(),
    alternative=st.sampled_from(ALTERNATIVES),
)
def test_two_sample_matches_scipy(
    impl: ModuleType, a: Any, b: Any, equal_var: bool, alternative: str
) -> None:
    result = impl.two_sample_ttest(a, b, equal_var=equal_var, alternative=alternative)
    reference = scipy.stats.ttest_ind(a, b, equal_var=equal_var, alternative=alternative)
    check(result, reference, task=2)


@pytest.mark.task(2)
def test_two_sample_defaults_to_welch(impl: ModuleType) -> None:
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 8.0, -3.0, 9.0, 15.0, 0.5])
    result = impl.two_sample_ttest(a, b)
    check(result, scipy.stats.ttest_ind(a, b, equal_var=False), task=2)


@pytest.mark.task(2)
@pytest.mark.parametrize("equal_var", [True, False])
def test_two_sample_batch_matches_scipy(impl: ModuleType, equal_var: bool) -> None:
    rng = np.random.default_rng(2)
    a = rng.normal(0, 1, size=(64, 5))
    b = rng.normal(0.5, 3, size=(64, 11))
    result = impl.two_sample_ttest(a, b, equal_var=equal_var, alternative="greater")
    reference = scipy.stats.ttest_ind(a, b, axis=-1, equal_var=equal_var, alternative="greater")
    check(result, reference, task=2)


@pytest.mark.task(2)
def test_welch_with_both_variances_zero_follows_scipy(impl: ModuleType) -> None:
    """Documented: t = -inf, p = 0 and Welch's df = 1 (scipy's choice for the 0/0 df)."""
    result = impl.two_sample_ttest([1.0, 1.0, 1.0], [2.0, 2.0])
    assert result.statistic == -np.inf
    assert result.pvalue == 0.0
    assert result.df == 1.0


@pytest.mark.task(3)
@SETTINGS
@given(data=st.data(), alternative=st.sampled_from(ALTERNATIVES))
def test_paired_matches_scipy(impl: ModuleType, data: st.DataObject, alternative: str) -> None:
    a = data.draw(samples(), label="a")
    b = data.draw(st.lists(values, min_size=len(a), max_size=len(a)).map(np.array), label="b")
    assume(spread(a - b))  # constant differences: t is 0/0 or inf (tested for one sample)
    result = impl.paired_ttest(a, b, alternative=alternative)
    check(result, scipy.stats.ttest_rel(a, b, alternative=alternative), task=3)


@pytest.mark.task(3)
def test_paired_batch_matches_scipy(impl: ModuleType) -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, size=(64, 9))
    b = a + rng.normal(0.3, 0.5, size=(64, 9))
    result = impl.paired_ttest(a, b, alternative="less")
    check(result, scipy.stats.ttest_rel(a, b, axis=-1, alternative="less"), task=3)


@pytest.mark.task(1)
def test_variance_survives_a_large_offset(impl: ModuleType) -> None:
    """Latencies in ns since an epoch, timestamps, ...: data far from 0. The one-pass variance
    E[x^2] - E[x]^2 subtracts two numbers near 1e16 and keeps only rounding noise; two passes
    (mean first, then squared deviations) keep every digit."""
    x = 1e8 + np.array([0.5, -1.25, 2.0, 0.75, -0.5, 1.5, -2.25, 0.25])
    for data in (x, x[np.newaxis].repeat(3, axis=0)):
        result = impl.one_sample_ttest(data, 1e8)
        reference = scipy.stats.ttest_1samp(data, 1e8, axis=-1)
        check(result, reference, task=1)


@pytest.mark.task(2)
def test_welch_variance_survives_a_large_offset(impl: ModuleType) -> None:
    a = 1e8 + np.array([0.5, -1.25, 2.0, 0.75, -0.5])
    b = 1e8 + np.array([1.5, 2.25, 3.0, 0.25, 2.5, 1.75])
    check(impl.two_sample_ttest(a, b), scipy.stats.ttest_ind(a, b, equal_var=False), task=2)


@pytest.mark.task(1)
@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_an_extreme_statistic_gets_a_tiny_positive_p_value(
    impl: ModuleType, alternative: str
) -> None:
    """t = 60 with 19 df: p is about 1e-23. 1 - cdf rounds to 0 (cdf = 1 - 1e-23 is 1.0 in
    float64); the survival function (``stdtr(df, -t)``) keeps it."""
    x = np.linspace(9.0, 11.0, 20)
    popmean = 10.0 - 60.0 * np.std(x, ddof=1) / np.sqrt(20)  # places t at 60
    result = impl.one_sample_ttest(x, popmean, alternative=alternative)
    reference = scipy.stats.ttest_1samp(x, popmean, alternative=alternative)
    assert 0.0 < result.pvalue < 1e-20
    check(result, reference, task=1)
