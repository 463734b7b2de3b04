"""Task 10: ``compare_models`` picks the test, decides and reports; and the README's worked
example (two scikit-learn classifiers) run end to end against scipy and statsmodels."""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.stats
from challenge_03_statistical_testing import worked_example
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar

from prep.testing import assert_close

RTOL = 1e-10
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)


def scores(n: int) -> st.SearchStrategy[Any]:
    return st.lists(st.floats(0, 1), min_size=n, max_size=n).map(np.array)


@pytest.mark.task(10)
@SETTINGS
@given(data=st.data(), alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_paired_scores_use_the_paired_t_test(
    impl: ModuleType, data: st.DataObject, alpha: float
) -> None:
    n = data.draw(st.integers(3, 30), label="n")
    a, b = data.draw(scores(n), label="scores_a"), data.draw(scores(n), label="scores_b")
    assume(np.ptp(b - a) > 1e-6 and not np.isin(np.r_[a, b], (0.0, 1.0)).all())
    report = impl.compare_models(a, b, alpha=alpha)
    reference = scipy.stats.ttest_rel(b, a)
    ci = reference.confidence_interval(1 - alpha)
    assert report.test == "paired t"
    assert_close(report.result.pvalue, reference.pvalue, rtol=RTOL, task=10, what="p-value")
    assert_close(report.mean_difference, np.mean(b - a), rtol=RTOL, atol=1e-15, task=10)
    assert_close(
        [report.ci_low, report.ci_high],
        [ci.low, ci.high],
        rtol=RTOL,
        atol=1e-15,
        task=10,
        what="CI",
    )
    assert_close(
        report.effect_size, np.mean(b - a) / np.std(b - a, ddof=1), rtol=1e-9, atol=1e-12, task=10
    )
    expected = "no significant difference"
    if reference.pvalue < alpha:
        expected = "B better" if np.mean(b) > np.mean(a) else "A better"
    assert report.decision == expected


@pytest.mark.task(10)
def test_unpaired_scores_use_welch(impl: ModuleType) -> None:
    rng = np.random.default_rng(13)
    a, b = rng.normal(0.80, 0.02, size=8), rng.normal(0.83, 0.05, size=11)  # e.g. seeds per model
    report = impl.compare_models(a, b, paired=False)
    reference = scipy.stats.ttest_ind(b, a, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert report.test == "welch t"
    assert_close(report.result.pvalue, reference.pvalue, rtol=RTOL, task=10)
    assert_close(
        [report.ci_low, report.ci_high], [ci.low, ci.high], rtol=RTOL, task=10, what="Welch CI"
    )
    assert_close(report.effect_size, impl.cohens_d(b, a), rtol=RTOL, task=10, what="Cohen's d")


@pytest.mark.task(10)
def test_correctness_uses_mcnemar_and_decides(impl: ModuleType) -> None:
    a = np.array([1] * 50 + [1] * 3 + [0] * 25 + [0] * 7)  # A right, right, wrong, wrong
    b = np.array([1] * 50 + [0] * 3 + [1] * 25 + [0] * 7)  # B right, wrong, right, wrong
    report = impl.compare_models(a, b)
    assert report.test == "mcnemar"
    assert_close(
        report.result.pvalue, mcnemar([[50, 3], [25, 7]], exact=False).pvalue, rtol=RTOL, task=10
    )
    assert report.decision == "B better"
    assert impl.compare_models(b, a).decision == "A better"
    assert impl.compare_models(a, a).decision == "no significant difference"


def _correctness(n01: int, n10: int, both: int, neither: int) -> tuple[Any, Any]:
    """Per-example correctness of A and B with the given 2x2 counts."""
    a = np.array([1] * n01 + [0] * n10 + [1] * both + [0] * neither)
    b = np.array([0] * n01 + [1] * n10 + [1] * both + [0] * neither)
    return a, b


def _binomial_interval(k: int, m: int, alpha: float, exact: bool) -> tuple[float, float]:
    """scipy's interval for a proportion: Clopper-Pearson or Wilson with continuity correction
    (clipped to [0, 1]: the raw Wilson ends can step just outside)."""
    ci = scipy.stats.binomtest(k, m).proportion_ci(1 - alpha, "exact" if exact else "wilsoncc")
    return max(ci.low, 0.0), min(ci.high, 1.0)


@pytest.mark.task(10)
def test_mcnemar_interval_agrees_with_the_decision_at_every_count(impl: ModuleType) -> None:
    """Every split (n01, n10) of up to 50 discordant examples among 50, in one batch: both
    McNemar versions cross the 5% boundary many times in this range, and at each crossing the
    interval must stop (or start) covering 0 together with the decision."""
    alpha, n = 0.05, 50
    pairs = [(n01, n10) for n01 in range(n + 1) for n10 in range(n + 1 - n01)]
    rows = [_correctness(n01, n10, n - n01 - n10, 0) for n01, n10 in pairs]
    a, b = np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])  # (B, n)
    report = impl.compare_models(a, b, alpha=alpha)
    pvalue = np.asarray(report.result.pvalue)
    exact = np.array([n01 + n10 < 25 for n01, n10 in pairs])
    for version in (exact, ~exact):  # the sweep reaches the boundary of both versions
        assert (pvalue[version] < alpha).any()
        assert (pvalue[version] >= alpha).any()
    significant = np.asarray(report.decision) != "no significant difference"
    covers_zero = (np.asarray(report.ci_low) <= 0.0) & (np.asarray(report.ci_high) >= 0.0)
    disagree = [
        (*pair, float(p))
        for pair, p, bad in zip(pairs, pvalue, significant == covers_zero, strict=True)
        if bad
    ]
    assert not disagree, (
        f"decision and interval disagree for (n01, n10, p) {disagree[:5]} ({len(disagree)} "
        "in all): the interval must invert the test that decided - revisit README task 10"
    )


