"""Task 6: McNemar's test on two classifiers' per-example correctness, against statsmodels."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar

from prep.testing import assert_close

# statsmodels takes the binomial CDF from scipy's Boost build and the task from scipy.special's
# Cephes one: they agree to about 1e-12 relative, well inside this.
RTOL = 1e-10
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def discordant(a: Any, b: Any) -> tuple[int, int]:
    """(A right and B wrong, A wrong and B right)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    return int((a & ~b).sum()), int((~a & b).sum())


def oracle(a: Any, b: Any, exact: bool) -> Any:
    n01, n10 = discordant(a, b)
    both, neither = int((np.asarray(a) & np.asarray(b)).sum()), 0
    return mcnemar([[both, n01], [n10, neither]], exact=exact, correction=True)


@st.composite
def paired_correctness(draw: st.DrawFn) -> tuple[Any, Any]:
    n = draw(st.integers(1, 120))
    a = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    flip = draw(st.floats(0, 0.6))  # how often B differs from A
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    b = np.array(a) ^ (rng.random(n) < flip)
    return np.array(a), b


@pytest.mark.task(6)
@SETTINGS
@given(pair=paired_correctness(), exact=st.booleans())
def test_matches_statsmodels(impl: ModuleType, pair: tuple[Any, Any], exact: bool) -> None:
    a, b = pair
    n01, n10 = discordant(a, b)
    result = impl.mcnemar_test(a, b, exact=exact)
    if not exact and n01 + n10 == 0:  # documented: statsmodels gives inf and p = 0 here
        assert (result.statistic, result.pvalue) == (0.0, 1.0)
        return
    reference = oracle(a, b, exact)
    assert_close(result.statistic, reference.statistic, rtol=RTOL, task=6, what="statistic")
    assert_close(result.pvalue, reference.pvalue, rtol=RTOL, task=6, what="p-value")
    assert_close(
        result.estimate, (n10 - n01) / len(a), rtol=RTOL, task=6, what="accuracy(B) - accuracy(A)"
    )


@pytest.mark.task(6)
@pytest.mark.parametrize(
    ("n01", "n10", "exact"), [(3, 10, True), (10, 14, True), (15, 10, False), (40, 20, False)]
)
def test_exact_none_picks_by_discordant_count(
    impl: ModuleType, n01: int, n10: int, exact: bool
) -> None:
    """exact=None: the binomial test below 25 discordant pairs, the chi-square test from 25 on."""
    a = np.array([True] * n01 + [False] * n10 + [True] * 30)
    b = np.array([False] * n01 + [True] * n10 + [True] * 30)
    result = impl.mcnemar_test(a, b)
    reference = oracle(a, b, exact)
    assert_close(result.pvalue, reference.pvalue, rtol=RTOL, task=6)
    assert (np.isnan(result.df)) == exact


@pytest.mark.task(6)
def test_accepts_zero_one_and_batches(impl: ModuleType) -> None:
    rng = np.random.default_rng(6)
    a = rng.random((48, 80)) < 0.8
    b = np.where(rng.random((48, 80)) < 0.3, ~a, a)
    result = impl.mcnemar_test(a.astype(int), b.astype(int))
    expected = [
        oracle(ra, rb, sum(discordant(ra, rb)) < 25).pvalue for ra, rb in zip(a, b, strict=True)
    ]
    assert np.shape(result.pvalue) == (48,)
    assert_close(result.pvalue, expected, rtol=RTOL, task=6, what="batched p-values")


@pytest.mark.task(6)
def test_identical_models_have_p_one(impl: ModuleType) -> None:
    a = np.array([1, 0, 1, 1, 0])
    for exact in (None, True, False):
        result = impl.mcnemar_test(a, a, exact=exact)
        assert result.pvalue == 1.0
