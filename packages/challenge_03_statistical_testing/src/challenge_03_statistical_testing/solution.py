"""Solution: every test vectorized over a leading batch axis, so 10,000 comparisons are one call.

The contract of every function (arguments, shapes, results, errors) is the starter's docstring;
the docstrings here say only what this approach does differently.

Statistics and degrees of freedom are computed with numpy along the last axis of a ``(B, n)``
array; tail probabilities come from ``scipy.special`` (``stdtr``, ``chdtrc``, ``bdtr``,
``nctdtr``, ``betaincinv``, ``ndtr``), always from the tail itself, never as ``1 - cdf``. Resampling
draws the same random numbers scipy does for the same seed. Scratch memory is bounded: resample
indices and permutation orders are drawn, and every gather of resamples or leave-one-out
samples runs, in blocks of at most ``_CHUNK_ELEMENTS``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
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

# Elements of float64 scratch (rows x resamples x observations) one block may use: 4 MiB,
# small enough that a gathered block is still in cache when the statistic reduces it.
_CHUNK_ELEMENTS = 2**19
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
    """Row means and unbiased (ddof=1) variances of ``x`` (B, n): two passes, as scipy does
    (one pass, E[x^2] - E[x]^2, cancels catastrophically on data far from 0)."""
    n = x.shape[-1]
    mean = x.mean(axis=-1)  # (B,)
    deviation = x - mean[:, np.newaxis]  # (B, n)
    squares = np.einsum("ij,ij->i", deviation, deviation)  # one pass, no (B, n) temporary
    return mean, squares / (n - 1)


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
    """Batched: two-pass mean and variance along the last axis (contract: starter)."""
    alt = check_alternative(alternative)
    x2, batched = as_sample(x, "x")
    return _one_sample(x2, as_location(popmean, "popmean", x2.shape[0]), alt, batched)


def two_sample_ttest(
    a: Any, b: Any, *, equal_var: bool = False, alternative: Alternative = "two-sided"
) -> TestResult:
    """Batched Student/Welch; Welch's 0/0 df becomes scipy's 1 with ``np.where``
    (contract: starter).
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
    """The batched one-sample test of a - b (contract: starter)."""
    alt = check_alternative(alternative)
    a2, b2, batched = as_pair(a, b, paired=True)
    return _one_sample(a2 - b2, np.zeros(a2.shape[0]), alt, batched)


# ---------------------------------------------------------------------------------------------
# Tasks 4-5: chi-square tests


def chi_square_goodness_of_fit(observed: Any, expected: Any = None, *, ddof: int = 0) -> TestResult:
    """One reduction over the last axis, ``chdtrc`` for the tail (contract: starter)."""
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
    """Batched tables: totals by ``sum(keepdims=True)``, Yates by ``np.where``
    (contract: starter).
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
    """Both versions computed for every row, picked per row with ``np.where``
    (contract: starter).
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