@pytest.mark.task(10)
@settings(max_examples=15, deadline=None, derandomize=True)  # agreement: the sweep above
@given(
    n01=st.integers(0, 45),
    n10=st.integers(0, 45),
    both=st.integers(0, 60),
    neither=st.integers(0, 10),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
)
def test_mcnemar_interval_agrees_with_the_decision(
    impl: ModuleType, n01: int, n10: int, both: int, neither: int, alpha: float
) -> None:
    """The reported interval inverts the test that decided: 0 lies outside it exactly when the
    difference is significant; and it is scipy's interval for n10 / m mapped to (2 pi - 1) m / n."""
    assume(n01 + n10 + both + neither >= 2)
    a, b = _correctness(n01, n10, both, neither)
    report = impl.compare_models(a, b, alpha=alpha)
    assert report.test == "mcnemar"
    significant = report.decision != "no significant difference"
    covers_zero = report.ci_low <= 0.0 <= report.ci_high
    assert significant != covers_zero, (
        f"decision {report.decision!r} (p = {report.result.pvalue:.4g}) but interval "
        f"[{report.ci_low:.4g}, {report.ci_high:.4g}]: revisit README task 10"
    )
    m, n = n01 + n10, len(a)
    expected = [0.0, 0.0]
    if m:
        low, high = _binomial_interval(n10, m, alpha, exact=m < 25)
        expected = [(2 * low - 1) * m / n, (2 * high - 1) * m / n]
    # scipy finds the Clopper-Pearson ends by root finding (brentq, xtol 2e-12)
    assert_close([report.ci_low, report.ci_high], expected, rtol=1e-9, atol=1e-11, task=10)
    assert report.ci_low - 1e-12 <= report.mean_difference <= report.ci_high + 1e-12


@pytest.mark.task(10)
def test_mcnemar_interval_case_where_a_t_interval_disagrees(impl: ModuleType) -> None:
    """A wrong 0, 5 times, B never; 20 both right. The exact test gives p = 0.0625 (no
    significant difference at 0.05) while the paired t-interval, [0.031, 0.369], excludes 0."""
    a, b = _correctness(0, 5, 20, 0)
    report = impl.compare_models(a, b)
    assert report.decision == "no significant difference"
    low, high = _binomial_interval(5, 5, 0.05, exact=True)
    expected = [(2 * low - 1) * 5 / 25, (2 * high - 1) * 5 / 25]
    assert_close([report.ci_low, report.ci_high], expected, rtol=1e-9, task=10, what="interval")
    assert report.ci_low < 0.0


@pytest.mark.task(10)
def test_batch_of_comparisons(impl: ModuleType) -> None:
    rng = np.random.default_rng(14)
    a = rng.normal(0.7, 0.1, size=(40, 25))
    b = a + rng.normal(np.linspace(-0.1, 0.1, 40)[:, None], 0.05, size=(40, 25))
    report = impl.compare_models(a, b)
    reference = scipy.stats.ttest_rel(b, a, axis=-1)
    assert np.shape(report.decision) == (40,)
    assert_close(
        report.result.pvalue, reference.pvalue, rtol=RTOL, task=10, what="batched p-values"
    )
    better = np.where(b.mean(axis=-1) > a.mean(axis=-1), "B better", "A better")
    expected = np.where(reference.pvalue < 0.05, better, "no significant difference")
    assert list(report.decision) == list(expected)


@pytest.mark.task(10)
def test_worked_example_matches_the_oracles(impl: ModuleType) -> None:
    """The README's example: tree (A) vs logistic regression (B) on breast cancer."""
    example = worked_example.run(impl)
    a, b = example.correct_tree, example.correct_logreg
    n01, n10 = int((a & ~b).sum()), int((~a & b).sum())
    assert n01 + n10 >= 25  # so exact=None chose the chi-square version
    reference = mcnemar([[int((a & b).sum()), n01], [n10, int((~a & ~b).sum())]], exact=False)
    assert_close(
        example.mcnemar.pvalue, reference.pvalue, rtol=RTOL, task=6, what="McNemar p-value"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = scipy.stats.bootstrap(
            (b * 1.0 - a,), np.mean, method="bca", n_resamples=10_000, rng=0
        )
    ci = boot.confidence_interval
    assert_close(
        [example.accuracy_gap.low, example.accuracy_gap.high], [ci.low, ci.high], rtol=RTOL, task=7
    )
    assert example.comparison.decision == "B better"
    assert "B better" in worked_example.describe(example)
