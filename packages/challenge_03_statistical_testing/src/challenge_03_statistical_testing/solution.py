"""Solution: every test vectorized over a leading batch axis, so 10,000 comparisons are one call.

Statistics and degrees of freedom are computed here with numpy, along the last axis of a
``(B, n)`` array; tail probabilities come from the ``scipy.special`` ufuncs scipy.stats itself
calls (``stdtr``, ``chdtrc``, ``bdtr``, ``nctdtr``, ``ndtr``), so the results agree with
scipy.stats and statsmodels to rounding. Resampling draws the same random numbers scipy does for
the same seed (see ``bootstrap_ci`` and ``permutation_test``), so those agree exactly too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from challenge_03_statistical_testing.inputs import (
    apply_statistic,
    as_counts,
    as_expected_counts,
    as_finite,
    as_location,
    as_pair,
    as_paired_correctness,
    as_pvalues,
    as_sample,
    as_table,
    check_alternative,
    check_choice,
    check_ddof,
    check_resamples,
    check_unit_interval,
    unbatch,
)
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

# Elements of float64 scratch (resamples x observations) one chunk of the batch may use: 64 MiB.
_CHUNK_ELEMENTS = 8 * 2**20
# McNemar's exact binomial test is used below this many discordant pairs (when exact=None).
_MCNEMAR_EXACT_BELOW = 25


# ---------------------------------------------------------------------------------------------
# Tasks 1-3: t-tests


def _t_pvalue(t: FloatArray, df: FloatArray, alternative: Alternative) -> FloatArray:
    """P(T <= t), P(T >= t) or P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    if alternative == "less":
        return np.asarray(special.stdtr(df, t))
    if alternative == "greater":
        return np.asarray(special.stdtr(df, -t))
    return np.asarray(2.0 * special.stdtr(df, -np.abs(t)))


