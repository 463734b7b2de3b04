"""Task 8: Cohen's d, power and sample size of t-tests, against statsmodels."""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import TTestIndPower, TTestPower

from prep.testing import assert_close

RTOL = 1e-10  # statsmodels evaluates the same noncentral t functions
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
KINDS = ("two-sample", "one-sample", "paired")
STATSMODELS_ALTERNATIVE = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


def statsmodels_power(kind: str) -> Any:
    return TTestIndPower() if kind == "two-sample" else TTestPower()


@pytest.mark.task(8)
@SETTINGS
@given(
    effect_size=st.floats(-2, 2),
    n=st.floats(1.5, 300),
    alpha=st.floats(0.001, 0.2),
    kind=st.sampled_from(KINDS),
    alternative=st.sampled_from(sorted(STATSMODELS_ALTERNATIVE)),
)
def test_power_matches_statsmodels(
    impl: ModuleType, effect_size: float, n: float, alpha: float, kind: str, alternative: str
) -> None:
    result = impl.power_ttest(effect_size, n, alpha, kind=kind, alternative=alternative)
    reference = statsmodels_power(kind).power(
        effect_size, n, alpha, alternative=STATSMODELS_ALTERNATIVE[alternative]
    )
    assert_close(result, reference, rtol=RTOL, task=8, what=f"{kind} {alternative} power")


@pytest.mark.task(8)
def test_power_broadcasts(impl: ModuleType) -> None:
    effect = np.array([[0.2], [0.5], [0.8]])  # (3, 1)
    n = np.array([10.0, 50.0, 200.0, 1000.0])  # (4,)
    result = impl.power_ttest(effect, n, 0.05)
    reference = [[TTestIndPower().power(d, m, 0.05) for m in n] for d in effect[:, 0]]
    assert np.shape(result) == (3, 4)
    assert_close(result, reference, rtol=RTOL, task=8, what="power grid")


@pytest.mark.task(8)
@SETTINGS
@given(
    effect_size=st.floats(0.1, 2.5),
    power=st.floats(0.5, 0.99),
    alpha=st.floats(0.005, 0.1),
    kind=st.sampled_from(KINDS),
    alternative=st.sampled_from(sorted(STATSMODELS_ALTERNATIVE)),
)
def test_sample_size_reaches_the_power(
    impl: ModuleType, effect_size: float, power: float, alpha: float, kind: str, alternative: str
) -> None:
    d = -effect_size if alternative == "less" else effect_size
    n = impl.sample_size_ttest(d, power, alpha, kind=kind, alternative=alternative)
    assume(n > 2.5)  # statsmodels searches n >= 2 only
    reached = impl.power_ttest(d, n, alpha, kind=kind, alternative=alternative)
    assert_close(reached, power, rtol=1e-9, task=8, what="power at the returned n")  # n to 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = statsmodels_power(kind).solve_power(
            d, None, alpha, power, alternative=STATSMODELS_ALTERNATIVE[alternative]
        )
    # statsmodels stops its root search at xtol = 1e-5, so it is the less precise of the two.
    assert_close(n, reference, rtol=0, atol=1e-4, task=8, what="sample size vs statsmodels")


@pytest.mark.task(8)
def test_sample_size_textbook_value(impl: ModuleType) -> None:
    """d = 0.5, 80% power, alpha 0.05, two-sided, two groups: 64 per group (Cohen 1988)."""
    n = impl.sample_size_ttest(0.5, 0.8, 0.05)
    assert int(np.ceil(n)) == 64
    assert np.shape(impl.sample_size_ttest(np.array([0.2, 0.5, 0.8]), 0.8)) == (3,)


@pytest.mark.task(8)
@SETTINGS
@given(
    a=st.lists(st.floats(-50, 50), min_size=2, max_size=20).map(np.array),
    b=st.lists(st.floats(-50, 50), min_size=2, max_size=20).map(np.array),
)
def test_cohens_d_two_sample(impl: ModuleType, a: Any, b: Any) -> None:
    na, nb = len(a), len(b)
    pooled = ((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2)
    assume(pooled > 1e-6)
    expected = (np.mean(a) - np.mean(b)) / np.sqrt(pooled)
    assert_close(impl.cohens_d(a, b), expected, rtol=1e-9, atol=1e-12, task=8, what="Cohen's d")


@pytest.mark.task(8)
def test_cohens_d_paired_and_batched(impl: ModuleType) -> None:
    rng = np.random.default_rng(10)
    a = rng.normal(size=(20, 15))
    b = a + rng.normal(0.4, 1.0, size=(20, 15))
    diff = a - b
    expected = diff.mean(axis=-1) / diff.std(axis=-1, ddof=1)
    assert_close(impl.cohens_d(a, b, paired=True), expected, rtol=1e-12, task=8, what="d_z")


@pytest.mark.task(8)
@pytest.mark.parametrize("kind", KINDS)
def test_power_in_the_wrong_direction_is_tiny_not_zero(impl: ModuleType, kind: str) -> None:
    """A one-sided test for an effect that is really the other way: the power is 7e-14 (two
    samples of 30) or 2e-22 (30 pairs). ``1 - nctdtr(...)`` keeps 3 digits of the first and
    rounds the second to 0; the upper tail taken directly keeps both."""
    n, d, alpha = 30.0, -1.5, 0.05
    df = 2 * n - 2 if kind == "two-sample" else n - 1
    noncentrality = d * np.sqrt(n / 2 if kind == "two-sample" else n)
    critical = scipy.stats.t.isf(alpha, df)
    expected = scipy.stats.nct.sf(critical, df, noncentrality)  # Boost's survival function
    result = impl.power_ttest(d, n, alpha, kind=kind, alternative="greater")
    assert 0.0 < result < 1e-12
    assert_close(result, expected, rtol=1e-9, task=8, what="power in the wrong direction")
