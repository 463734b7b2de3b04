"""Tasks 4-5: chi-square goodness of fit and independence against scipy.stats."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

RTOL = 1e-10  # scipy's own formula in float64 agrees to a few ulps
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)

counts = st.one_of(st.integers(0, 60).map(float), st.floats(0, 60, allow_subnormal=False))


def check(result: Any, statistic: Any, pvalue: Any, df: Any, task: int) -> None:
    assert_close(result.statistic, statistic, rtol=RTOL, task=task, what="statistic")
    assert_close(result.pvalue, pvalue, rtol=RTOL, task=task, what="p-value")
    assert_close(result.df, df, rtol=RTOL, task=task, what="degrees of freedom")


@pytest.mark.task(4)
@SETTINGS
@given(
    observed=st.lists(counts, min_size=2, max_size=8).map(np.array),
    ddof=st.integers(0, 2),
)
def test_goodness_of_fit_uniform_matches_scipy(impl: ModuleType, observed: Any, ddof: int) -> None:
    assume(observed.sum() > 0 and len(observed) - 1 - ddof >= 1)
    result = impl.chi_square_goodness_of_fit(observed, ddof=ddof)
    reference = scipy.stats.chisquare(observed, ddof=ddof)
    check(result, reference.statistic, reference.pvalue, len(observed) - 1 - ddof, task=4)
    assert_close(result.expected, np.full(len(observed), observed.mean()), rtol=RTOL, task=4)


@pytest.mark.task(4)
@SETTINGS
@given(data=st.data(), ddof=st.integers(0, 2))
def test_goodness_of_fit_with_expected_matches_scipy(
    impl: ModuleType, data: st.DataObject, ddof: int
) -> None:
    observed = data.draw(st.lists(counts, min_size=3, max_size=8).map(np.array), label="observed")
    weights = data.draw(
        st.lists(st.floats(0.05, 10), min_size=len(observed), max_size=len(observed)).map(np.array),
        label="weights",
    )
    assume(observed.sum() > 0 and len(observed) - 1 - ddof >= 1)
    expected = weights / weights.sum() * observed.sum()
    result = impl.chi_square_goodness_of_fit(observed, expected, ddof=ddof)
    reference = scipy.stats.chisquare(observed, expected, ddof=ddof)
    check(result, reference.statistic, reference.pvalue, len(observed) - 1 - ddof, task=4)


@pytest.mark.task(4)
def test_goodness_of_fit_batch_matches_scipy(impl: ModuleType) -> None:
    rng = np.random.default_rng(4)
    observed = rng.poisson(12, size=(64, 6)).astype(float)
    expected = np.array([1.0, 2.0, 3.0, 3.0, 2.0, 1.0]) / 12
    result = impl.chi_square_goodness_of_fit(
        observed, expected * observed.sum(axis=-1, keepdims=True), ddof=1
    )
    reference = scipy.stats.chisquare(
        observed, expected * observed.sum(axis=-1, keepdims=True), ddof=1, axis=-1
    )
    check(result, reference.statistic, reference.pvalue, np.full(64, 4.0), task=4)
    assert np.shape(result.expected) == (64, 6)


@pytest.mark.task(4)
def test_goodness_of_fit_uses_ddof(impl: ModuleType) -> None:
    """Estimating one parameter from the data costs one degree of freedom."""
    observed = np.array([18.0, 25.0, 31.0, 26.0])
    for ddof in (0, 1, 2):
        result = impl.chi_square_goodness_of_fit(observed, ddof=ddof)
        assert result.df == 3 - ddof
        assert_close(
            result.pvalue, scipy.stats.chisquare(observed, ddof=ddof).pvalue, rtol=RTOL, task=4
        )


tables = st.integers(2, 4).flatmap(
    lambda rows: st.integers(2, 4).flatmap(
        lambda cols: st.lists(
            st.lists(st.integers(0, 40), min_size=cols, max_size=cols), min_size=rows, max_size=rows
        )
    )
)


@pytest.mark.task(5)
@SETTINGS
@given(table=tables.map(lambda t: np.array(t, dtype=float)), correction=st.booleans())
def test_independence_matches_scipy(impl: ModuleType, table: Any, correction: bool) -> None:
    assume((table.sum(axis=0) > 0).all() and (table.sum(axis=1) > 0).all())
    result = impl.chi_square_independence(table, correction=correction)
    reference = scipy.stats.chi2_contingency(table, correction=correction)
    check(result, reference.statistic, reference.pvalue, reference.dof, task=5)
    assert_close(
        result.expected, reference.expected_freq, rtol=RTOL, task=5, what="expected counts"
    )


@pytest.mark.task(5)
def test_yates_correction_applies_to_2x2_only(impl: ModuleType) -> None:
    two_by_two = np.array([[12.0, 5.0], [7.0, 15.0]])
    corrected = impl.chi_square_independence(two_by_two)
    plain = impl.chi_square_independence(two_by_two, correction=False)
    assert corrected.statistic < plain.statistic
    two_by_three = np.array([[12.0, 5.0, 9.0], [7.0, 15.0, 4.0]])
    assert_close(
        impl.chi_square_independence(two_by_three).statistic,
        impl.chi_square_independence(two_by_three, correction=False).statistic,
        rtol=RTOL,
        task=5,
        what="statistic of a 2x3 table with and without correction=True",
    )


@pytest.mark.task(5)
@pytest.mark.parametrize("shape", [(2, 2), (3, 4)])
def test_independence_batch_matches_scipy(impl: ModuleType, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(5)
    tables_ = rng.integers(1, 30, size=(32, *shape)).astype(float)
    result = impl.chi_square_independence(tables_)
    references = [scipy.stats.chi2_contingency(t) for t in tables_]
    check(
        result,
        [r.statistic for r in references],
        [r.pvalue for r in references],
        [r.dof for r in references],
        task=5,
    )
    assert_close(result.expected, [r.expected_freq for r in references], rtol=RTOL, task=5)
