"""Your implementation. Replace each ``raise NotImplementedError`` with working code.

Run ``uv run prep test 03`` (add ``--task K`` for one task); the README's Tasks section says what
each function must do, ``uv run prep hint 03`` helps, and ``CHALLENGE_IMPL=baseline`` shows a
simple correct version.

Already written for you:
- ``results.py``: ``TestResult``, ``BootstrapCI``, ``ModelComparison`` (what you return).
- ``inputs.py``: input checks that return a ``(B, ...)`` array plus a ``batched`` flag
  (``as_sample``, ``as_pair``, ``as_counts``, ``as_expected_counts``, ``check_ddof``,
  ``as_table``, ``as_paired_correctness``, ``as_pvalues``, ``check_alternative``, ...) and
  ``unbatch`` to hand a single comparison back as floats. Call them first in each function.
- ``scipy.special`` has the distribution functions: ``stdtr(df, t)`` (t CDF), ``stdtrit``
  (its inverse), ``chdtrc(df, x)`` (chi-square upper tail), ``bdtr(k, n, p)`` (binomial CDF),
  ``nctdtr(df, nc, t)`` (noncentral t CDF), ``betaincinv(a, b, q)`` (beta quantile),
  ``ndtr``/``ndtri`` (normal CDF and inverse).
  The statistics and degrees of freedom are yours to compute. Take every tail probability from
  the tail itself (``stdtr(df, -t)`` for P(T >= t)), never as ``1 - cdf``: that rounds to 0
  for an extreme statistic, where the true p-value is tiny but positive.

This file is the specification: each docstring below states the arguments, shapes, results and
errors; ``baseline.py`` and ``solution.py`` only say how their approach differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from challenge_03_statistical_testing.results import (
    Alternative,
    BootstrapCI,
    BootstrapMethod,
    Correction,
    FloatArray,
    ModelComparison,
    TestResult,
    TTestKind,
    Values,
)

__all__ = [
    "adjust_pvalues",
    "bootstrap_ci",
    "chi_square_goodness_of_fit",
    "chi_square_independence",
    "cohens_d",
    "compare_models",
    "mcnemar_test",
    "one_sample_ttest",
    "paired_ttest",
    "permutation_test",
    "power_ttest",
    "sample_size_ttest",
    "two_sample_ttest",
]  # the same list in starter, baseline and solution

# ---------------------------------------------------------------------------------------------
# Tasks 1-3: t-tests


def one_sample_ttest(x: Any, popmean: Any, *, alternative: Alternative = "two-sided") -> TestResult:
    """Student's one-sample t-test of H0: mean(x) == popmean (``scipy.stats.ttest_1samp``).

    Args:
        x: sample, shape (n,), or a batch of B samples, shape (B, n); n >= 2.
        popmean: the mean under H0: a number, or shape (B,) for a batch.
        alternative: "two-sided", "less" (mean < popmean) or "greater".

    Returns:
        TestResult with statistic t = (mean - popmean) / (s / sqrt(n)), df = n - 1, estimate =
        mean and standard_error = s / sqrt(n); floats, or (B,) arrays for a batch.
        Zero variance gives t = +-inf (p = 0) when mean != popmean and nan when equal, as scipy.

    Raises:
        ValueError: n < 2, NaN or inf in x or popmean, bad shape or alternative.
    """
    raise NotImplementedError(
        "TODO(03.1): compute t = (mean - popmean) / (s / sqrt(n)) with df = n - 1 and its "
        "p-value for each row - see README task 1"
    )


def two_sample_ttest(
    a: Any, b: Any, *, equal_var: bool = False, alternative: Alternative = "two-sided"
) -> TestResult:
    """Welch's (default) or Student's two-sample t-test of H0: mean(a) == mean(b)
    (``scipy.stats.ttest_ind``; note scipy defaults to ``equal_var=True``).

    Args:
        a, b: samples, shapes (na,) and (nb,), or batches (B, na) and (B, nb); na, nb >= 2.
        equal_var: True pools the variances (Student, df = na + nb - 2); False (Welch) keeps
            them apart and uses the Welch-Satterthwaite df.
        alternative: "two-sided", "less" (mean(a) < mean(b)) or "greater".

    Returns:
        TestResult with t = (mean(a) - mean(b)) / se, df, estimate = mean(a) - mean(b) and se.
        Both variances zero: t = +-inf or nan and Welch's df = 1, as scipy.

    Raises:
        ValueError: fewer than 2 observations, NaN or inf, mismatched batch sizes.
    """
    raise NotImplementedError(
        "TODO(03.2): Student (pooled variance) and Welch (separate variances, Welch-"
        "Satterthwaite df) t-tests - see README task 2"
    )


def paired_ttest(a: Any, b: Any, *, alternative: Alternative = "two-sided") -> TestResult:
    """Paired t-test of H0: mean(a - b) == 0 (``scipy.stats.ttest_rel``).

    Args:
        a, b: paired samples of equal length, shape (n,) or (B, n); n >= 2.
        alternative: "two-sided", "less" (mean(a - b) < 0) or "greater".

    Returns:
        The one-sample t-test of the differences a - b against 0 (estimate = mean difference).

    Raises:
        ValueError: different lengths, n < 2, NaN or inf.
    """
    raise NotImplementedError(
        "TODO(03.3): test the differences a - b against 0 - see README task 3"
    )


# ---------------------------------------------------------------------------------------------
# Tasks 4-5: chi-square tests


def chi_square_goodness_of_fit(observed: Any, expected: Any = None, *, ddof: int = 0) -> TestResult:
    """Pearson's chi-square goodness-of-fit test (``scipy.stats.chisquare``).

    Args:
        observed: counts per category, shape (k,) or (B, k); k >= 2, non-negative.
        expected: expected counts, shape (k,) or like ``observed``; every entry > 0 and each
            row summing to the observed total (relative sqrt(eps), scipy's rule). None: uniform.
        ddof: parameters estimated from the data; df = k - 1 - ddof must be >= 1.

    Returns:
        TestResult with statistic sum((O - E)^2 / E), the upper-tail p-value, df, and the
        expected counts used (shaped like ``observed``).

    Raises:
        ValueError: negative, NaN or inf counts; an expected count <= 0 (an all-zero observed
            row with expected=None included); totals that disagree; df < 1.
    """
    raise NotImplementedError(
        "TODO(03.4): sum (O - E)^2 / E with df = k - 1 - ddof, upper-tail p-value - see "
        "README task 4"
    )


def chi_square_independence(table: Any, *, correction: bool = True) -> TestResult:
    """Pearson's chi-square test of independence of a contingency table's rows and columns
    (``scipy.stats.chi2_contingency``).

    Args:
        table: counts, shape (r, c) or a batch (B, r, c); r, c >= 2.
        correction: apply Yates' continuity correction when df == 1 (a 2x2 table): each
            observed count moves by up to 0.5 towards its expected count.

    Returns:
        TestResult with the chi-square statistic, upper-tail p-value, df = (r - 1)(c - 1) and
        expected = row total * column total / grand total (shaped like ``table``).

    Raises:
        ValueError: negative, NaN or inf counts; fewer than 2 rows or columns; a row or column
            summing to zero (scipy raises too: its expected counts would be 0).
    """
    raise NotImplementedError(
        "TODO(03.5): expected = row total * column total / grand total, Yates for 2x2, df = "
        "(r - 1)(c - 1) - see README task 5"
    )


# ---------------------------------------------------------------------------------------------
# Task 6: McNemar


def mcnemar_test(correct_a: Any, correct_b: Any, *, exact: bool | None = None) -> TestResult:
    """McNemar's test of H0: two classifiers scored on the same examples are equally accurate
    (``statsmodels.stats.contingency_tables.mcnemar``).

    Only the discordant examples count: n01 = A right and B wrong, n10 = A wrong and B right.
    Under H0 each discordant example goes either way with probability 1/2.

    Args:
        correct_a, correct_b: per-example correctness (bool or 0/1) of models A and B on the
            same n examples, shape (n,) or (B, n).
        exact: True: exact binomial test, statistic min(n01, n10), p = min(1, 2 P(X <= min))
            for X ~ Binomial(n01 + n10, 1/2). False: chi-square with continuity correction,
            statistic (|n01 - n10| - 1)^2 / (n01 + n10), df = 1. None: exact when
            n01 + n10 < 25, else chi-square (decided per comparison).

    Returns:
        TestResult with statistic, two-sided p-value, df (1.0 for chi-square, nan for exact)
        and estimate = accuracy(B) - accuracy(A) = (n10 - n01) / n. With no discordant pair
        both versions give statistic 0 and p = 1 (statsmodels' chi-square gives inf and 0).
        The corrected statistic is not monotone in |n01 - n10| at the bottom: n01 = n10 gives
        1 / (n01 + n10), a difference of one gives 0 (both far from any rejection).

    Raises:
        ValueError: values other than 0/1, different lengths, NaN.
    """
    raise NotImplementedError(
        "TODO(03.6): count the discordant pairs, exact binomial or corrected chi-square - see"
        " README task 6"
    )


# ---------------------------------------------------------------------------------------------
# Task 7: bootstrap and permutation


def bootstrap_ci(
    data: Any,
    statistic: Callable[..., Any],
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    method: BootstrapMethod = "percentile",
    seed: int | None = None,
) -> BootstrapCI:
    """A two-sided bootstrap confidence interval for ``statistic`` (``scipy.stats.bootstrap``).

    Resample k draws the indices ``rng.integers(0, n, (n_resamples, n))[k]`` with
    ``rng = np.random.default_rng(seed)``, shared by every row of a batch: the draw scipy
    makes, so the interval equals scipy's for the same seed. Consecutive ``rng.integers``
    calls continue one stream, so drawing ``(k, n)`` blocks of resamples one after another
    gives the same numbers (scipy's ``batch=`` argument relies on it).

    Args:
        data: sample, shape (n,), or a batch (B, n); n >= 2.
        statistic: reduces the last axis, called as ``statistic(x, axis=-1)`` (np.mean,
            np.median, ...).
        n_resamples: bootstrap resamples R.
        confidence: coverage of the interval, in (0, 1).
        method: "percentile" (quantiles of the bootstrap distribution) or "bca" (levels
            corrected for bias and skew; nan when the bootstrap distribution is degenerate).
            BCa's acceleration needs the n leave-one-out (jackknife) statistics: for np.mean
            use the closed form mean + (mean - x_i) / (n - 1); for any other statistic
            gather the leave-one-out samples in blocks, never as one (B, n, n - 1) array
            (20 GB at n = 50,000).
        seed: seeds the generator; None draws fresh entropy.

    Memory: besides the data and the (B, n_resamples) bootstrap statistics, scratch stays
    within a fixed budget however large n and n_resamples are (the tests allow 40 MiB): draw
    the indices a block of resamples at a time and gather ``data[:, indices]`` in blocks of
    rows and resamples (at n = 50,000 and 10,000 resamples the indices alone are 4 GB).

    Returns:
        BootstrapCI with low, high, the statistic of the data and the bootstrap standard error.

    Raises:
        ValueError: n < 2, NaN, n_resamples < 1, confidence outside (0, 1), unknown method.
        TypeError: statistic not callable or not reducing the last axis.
    """
    raise NotImplementedError(
        "TODO(03.7): resample with rng.integers(0, n, (n_resamples, n)), percentile and BCa "
        "intervals - see README task 7"
    )


def permutation_test(
    a: Any,
    b: Any,
    *,
    n_resamples: int = 9_999,
    alternative: Alternative = "two-sided",
    seed: int | None = None,
) -> TestResult:
    """Two-sample permutation test of H0: a and b come from one distribution, with the
    statistic mean(a) - mean(b) (``scipy.stats.permutation_test``, independent samples).

    When ``n_resamples`` covers all C(na + nb, na) splits of the pooled data, every split is
    visited once and p = (number at least as extreme) / C (exact). Otherwise resample k uses
    the pooled order ``rng.permutation(na + nb)`` (k-th call, ``rng = default_rng(seed)``,
    shared by a batch's rows: scipy's draws) and p = (count + 1) / (n_resamples + 1).
    "At least as extreme" allows 100 eps relative slack for rounding, as scipy does.

    Scratch memory stays within a fixed budget however large the batch, n_resamples or
    samples (the tests allow 40 MiB): draw the orders a block of resamples at a time and
    gather the shuffled samples in blocks (all R orders take 8 R (na + nb) bytes, their full
    (B, R, na + nb) gather B times that).

    Args:
        a, b: samples, shapes (na,), (nb,) or batches (B, na), (B, nb); na, nb >= 2 (as
            scipy.stats.permutation_test requires).
        n_resamples: random splits to draw (or more, for the exact test).
        alternative: "two-sided" (p = min(1, 2 min(p_less, p_greater))), "less" or "greater".
        seed: seeds the generator; None draws fresh entropy.

    Returns:
        TestResult with statistic mean(a) - mean(b), pvalue, df None, estimate = statistic.

    Raises:
        ValueError: fewer than 2 observations in a sample, NaN or inf, batch mismatch,
            n_resamples < 1, bad alternative.
    """
    raise NotImplementedError(
        "TODO(03.7): null distribution of mean(a) - mean(b) over splits of the pooled data - "
        "see README task 7"
    )


# ---------------------------------------------------------------------------------------------
# Task 8: effect size, power and sample size


def cohens_d(a: Any, b: Any, *, paired: bool = False) -> Values:
    """Cohen's d: the mean difference a - b in standard deviations.

    Args:
        a, b: samples, shape (na,), (nb,) or batches (B, na), (B, nb); at least 2 each.
        paired: False: (mean(a) - mean(b)) / pooled s, pooled s^2 = ((na - 1) s_a^2 +
            (nb - 1) s_b^2) / (na + nb - 2). True: d_z = mean(a - b) / s(a - b), for equal n.

    Returns:
        float, or (B,) array; +-inf or nan when the standard deviation is zero.

    Raises:
        ValueError: fewer than 2 observations, NaN, paired samples of different lengths.
    """
    raise NotImplementedError(
        "TODO(03.8): mean difference over the pooled (or paired) standard deviation - see "
        "README task 8"
    )


def power_ttest(
    effect_size: Any,
    n: Any,
    alpha: float = 0.05,
    *,
    kind: TTestKind = "two-sample",
    alternative: Alternative = "two-sided",
) -> Values:
    """Probability that the t-test rejects H0 at level ``alpha`` when the true standardized
    effect is ``effect_size`` (``statsmodels`` TTestIndPower / TTestPower ``.power``).

    Under the alternative the statistic follows a noncentral t with df = 2n - 2 (two-sample,
    n per group) or n - 1 (one-sample, paired) and noncentrality d sqrt(n / 2) or d sqrt(n).
    Take the upper tail P(T > c) from the noncentral t's survival function (by symmetry,
    ``nctdtr(df, -nc, -c)``), not ``1 - nctdtr(df, nc, c)``: in the direction opposite to the
    effect the power is tiny, and ``1 - cdf`` rounds it to 0.

    Args:
        effect_size: Cohen's d (d_z for paired); numbers or arrays, broadcast together.
        n: observations per group (two-sample) or pairs/observations; > 1, may be fractional.
        alpha: significance level in (0, 1).
        kind: "two-sample", "one-sample" or "paired" (one-sample on the differences).
        alternative: "two-sided", "greater" (effect > 0) or "less".

    Returns:
        float, or an array of the broadcast shape.

    Raises:
        ValueError: n <= 1, NaN, alpha outside (0, 1), unknown kind or alternative.
    """
    raise NotImplementedError(
        "TODO(03.8): power from the noncentral t distribution - see README task 8"
    )


def sample_size_ttest(
    effect_size: Any,
    power: Any = 0.8,
    alpha: float = 0.05,
    *,
    kind: TTestKind = "two-sample",
    alternative: Alternative = "two-sided",
) -> Values:
    """The (fractional) n at which ``power_ttest(effect_size, n, alpha)`` equals ``power``
    (``statsmodels`` ``solve_power(nobs1=None)``); round up for a study plan.

    Solved by bisection on n in (1, inf), all elements at once, to 1e-12 relative.

    Args:
        effect_size: Cohen's d, nonzero (its sign must match a one-sided alternative).
        power: target power in (alpha, 1).
        alpha, kind, alternative: as ``power_ttest``.

    Returns:
        n per group (two-sample) or pairs/observations: float or array.

    Raises:
        ValueError: effect_size 0 or of the wrong sign for a one-sided alternative (no n
            reaches the power), power outside (alpha, 1), NaN, unknown kind or alternative.
    """
    raise NotImplementedError(
        "TODO(03.8): solve power_ttest(effect_size, n) = power for n - see README task 8"
    )


# ---------------------------------------------------------------------------------------------
# Task 9: multiple testing


def adjust_pvalues(pvalues: Any, method: Correction = "holm") -> FloatArray:
    """p-values adjusted for m simultaneous tests (``statsmodels`` ``multipletests``).

    Reject H0_i at level alpha when adjusted p_i <= alpha.

    Args:
        pvalues: shape (m,), or (B, m) for B independent families.
        method: "bonferroni" (m p, controls the family-wise error rate), "holm" (step-down:
            sorted p_(i) times (m - i + 1), made non-decreasing; FWER, never worse than
            Bonferroni) or "bh" (Benjamini-Hochberg step-up: p_(i) m / i, made non-increasing
            from the top; controls the false discovery rate).

    Returns:
        Adjusted p-values capped at 1, in the input's order and shape.

    Raises:
        ValueError: values outside [0, 1], NaN, unknown method.
    """
    raise NotImplementedError(
        "TODO(03.9): Bonferroni, Holm step-down and Benjamini-Hochberg step-up adjustments - "
        "see README task 9"
    )


# ---------------------------------------------------------------------------------------------
# Task 10: the report


def compare_models(
    scores_a: Any, scores_b: Any, *, paired: bool = True, alpha: float = 0.05
) -> ModelComparison:
    """Is model B better than model A? Picks the test, decides at level ``alpha``, and reports
    the difference, its effect size and confidence interval.

    Tests: paired 0/1 scores (per-example correctness) -> McNemar (``mcnemar_test``); other
    paired scores -> paired t-test of B - A; unpaired -> Welch's t-test of B vs A.
    Higher scores are better (negate losses first).

    Args:
        scores_a, scores_b: per-example (paired) or per-run scores, shape (n,) or (B, n).
        paired: whether scores_a[i] and scores_b[i] come from the same example or fold.
        alpha: significance level in (0, 1).

    Returns:
        ModelComparison: decision "B better" / "A better" when p < alpha, else "no significant
        difference"; mean difference B - A; Cohen's d of B over A (d_z when paired); and a
        (1 - alpha) interval for the mean difference that inverts the test that decided, so 0
        lies outside it exactly when the difference is significant:
        - t-tests: the t-interval, as scipy's ``ttest_rel(b, a)`` / ``ttest_ind(b, a,
          equal_var=False)`` ``.confidence_interval``;
        - McNemar: given the m = n01 + n10 discordant examples, the difference is
          (2 pi - 1) m / n with pi = P(a discordant example favours B) estimated by n10 / m;
          map the interval for pi through that line: Clopper-Pearson when McNemar used the
          exact test (``scipy.stats.binomtest(n10, m).proportion_ci(method="exact")``),
          Wilson's score interval with continuity correction when it used the corrected
          chi-square (``method="wilsoncc"``, clipped to [0, 1]). No discordant example:
          [0, 0].

    Raises:
        ValueError: as the underlying tests; alpha outside (0, 1).
    """
    raise NotImplementedError(
        "TODO(03.10): pick McNemar, paired t or Welch t, then decide and report effect size "
        "and CI - see README task 10"
    )