def _blocks(rows: int, cols: int, per_cell: int) -> Iterator[tuple[slice, slice]]:
    """(row slice, column slice) blocks covering a (rows, cols) grid, each holding at most
    ``_CHUNK_ELEMENTS`` elements when every cell costs ``per_cell`` (at least one cell)."""
    row_step = max(1, _CHUNK_ELEMENTS // max(1, cols * per_cell))
    col_step = cols if row_step > 1 else max(1, _CHUNK_ELEMENTS // max(1, per_cell))
    for r in range(0, rows, row_step):
        for c in range(0, cols, col_step):
            yield slice(r, r + row_step), slice(c, c + col_step)


def _index_blocks(count: int, width: int) -> Iterator[slice]:
    """Consecutive slices covering ``count`` index rows of ``width`` entries each, a block
    holding at most ``_CHUNK_ELEMENTS`` entries (one row at least)."""
    step = max(1, _CHUNK_ELEMENTS // max(1, width))
    for start in range(0, count, step):
        yield slice(start, min(count, start + step))


def _gather_statistic(
    statistic: Callable[..., Any], x: FloatArray, indices: npt.NDArray[np.int64]
) -> FloatArray:
    """``statistic(x[:, indices])`` (B, K) for index rows ``indices`` (K, m), in bounded blocks
    (a full (B, K, m) gather is 4 GB at B = 1, K = 10,000, m = 50,000).

    ``np.take(..., axis=1)`` writes each block C-ordered, so the statistic reduces contiguous
    memory; ``x[rows][:, idx]`` lays the batch axis innermost and the reduction then strides.
    """
    out = np.empty((x.shape[0], indices.shape[0]))
    for rows, cols in _blocks(x.shape[0], indices.shape[0], indices.shape[1]):
        block = np.take(x[rows], indices[cols], axis=1)  # (b, k, m), C-ordered
        out[rows, cols] = apply_statistic(statistic, block)
    return out


def _jackknife(statistic: Callable[..., Any], x: FloatArray) -> FloatArray:
    """Leave-one-out statistics (B, n): column i is ``statistic`` of each row without x[:, i].

    The mean has a closed form, O(B n): mean + (mean - x_i) / (n - 1). Anything else gathers
    the leave-one-out samples block by block, O(B n^2) time in O(_CHUNK_ELEMENTS) memory.
    """
    rows, n = x.shape
    if statistic is np.mean:
        mean = x.mean(axis=-1, keepdims=True)  # (B, 1)
        return np.asarray(mean + (mean - x) / (n - 1), dtype=np.float64)  # (B, n)
    out = np.empty((rows, n))
    per_row = max(1, _CHUNK_ELEMENTS // (2 * (n - 1)))  # index block: half the budget
    kept = np.arange(n - 1)  # (n-1,)
    for start in range(0, n, per_row):
        dropped = np.arange(start, min(n, start + per_row))[:, np.newaxis]  # (k, 1)
        leave_one_out = kept + (kept >= dropped)  # (k, n-1): skips position `dropped`
        out[:, start : start + per_row] = _gather_statistic(statistic, x, leave_one_out)
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
    """Indices drawn a block of resamples at a time, each block gathered for every row;
    BCa's jackknife in closed form for the mean (contract: starter).

    Consecutive ``rng.integers`` calls continue one stream, so the blocks are the rows of
    scipy's single (R, n) draw (scipy's own ``batch=`` argument draws the same way), and no
    (R, n) array is ever held: memory is the (B, R) statistics plus bounded scratch.
    """
    x, batched = as_sample(data, "data")  # (B, n)
    check_resamples(n_resamples)
    check_unit_interval(confidence, "confidence")
    check_choice(method, "method", ("percentile", "bca"))
    rng = np.random.default_rng(seed)
    rows, n = x.shape
    theta_hat = apply_statistic(statistic, x)  # (B,)
    theta_b = np.empty((rows, n_resamples))  # (B, R)
    for block in _index_blocks(n_resamples, n):
        indices = rng.integers(0, n, (block.stop - block.start, n))  # (k, n): scipy's next rows
        theta_b[:, block] = _gather_statistic(statistic, x, indices)
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
    """Orders (all splits, or scipy's draws) produced a block at a time and shared by every
    row; each block's null statistics gathered in bounded scratch (contract: starter).
    """
    alt = check_alternative(alternative)
    check_resamples(n_resamples)
    a2, b2, batched = as_pair(a, b, paired=False)
    na = a2.shape[-1]
    pooled = np.concatenate([a2, b2], axis=-1)  # (B, N)
    total = pooled.shape[-1]
    splits = math.comb(total, na)
    exact = n_resamples >= splits
    resamples = splits if exact else n_resamples
    splits_left = _all_splits(total, na)
    rng = np.random.default_rng(seed)
    observed = a2.mean(axis=-1) - b2.mean(axis=-1)  # (B,)
    null = np.empty((pooled.shape[0], resamples))  # (B, R)
    for block in _index_blocks(resamples, total):
        count = block.stop - block.start
        if exact:  # the next `count` splits of the enumeration
            orders = np.array(list(itertools.islice(splits_left, count)), dtype=np.int64)
        else:  # scipy's draws: one permutation of the pooled positions per resample
            orders = np.stack([rng.permutation(total) for _ in range(count)])  # (k, N)
        null[:, block] = _split_statistics(pooled, orders, na)
    pvalue = _null_pvalue(null, observed, 0 if exact else 1, alt)
    return TestResult(
        statistic=unbatch(observed, batched),
        pvalue=unbatch(pvalue, batched),
        df=None,
        alternative=alt,
        estimate=unbatch(observed, batched),
    )


def _null_pvalue(
    null: FloatArray, observed: FloatArray, plus: int, alternative: Alternative
) -> FloatArray:
    """Share of the null statistics (B, R) at least as extreme as ``observed`` (B,), with 100 eps
    relative slack for rounding. ``plus`` = 1 counts the observed split itself (random
    resamples: p >= 1 / (R + 1), never 0), 0 for the exact enumeration, which contains it."""
    resamples = null.shape[-1]
    slack = np.abs(100 * np.finfo(np.float64).eps * observed)[:, np.newaxis]  # rounding ties
    p_less = ((null <= observed[:, np.newaxis] + slack).sum(axis=-1) + plus) / (resamples + plus)
    p_greater = ((null >= observed[:, np.newaxis] - slack).sum(axis=-1) + plus) / (resamples + plus)
    if alternative == "less":
        return np.asarray(p_less, dtype=np.float64)
    if alternative == "greater":
        return np.asarray(p_greater, dtype=np.float64)
    return np.asarray(np.minimum(1.0, 2 * np.minimum(p_less, p_greater)), dtype=np.float64)


def _split_statistics(pooled: FloatArray, orders: npt.NDArray[np.int64], na: int) -> FloatArray:
    """mean(first na) - mean(rest) of each row of ``pooled`` (B, N) under each order (k, N):
    (B, k), gathered in bounded blocks."""
    out = np.empty((pooled.shape[0], orders.shape[0]))
    for rows, cols in _blocks(pooled.shape[0], orders.shape[0], orders.shape[1]):
        shuffled = np.take(pooled[rows], orders[cols], axis=1)  # (b, k, N), C-ordered
        out[rows, cols] = shuffled[..., :na].mean(axis=-1) - shuffled[..., na:].mean(axis=-1)
    return out


def _all_splits(total: int, na: int) -> Iterator[list[int]]:
    """Every way to choose a's na positions out of ``total`` pooled ones, one index order at a
    time (C(total, na) of them): a's positions first, then b's, each increasing."""
    everything = range(total)
    for chosen in itertools.combinations(everything, na):
        yield [*chosen, *(i for i in everything if i not in chosen)]


# ---------------------------------------------------------------------------------------------
# Task 8: effect size, power and sample size


def cohens_d(a: Any, b: Any, *, paired: bool = False) -> Values:
    """Batched, from the same two-pass moments as the t-tests (contract: starter)."""
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
    critical = -special.stdtrit(df, tail)  # t_(1 - tail) > 0
    if alternative in ("two-sided", "greater"):  # reject when T > t_(1 - tail)
        # P(T > c) for T ~ nct(df, nc) is P(-T < -c) with -T ~ nct(df, -nc): the upper tail
        # itself, exact where 1 - cdf would round to 0 (a tiny power for the wrong direction).
        power = power + special.nctdtr(df, -noncentrality, -critical)
    if alternative in ("two-sided", "less"):  # reject when T < -t_(1 - tail)
        power = power + special.nctdtr(df, noncentrality, -critical)
    return np.asarray(power)


def power_ttest(
    effect_size: Any,
    n: Any,
    alpha: float = 0.05,
    *,
    kind: TTestKind = "two-sample",
    alternative: Alternative = "two-sided",
) -> Values:
    """Vectorized over broadcast arguments; the upper tail from ``nctdtr(df, -nc, -c)``
    (contract: starter).
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
    """Bisection on every element at once after bracketing by doubling (contract:
    starter).
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
    """One argsort per family; Holm and BH as running max/min with ``accumulate``
    (contract: starter).
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


def _proportion_interval(
    k: FloatArray, m: FloatArray, level: float, exact: npt.NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    """(1 - level) interval for a binomial proportion from k successes in m > 0 trials, the
    inversion of the test McNemar used: Clopper-Pearson where ``exact`` (the binomial test),
    else Wilson's score interval with continuity correction (the corrected chi-square)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # k = 0 or m: the ends are 0 and 1
        cp_low = np.where(k > 0, special.betaincinv(k, m - k + 1, level / 2), 0.0)
        cp_high = np.where(k < m, special.betaincinv(k + 1, m - k, 1 - level / 2), 1.0)
        z = special.ndtri(1 - level / 2)
        p, q = k / m, 1 - k / m
        denominator = 2 * (m + z * z)
        centre = (2 * m * p + z * z) / denominator
        down = (1 + z * np.sqrt(z * z - 2 - 1 / m + 4 * p * (m * q + 1))) / denominator
        up = (1 + z * np.sqrt(z * z + 2 - 1 / m + 4 * p * (m * q - 1))) / denominator
        wilson_low = np.where(k > 0, np.maximum(centre - down, 0.0), 0.0)
        wilson_high = np.where(k < m, np.minimum(centre + up, 1.0), 1.0)
    return np.where(exact, cp_low, wilson_low), np.where(exact, cp_high, wilson_high)


def _mcnemar_interval(
    a: FloatArray, b: FloatArray, level: float, exact: npt.NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    """Interval (B,) for accuracy(b) - accuracy(a) = (n10 - n01) / n that contains 0 exactly
    when McNemar's test keeps H0: given m = n01 + n10 discordant examples, the difference is
    (2 pi - 1) m / n for pi = P(a discordant example favours b), whose interval inverts the
    test. No discordant example: the difference is 0 for certain, the interval [0, 0]."""
    right_a, right_b = a.astype(np.bool_), b.astype(np.bool_)
    only_b = (~right_a & right_b).sum(axis=-1).astype(np.float64)  # n10, (B,)
    m = (right_a != right_b).sum(axis=-1).astype(np.float64)  # n01 + n10
    pi_low, pi_high = _proportion_interval(only_b, np.maximum(m, 1.0), level, exact)
    scale = m / a.shape[-1]  # 0 when the models never disagree
    return (2 * pi_low - 1) * scale, (2 * pi_high - 1) * scale


def compare_models(
    scores_a: Any, scores_b: Any, *, paired: bool = True, alpha: float = 0.05
) -> ModelComparison:
    """One batched pass: the test of every row at once, and an interval from the same test
    (for McNemar, ``_mcnemar_interval``), so decision and interval never disagree (contract:
    starter)."""
    level = float(check_unit_interval(alpha, "alpha"))
    a2, b2, batched = as_pair(scores_a, scores_b, paired=paired, names=("scores_a", "scores_b"))
    a, b = (a2, b2) if batched else (a2[0], b2[0])
    binary = paired and bool(np.isin(a2, (0.0, 1.0)).all() and np.isin(b2, (0.0, 1.0)).all())
    if binary:
        result, test = mcnemar_test(a, b), "mcnemar"
        estimate = np.atleast_1d(np.asarray(result.estimate, dtype=np.float64))  # (n10 - n01) / n
        exact = np.isnan(np.atleast_1d(np.asarray(result.df, dtype=np.float64)))
        low, high = _mcnemar_interval(a2, b2, level, exact)
    else:
        result = paired_ttest(b, a) if paired else two_sample_ttest(b, a, equal_var=False)
        test = "paired t" if paired else "welch t"
        se = np.atleast_1d(np.asarray(result.standard_error, dtype=np.float64))
        df = np.atleast_1d(np.asarray(result.df, dtype=np.float64))
        estimate = np.atleast_1d(np.asarray(result.estimate, dtype=np.float64))
        low = special.stdtrit(df, level / 2) * se + estimate
        high = special.stdtrit(df, 1 - level / 2) * se + estimate
    better = np.where(estimate > 0, "B better", "A better")
    pvalue = np.atleast_1d(np.asarray(result.pvalue, dtype=np.float64))
    decision = np.where(pvalue < level, better, "no significant difference")
    return ModelComparison(
        test=test,
        result=result,
        decision=decision if batched else str(decision[0]),
        mean_difference=unbatch(estimate, batched),
        effect_size=cohens_d(b, a, paired=paired),
        ci_low=unbatch(np.asarray(low, dtype=np.float64), batched),
        ci_high=unbatch(np.asarray(high, dtype=np.float64), batched),
        alpha=level,
    )