def _mean_var(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Row means and unbiased (ddof=1) variances of ``x`` (B, n): two passes, as scipy does."""
    n = x.shape[-1]
    mean = x.mean(axis=-1)  # (B,)
    deviation = x - mean[:, np.newaxis]  # (B, n)
    return mean, (deviation * deviation).mean(axis=-1) * (n / (n - 1))


def _one_sample(
    x: FloatArray, popmean: FloatArray, alternative: Alternative, batched: bool
) -> TestResult:
    n = x.shape[-1]
    mean, var = _mean_var(x)
    se = np.sqrt(var / n)
    with np.errstate(divide="ignore", invalid="ignore"):  # zero variance: +-inf or nan, as scipy
        t = (mean - popmean) / se
    df = np.full_like(t, n - 1.0)
    return TestResult(
        statistic=unbatch(t, batched),
        pvalue=unbatch(_t_pvalue(t, df, alternative), batched),
        df=unbatch(df, batched),
        alternative=alternative,
        estimate=unbatch(mean, batched),
        standard_error=unbatch(se, batched),
    )


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
    alt = check_alternative(alternative)
    x2, batched = as_sample(x, "x")
    return _one_sample(x2, as_location(popmean, "popmean", x2.shape[0]), alt, batched)


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
    alt = check_alternative(alternative)
    a2, b2, batched = as_pair(a, b, paired=False)
    na, nb = a2.shape[-1], b2.shape[-1]
    mean_a, var_a = _mean_var(a2)
    mean_b, var_b = _mean_var(b2)
    if equal_var:
        df = np.full_like(mean_a, na + nb - 2.0)
        pooled = ((na - 1) * var_a + (nb - 1) * var_b) / df
        se = np.sqrt(pooled * (1.0 / na + 1.0 / nb))
    else:
        vn_a, vn_b = var_a / na, var_b / nb
        with np.errstate(divide="ignore", invalid="ignore"):
            df = (vn_a + vn_b) ** 2 / (vn_a**2 / (na - 1) + vn_b**2 / (nb - 1))
        df = np.where(np.isnan(df), 1.0, df)  # both variances zero: any df will do (scipy: 1)
        se = np.sqrt(vn_a + vn_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (mean_a - mean_b) / se
    return TestResult(
        statistic=unbatch(t, batched),
        pvalue=unbatch(_t_pvalue(t, df, alt), batched),
        df=unbatch(df, batched),
        alternative=alt,
        estimate=unbatch(mean_a - mean_b, batched),
        standard_error=unbatch(se, batched),
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
    alt = check_alternative(alternative)
    a2, b2, batched = as_pair(a, b, paired=True)
    return _one_sample(a2 - b2, np.zeros(a2.shape[0]), alt, batched)


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
    obs, batched = as_counts(observed)
    exp = as_expected_counts(obs, expected)  # (B, k)
    k = obs.shape[-1]
    check_ddof(k, ddof)
    stat = ((obs - exp) ** 2 / exp).sum(axis=-1)  # (B,)
    df = np.full_like(stat, k - 1 - ddof)
    return TestResult(
        statistic=unbatch(stat, batched),
        pvalue=unbatch(np.asarray(special.chdtrc(df, stat)), batched),
        df=unbatch(df, batched),
        alternative="greater",
        expected=exp if batched else exp[0],
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
    obs, batched = as_table(table)  # (B, r, c)
    rows, cols = obs.shape[-2:]
    row_totals = obs.sum(axis=-1, keepdims=True)  # (B, r, 1)
    col_totals = obs.sum(axis=-2, keepdims=True)  # (B, 1, c)
    total = obs.sum(axis=(-2, -1), keepdims=True)  # (B, 1, 1)
    exp = row_totals * col_totals / total  # (B, r, c)
    df = (rows - 1) * (cols - 1)
    if df == 1 and correction:
        diff = exp - obs
        obs = obs + np.sign(diff) * np.minimum(0.5, np.abs(diff))
    stat = ((obs - exp) ** 2 / exp).sum(axis=(-2, -1))  # (B,)
    dfs = np.full_like(stat, df)
    return TestResult(
        statistic=unbatch(stat, batched),
        pvalue=unbatch(np.asarray(special.chdtrc(dfs, stat)), batched),
        df=unbatch(dfs, batched),
        alternative="greater",
        expected=exp if batched else exp[0],
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

    Raises:
        ValueError: values other than 0/1, different lengths, NaN.
    """
    a, b, batched = as_paired_correctness(correct_a, correct_b)  # (B, n) bool
    only_a = (a & ~b).sum(axis=-1)  # n01: A right, B wrong, (B,) int
    only_b = (~a & b).sum(axis=-1)  # n10: A wrong, B right
    discordant = only_a + only_b
    use_exact = (
        discordant < _MCNEMAR_EXACT_BELOW if exact is None else np.full(discordant.shape, exact)
    )
    smaller = np.minimum(only_a, only_b)
    p_exact = np.minimum(1.0, 2.0 * special.bdtr(smaller, discordant, 0.5))
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(discordant > 0, (np.abs(only_a - only_b) - 1.0) ** 2 / discordant, 0.0)
    stat = np.where(use_exact, smaller, chi2)
    pvalue = np.where(use_exact, p_exact, special.chdtrc(1.0, chi2))
    df = np.where(use_exact, np.nan, 1.0)
    return TestResult(
        statistic=unbatch(stat, batched),
        pvalue=unbatch(pvalue, batched),
        df=unbatch(df, batched),
        alternative="two-sided",
        estimate=unbatch((only_b - only_a) / a.shape[-1], batched),
    )


# ---------------------------------------------------------------------------------------------
# Task 7: bootstrap and permutation


def _quantile_sorted(ordered: FloatArray, q: FloatArray) -> FloatArray:
    """Row-wise linear-interpolation quantiles (Hyndman-Fan type 7, numpy's default) of sorted
    rows ``ordered`` (B, R) at one level per row ``q`` (B,); nan where q is nan.

    In H&F's notation: j = floor(q R + m), g = q R + m - j with m = 1 - q, and the quantile is
    (1 - g) x_(j) + g x_(j+1) in 1-based order statistics, clipped to the ends.
    """
    size = ordered.shape[-1]
    missing = np.isnan(q)
    q = np.where(missing, 0.5, q)
    position = q * size + (1 - q)
    upper = position // 1  # (B,) 1-based index of x_(j), 0-based index of x_(j+1)
    lower = upper - 1
    g = np.where(lower < 0, 0.0, position % 1)
    lower_i = np.clip(lower, 0, size - 1).astype(np.int64)[:, np.newaxis]
    upper_i = np.clip(upper, 0, size - 1).astype(np.int64)[:, np.newaxis]
    low = np.take_along_axis(ordered, lower_i, axis=-1)[:, 0]
    high = np.take_along_axis(ordered, upper_i, axis=-1)[:, 0]
    return np.where(missing, np.nan, (1 - g) * low + g * high)


def _jackknife(statistic: Callable[..., Any], x: FloatArray) -> FloatArray:
    """Leave-one-out statistics (B, n): column i is ``statistic`` of each row without x[:, i]."""
    rows, n = x.shape
    keep = ~np.eye(n, dtype=np.bool_)  # row i of the mask drops observation i
    leave_one_out = np.broadcast_to(np.arange(n), (n, n))[keep].reshape(n, n - 1)  # (n, n-1)
    out = np.empty((rows, n))
    step = max(1, _CHUNK_ELEMENTS // (n * (n - 1)))
    for start in range(0, rows, step):
        out[start : start + step] = apply_statistic(
            statistic, x[start : start + step][:, leave_one_out]
        )
    return out


def _bca_levels(
    x: FloatArray,
    statistic: Callable[..., Any],
    theta_hat: FloatArray,
    theta_b: FloatArray,
    alpha: float,
) -> tuple[FloatArray, FloatArray]:
    """Efron's bias-corrected and accelerated quantile levels (B,) for the two interval ends."""
    resamples = theta_b.shape[-1]
    below = (theta_b < theta_hat[:, np.newaxis]).sum(axis=-1)  # ties count half
    at_or_below = (theta_b <= theta_hat[:, np.newaxis]).sum(axis=-1)
    z0 = special.ndtri((below + at_or_below) / (2 * resamples))  # bias correction
    jack = _jackknife(statistic, x)  # (B, n)
    n = float(x.shape[-1])
    u = (n - 1) * (jack.mean(axis=-1, keepdims=True) - jack)  # (B, n) influence values
    with np.errstate(divide="ignore", invalid="ignore"):  # degenerate data: nan interval
        accel = 1 / 6 * ((u**3).sum(axis=-1) / n**3) / ((u**2).sum(axis=-1) / n**2) ** (3 / 2)
        z_alpha = float(special.ndtri(alpha))
        levels = []
        for z in (z_alpha, -z_alpha):
            shifted = z0 + z
            levels.append(np.asarray(special.ndtr(z0 + shifted / (1 - accel * shifted))))
    return levels[0], levels[1]


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
    makes, so the interval equals scipy's for the same seed.

    Args:
        data: sample, shape (n,), or a batch (B, n); n >= 2.
        statistic: reduces the last axis, called as ``statistic(x, axis=-1)`` (np.mean,
            np.median, ...).
        n_resamples: bootstrap resamples R.
        confidence: coverage of the interval, in (0, 1).
        method: "percentile" (quantiles of the bootstrap distribution) or "bca" (levels
            corrected for bias and skew; nan when the bootstrap distribution is degenerate).
        seed: seeds the generator; None draws fresh entropy.

    Returns:
        BootstrapCI with low, high, the statistic of the data and the bootstrap standard error.

    Raises:
        ValueError: n < 2, NaN, n_resamples < 1, confidence outside (0, 1), unknown method.
        TypeError: statistic not callable or not reducing the last axis.
    """
    x, batched = as_sample(data, "data")  # (B, n)
    check_resamples(n_resamples)
    check_unit_interval(confidence, "confidence")
    check_choice(method, "method", ("percentile", "bca"))
    rng = np.random.default_rng(seed)
    rows, n = x.shape
    indices = rng.integers(0, n, (n_resamples, n))  # (R, n)
    theta_hat = apply_statistic(statistic, x)  # (B,)
    theta_b = np.empty((rows, n_resamples))  # (B, R)
    step = max(1, _CHUNK_ELEMENTS // (n_resamples * n))
    for start in range(0, rows, step):
        theta_b[start : start + step] = apply_statistic(
            statistic, x[start : start + step][:, indices]
        )
    alpha = (1 - confidence) / 2
    if method == "bca":
        q_low, q_high = _bca_levels(x, statistic, theta_hat, theta_b, alpha)
    else:
        q_low, q_high = np.full(rows, alpha), np.full(rows, 1 - alpha)
    ordered = np.sort(theta_b, axis=-1)
    return BootstrapCI(
        low=unbatch(_quantile_sorted(ordered, q_low), batched),
        high=unbatch(_quantile_sorted(ordered, q_high), batched),
        estimate=unbatch(theta_hat, batched),
        standard_error=unbatch(theta_b.std(axis=-1, ddof=1), batched),
        confidence=float(confidence),
        method=method,
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

    Args:
        a, b: samples, shapes (na,), (nb,) or batches (B, na), (B, nb); na, nb >= 2.
        n_resamples: random splits to draw (or more, for the exact test).
        alternative: "two-sided" (p = min(1, 2 min(p_less, p_greater))), "less" or "greater".
        seed: seeds the generator; None draws fresh entropy.

    Returns:
        TestResult with statistic mean(a) - mean(b), pvalue, df None, estimate = statistic.

    Raises:
        ValueError: fewer than 2 observations, NaN, batch mismatch, n_resamples < 1, bad
            alternative.
    """
    alt = check_alternative(alternative)
    check_resamples(n_resamples)
    a2, b2, batched = as_pair(a, b, paired=False)
    na = a2.shape[-1]
    pooled = np.concatenate([a2, b2], axis=-1)  # (B, N)
    total = pooled.shape[-1]
    splits = math.comb(total, na)
    exact = n_resamples >= splits
    if exact:
        orders = _all_splits(total, na)  # (C, N)
    else:
        rng = np.random.default_rng(seed)
        orders = np.stack([rng.permutation(total) for _ in range(n_resamples)])  # (R, N)
    observed = a2.mean(axis=-1) - b2.mean(axis=-1)  # (B,)
    resamples = orders.shape[0]
    null = np.empty((pooled.shape[0], resamples))  # (B, R)
    step = max(1, _CHUNK_ELEMENTS // (resamples * total))
    for start in range(0, pooled.shape[0], step):
        shuffled = pooled[start : start + step][:, orders]  # (b, R, N)
        null[start : start + step] = shuffled[..., :na].mean(axis=-1) - shuffled[..., na:].mean(
            axis=-1
        )
    slack = np.abs(100 * np.finfo(np.float64).eps * observed)[:, np.newaxis]  # rounding ties
    plus = 0 if exact else 1
    p_less = ((null <= observed[:, np.newaxis] + slack).sum(axis=-1) + plus) / (resamples + plus)
    p_greater = ((null >= observed[:, np.newaxis] - slack).sum(axis=-1) + plus) / (resamples + plus)
    if alt == "less":
        pvalue = p_less
    elif alt == "greater":
        pvalue = p_greater
    else:
        pvalue = np.minimum(1.0, 2 * np.minimum(p_less, p_greater))
    return TestResult(
        statistic=unbatch(observed, batched),
        pvalue=unbatch(pvalue, batched),
        df=None,
        alternative=alt,
        estimate=unbatch(observed, batched),
    )


def _all_splits(total: int, na: int) -> npt.NDArray[np.int64]:
    """Every way to choose a's na positions out of ``total`` pooled ones, as index orders
    (C(total, na), total): a's positions first, then b's, each increasing."""
    everything = range(total)
    orders = [
        [*chosen, *(i for i in everything if i not in chosen)]
        for chosen in itertools.combinations(everything, na)
    ]
    return np.array(orders, dtype=np.int64).reshape(len(orders), total)


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
    a2, b2, batched = as_pair(a, b, paired=paired)
    if paired:
        mean, var = _mean_var(a2 - b2)
    else:
        na, nb = a2.shape[-1], b2.shape[-1]
        mean_a, var_a = _mean_var(a2)
        mean_b, var_b = _mean_var(b2)
        mean = mean_a - mean_b
        var = ((na - 1) * var_a + (nb - 1) * var_b) / (na + nb - 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return unbatch(mean / np.sqrt(var), batched)


def _shaped(values: FloatArray) -> Values:
    """A 0-d result as a float; anything else as the array it is."""
    return float(values) if values.ndim == 0 else values


def _power(
    effect_size: FloatArray,
    n: FloatArray,
    alpha: FloatArray,
    kind: TTestKind,
    alternative: Alternative,
) -> FloatArray:
    """Power of the t-test from the noncentral t distribution (statsmodels' formula)."""
    if kind == "two-sample":  # n per group; the noncentrality uses n1 n2 / (n1 + n2)
        df = 2 * n - 2
        nobs = 1.0 / (1.0 / n + 1.0 / n)
    else:
        df = n - 1
        nobs = n
    noncentrality = effect_size * np.sqrt(nobs)
    tail = alpha / 2 if alternative == "two-sided" else alpha
    power = np.zeros(np.broadcast(effect_size, n, alpha).shape)
    if alternative in ("two-sided", "greater"):  # reject when T > t_(1 - tail)
        power = power + (1 - special.nctdtr(df, noncentrality, -special.stdtrit(df, tail)))
    if alternative in ("two-sided", "less"):  # reject when T < t_tail
        power = power + special.nctdtr(df, noncentrality, special.stdtrit(df, tail))
    return np.asarray(power)


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
    alt = check_alternative(alternative)
    check_choice(kind, "kind", ("two-sample", "one-sample", "paired"))
    d = as_finite(effect_size, "effect_size")
    nobs = as_finite(n, "n")
    if (nobs <= 1).any():
        raise ValueError(f"n must exceed 1 (the t-test needs df > 0); got {n!r}")
    return _shaped(_power(d, nobs, check_unit_interval(alpha, "alpha"), kind, alt))


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
    alt = check_alternative(alternative)
    check_choice(kind, "kind", ("two-sample", "one-sample", "paired"))
    d = as_finite(effect_size, "effect_size")
    target = check_unit_interval(power, "power")
    level = check_unit_interval(alpha, "alpha")
    _check_reachable(d, target, level, alt)
    shape = np.broadcast(d, target, level).shape
    d, target, level = (np.broadcast_to(v, shape) for v in (d, target, level))
    low, high = np.ones(shape), np.full(shape, 2.0)
    short = _power(d, high, level, kind, alt) < target
    while short.any():  # double the upper end until it reaches the power
        low, high = np.where(short, high, low), np.where(short, 2 * high, high)
        short = _power(d, high, level, kind, alt) < target
    for _ in range(200):  # power(low) < target <= power(high)
        middle = (low + high) / 2
        reached = _power(d, middle, level, kind, alt) >= target
        low, high = np.where(reached, low, middle), np.where(reached, middle, high)
        if ((high - low) <= 1e-12 * high).all():
            break
    return _shaped((low + high) / 2)


def _check_reachable(
    d: FloatArray, power: FloatArray, alpha: FloatArray, alternative: Alternative
) -> None:
    """Raise when no sample size reaches ``power`` (the power tends to 1 only for an effect in
    the alternative's direction, and is at least alpha for any n)."""
    if (d == 0).any():
        raise ValueError("effect_size 0 cannot be detected at any sample size")
    wrong_sign = d < 0 if alternative == "greater" else d > 0
    if alternative != "two-sided" and wrong_sign.any():
        raise ValueError(f"alternative={alternative!r} needs an effect_size of matching sign")
    if (power <= alpha).any():
        raise ValueError("power must exceed alpha (any n reaches power alpha)")


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
    check_choice(method, "method", ("bonferroni", "holm", "bh"))
    p, batched = as_pvalues(pvalues)  # (B, m)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ordered = np.take_along_axis(p, order, axis=-1)  # (B, m) ascending
    if method == "bonferroni":
        adjusted = ordered * float(m)
    elif method == "holm":
        adjusted = np.maximum.accumulate(ordered * np.arange(m, 0, -1), axis=-1)
    else:
        raw = ordered / (np.arange(1, m + 1) / float(m))
        adjusted = np.minimum.accumulate(raw[:, ::-1], axis=-1)[:, ::-1]
    out = np.empty_like(p)
    np.put_along_axis(out, order, np.minimum(adjusted, 1.0), axis=-1)
    return out if batched else out[0]


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
        difference"; mean difference B - A; Cohen's d of B over A (d_z when paired); and the
        (1 - alpha) t-interval for the mean difference (paired or Welch), as scipy's
        ``ttest_rel(b, a)`` / ``ttest_ind(b, a, equal_var=False)`` ``.confidence_interval``.

    Raises:
        ValueError: as the underlying tests; alpha outside (0, 1).
    """
    level = float(check_unit_interval(alpha, "alpha"))
    a2, b2, batched = as_pair(scores_a, scores_b, paired=paired, names=("scores_a", "scores_b"))
    a, b = (a2, b2) if batched else (a2[0], b2[0])
    t_result = paired_ttest(b, a) if paired else two_sample_ttest(b, a, equal_var=False)
    binary = paired and bool(np.isin(a2, (0.0, 1.0)).all() and np.isin(b2, (0.0, 1.0)).all())
    if binary:
        result, test = mcnemar_test(a, b), "mcnemar"
    else:
        result, test = t_result, "paired t" if paired else "welch t"
    estimate = np.asarray(t_result.estimate)  # mean(b) - mean(a): () or (B,)
    se, df = np.asarray(t_result.standard_error), np.asarray(t_result.df)
    low = special.stdtrit(df, level / 2) * se + estimate
    high = special.stdtrit(df, 1 - level / 2) * se + estimate
    better = np.where(estimate > 0, "B better", "A better")
    decision = np.where(np.asarray(result.pvalue) < level, better, "no significant difference")
    return ModelComparison(
        test=test,
        result=result,
        decision=decision if batched else str(decision),
        mean_difference=_shaped(estimate),
        effect_size=cohens_d(b, a, paired=paired),
        ci_low=_shaped(np.asarray(low)),
        ci_high=_shaped(np.asarray(high)),
        alpha=level,
    )
