"""Baseline: one comparison at a time, written as the textbook formula, with a Python loop over
a batch's rows. Correct and readable; slow on 10,000 comparisons (see ``prep bench 03``).

The contract of every function (arguments, shapes, results, errors) is the starter's docstring;
the docstrings here say only what this approach does differently.

Statistics and degrees of freedom are computed by hand on each 1-D sample; tail probabilities
come from ``scipy.special`` (``stdtr``, ``chdtrc``, ``nctdtr``, ``ndtr``); McNemar's exact
p-value is summed from binomial coefficients with Python integers.
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

_MCNEMAR_EXACT_BELOW = 25  # exact binomial test below this many discordant pairs (exact=None)


def _stack(results: list[TestResult], batched: bool) -> TestResult:
    """One comparison's result as it is; a batch's results with each field stacked to (B,)."""
    if not batched:
        return results[0]

    def column(name: str) -> Any:
        values = [getattr(r, name) for r in results]
        return None if values[0] is None else np.array(values, dtype=np.float64)

    return TestResult(
        statistic=column("statistic"),
        pvalue=column("pvalue"),
        df=column("df"),
        alternative=results[0].alternative,
        estimate=column("estimate"),
        standard_error=column("standard_error"),
        expected=column("expected"),
    )


def _batch_values(values: list[float], batched: bool) -> Values:
    return np.array(values, dtype=np.float64) if batched else float(values[0])


# ---------------------------------------------------------------------------------------------
# Tasks 1-3: t-tests


def _t_pvalue(t: float, df: float, alternative: Alternative) -> float:
    """P(T <= t), P(T >= t) or P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    if alternative == "less":
        return float(special.stdtr(df, t))
    if alternative == "greater":
        return float(special.stdtr(df, -t))
    return float(2 * special.stdtr(df, -abs(t)))


def _divide(numerator: float, denominator: float) -> float:
    """numerator / denominator, with x / 0 = +-inf and 0 / 0 = nan as in floating point."""
    if denominator != 0:
        return numerator / denominator
    return math.copysign(math.inf, numerator) if numerator != 0 else math.nan


def _one_sample_row(x: FloatArray, popmean: float, alternative: Alternative) -> TestResult:
    n = len(x)
    mean = float(np.mean(x))
    se = math.sqrt(float(np.var(x, ddof=1)) / n)
    t = _divide(mean - popmean, se)
    df = n - 1.0
    return TestResult(t, _t_pvalue(t, df, alternative), df, alternative, mean, se)


def one_sample_ttest(x: Any, popmean: Any, *, alternative: Alternative = "two-sided") -> TestResult:
    """One row at a time with ``np.mean``/``np.var`` (contract: starter)."""
    alt = check_alternative(alternative)
    x2, batched = as_sample(x, "x")
    means = as_location(popmean, "popmean", x2.shape[0])
    return _stack(
        [_one_sample_row(row, float(m), alt) for row, m in zip(x2, means, strict=True)], batched
    )


def _two_sample_row(
    a: FloatArray, b: FloatArray, equal_var: bool, alternative: Alternative
) -> TestResult:
    na, nb = len(a), len(b)
    var_a, var_b = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
    if equal_var:
        df = na + nb - 2.0
        pooled = ((na - 1) * var_a + (nb - 1) * var_b) / df
        se = math.sqrt(pooled * (1 / na + 1 / nb))
    else:
        vn_a, vn_b = var_a / na, var_b / nb
        denominator = vn_a**2 / (na - 1) + vn_b**2 / (nb - 1)
        # Welch-Satterthwaite; both variances zero leaves it 0/0, where scipy uses df = 1.
        df = (vn_a + vn_b) ** 2 / denominator if denominator > 0 else 1.0
        se = math.sqrt(vn_a + vn_b)
    difference = float(np.mean(a)) - float(np.mean(b))
    t = _divide(difference, se)
    return TestResult(t, _t_pvalue(t, df, alternative), df, alternative, difference, se)


def two_sample_ttest(
    a: Any, b: Any, *, equal_var: bool = False, alternative: Alternative = "two-sided"
) -> TestResult:
    """One row at a time, the textbook formulas (contract: starter)."""
    alt = check_alternative(alternative)
    a2, b2, batched = as_pair(a, b, paired=False)
    rows = [_two_sample_row(ra, rb, equal_var, alt) for ra, rb in zip(a2, b2, strict=True)]
    return _stack(rows, batched)


def paired_ttest(a: Any, b: Any, *, alternative: Alternative = "two-sided") -> TestResult:
    """The one-sample test of each row's a - b (contract: starter)."""
    alt = check_alternative(alternative)
    a2, b2, batched = as_pair(a, b, paired=True)
    return _stack(
        [_one_sample_row(ra - rb, 0.0, alt) for ra, rb in zip(a2, b2, strict=True)], batched
    )


# ---------------------------------------------------------------------------------------------
# Tasks 4-5: chi-square tests


def chi_square_goodness_of_fit(observed: Any, expected: Any = None, *, ddof: int = 0) -> TestResult:
    """A Python sum over each row's categories (contract: starter)."""
    obs, batched = as_counts(observed)
    exp = as_expected_counts(obs, expected)
    k = obs.shape[-1]
    check_ddof(k, ddof)
    df = k - 1.0 - ddof
    results = []
    for o_row, e_row in zip(obs, exp, strict=True):
        stat = sum((o - e) ** 2 / e for o, e in zip(o_row, e_row, strict=True))
        results.append(
            TestResult(stat, float(special.chdtrc(df, stat)), df, "greater", expected=e_row)
        )
    return _stack(results, batched)


def _independence_row(table: FloatArray, correction: bool) -> TestResult:
    rows, cols = table.shape
    row_totals = [sum(table[i]) for i in range(rows)]
    col_totals = [sum(table[:, j]) for j in range(cols)]
    total = sum(row_totals)
    df = (rows - 1) * (cols - 1)
    stat = 0.0
    expected = np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            e = row_totals[i] * col_totals[j] / total
            o = table[i, j]
            if df == 1 and correction:  # Yates: move o towards e by at most 0.5
                o += math.copysign(min(0.5, abs(e - o)), e - o) if e != o else 0.0
            expected[i, j] = e
            stat += (o - e) ** 2 / e
    return TestResult(
        stat, float(special.chdtrc(df, stat)), float(df), "greater", expected=expected
    )


def chi_square_independence(table: Any, *, correction: bool = True) -> TestResult:
    """Two Python loops over each table's cells (contract: starter)."""
    tables, batched = as_table(table)
    return _stack([_independence_row(t, correction) for t in tables], batched)


# ---------------------------------------------------------------------------------------------
# Task 6: McNemar


def _binomial_two_sided(k: int, n: int) -> float:
    """min(1, 2 P(X <= k)) for X ~ Binomial(n, 1/2), summed exactly in integers."""
    return min(1.0, float(2 * sum(math.comb(n, i) for i in range(k + 1)) / (1 << n)))


def _mcnemar_row(
    a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_], exact: bool | None
) -> TestResult:
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)  # n01: A right, B wrong
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)  # n10: A wrong, B right
    discordant = only_a + only_b
    use_exact = discordant < _MCNEMAR_EXACT_BELOW if exact is None else exact
    estimate = (only_b - only_a) / len(a)
    if use_exact:
        smaller = min(only_a, only_b)
        return TestResult(
            float(smaller),
            _binomial_two_sided(smaller, discordant),
            math.nan,
            "two-sided",
            estimate,
        )
    if discordant == 0:  # the models never disagree: nothing against H0
        return TestResult(0.0, 1.0, 1.0, "two-sided", estimate)
    stat = (abs(only_a - only_b) - 1) ** 2 / discordant
    return TestResult(stat, float(special.chdtrc(1, stat)), 1.0, "two-sided", estimate)


def mcnemar_test(correct_a: Any, correct_b: Any, *, exact: bool | None = None) -> TestResult:
    """Counts by Python loops; the exact p-value summed from binomial coefficients in
    integers (contract: starter).
    """
    a, b, batched = as_paired_correctness(correct_a, correct_b)
    return _stack([_mcnemar_row(ra, rb, exact) for ra, rb in zip(a, b, strict=True)], batched)


# ---------------------------------------------------------------------------------------------
# Task 7: bootstrap and permutation


def _quantile(ordered: FloatArray, q: float) -> float:
    """Linear-interpolation quantile (Hyndman-Fan type 7) of the sorted ``ordered``, in H&F's
    notation: j = floor(q R + m), g = q R + m - j with m = 1 - q; (1 - g) x_(j) + g x_(j+1)."""
    if math.isnan(q):
        return math.nan
    size = len(ordered)
    position = q * size + (1 - q)
    j = math.floor(position)  # 1-based
    g = position - j if j >= 1 else 0.0
    lower = ordered[min(max(j - 1, 0), size - 1)]
    upper = ordered[min(max(j, 0), size - 1)]
    return float((1 - g) * lower + g * upper)


def _bca_levels(
    x: FloatArray,
    statistic: Callable[..., Any],
    theta_hat: float,
    theta_b: FloatArray,
    alpha: float,
) -> tuple[float, float]:
    """Efron's bias-corrected and accelerated quantile levels for the two interval ends."""
    resamples = len(theta_b)
    below = sum(1 for t in theta_b if t < theta_hat) + sum(1 for t in theta_b if t <= theta_hat)
    z0 = float(special.ndtri(below / (2 * resamples)))  # bias correction; ties count half
    n = len(x)
    if statistic is np.mean:  # closed form: the mean without x_i, O(n) in all
        total = float(np.sum(x))
        jack = [(total - float(v)) / (n - 1) for v in x]
    else:  # one leave-one-out copy at a time: O(n) memory, O(n^2) time
        jack = [float(apply_statistic(statistic, np.delete(x, i)[np.newaxis])[0]) for i in range(n)]
    jack_mean = sum(jack) / n
    u = [(n - 1) * (jack_mean - j) for j in jack]  # influence values
    num = sum(v**3 for v in u) / n**3
    den = sum(v**2 for v in u) / n**2
    accel = num / (6 * den**1.5) if den > 0 else math.nan  # degenerate: nan interval
    levels = []
    for z in (float(special.ndtri(alpha)), -float(special.ndtri(alpha))):
        shifted = z0 + z
        levels.append(float(special.ndtr(z0 + shifted / (1 - accel * shifted))))
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
    """Each resample and each row in turn: one resample's n indices drawn at a time (the
    next row of scipy's (R, n) draw: consecutive calls continue one stream), so memory is
    O(n) besides the (B, R) statistics; BCa's jackknife one leave-one-out copy at a time,
    closed form for the mean (contract: starter).
    """
    x2, batched = as_sample(data, "data")
    check_resamples(n_resamples)
    check_unit_interval(confidence, "confidence")
    check_choice(method, "method", ("percentile", "bca"))
    rng = np.random.default_rng(seed)
    rows, n = x2.shape
    statistics = np.empty((rows, n_resamples))
    for k in range(n_resamples):
        indices = rng.integers(0, n, n)  # resample k
        for r in range(rows):
            statistics[r, k] = apply_statistic(statistic, x2[r, indices][np.newaxis])[0]
    alpha = (1 - confidence) / 2
    fields: dict[str, list[float]] = {"low": [], "high": [], "estimate": [], "se": []}
    for x, theta_b in zip(x2, statistics, strict=True):
        theta_hat = float(apply_statistic(statistic, x[np.newaxis])[0])
        if method == "bca":
            q_low, q_high = _bca_levels(x, statistic, theta_hat, theta_b, alpha)
        else:
            q_low, q_high = alpha, 1 - alpha
        ordered = np.sort(theta_b)
        fields["low"].append(_quantile(ordered, q_low))
        fields["high"].append(_quantile(ordered, q_high))
        fields["estimate"].append(theta_hat)
        fields["se"].append(float(np.std(theta_b, ddof=1)))
    return BootstrapCI(
        low=_batch_values(fields["low"], batched),
        high=_batch_values(fields["high"], batched),
        estimate=_batch_values(fields["estimate"], batched),
        standard_error=_batch_values(fields["se"], batched),
        confidence=float(confidence),
        method=method,
    )


def _pvalue_from_null(
    null: list[float], observed: float, plus: int, alternative: Alternative
) -> float:
    """Share of null statistics at least as extreme (100 eps relative slack for rounding);
    ``plus`` = 1 counts the observed split itself (random resamples), 0 for the exact test."""
    slack = abs(100 * np.finfo(np.float64).eps * observed)
    p_less = (sum(1 for v in null if v <= observed + slack) + plus) / (len(null) + plus)
    p_greater = (sum(1 for v in null if v >= observed - slack) + plus) / (len(null) + plus)
    if alternative == "less":
        return p_less
    if alternative == "greater":
        return p_greater
    return min(1.0, 2 * min(p_less, p_greater))


def permutation_test(
    a: Any,
    b: Any,
    *,
    n_resamples: int = 9_999,
    alternative: Alternative = "two-sided",
    seed: int | None = None,
) -> TestResult:
    """Each split and each row in turn, one order in memory at a time (contract: starter)."""
    alt = check_alternative(alternative)
    check_resamples(n_resamples)
    a2, b2, batched = as_pair(a, b, paired=False)
    na, total = a2.shape[-1], a2.shape[-1] + b2.shape[-1]
    exact = n_resamples >= math.comb(total, na)
    rng = np.random.default_rng(seed)
    pooled = np.concatenate([a2, b2], axis=-1)
    null: list[list[float]] = [[] for _ in pooled]
    for order in _orders(total, na, exact, n_resamples, rng):
        for r, row in enumerate(pooled):
            shuffled = row[order]
            null[r].append(float(np.mean(shuffled[:na]) - np.mean(shuffled[na:])))
    results = []
    for ra, rb, row_null in zip(a2, b2, null, strict=True):
        observed = float(np.mean(ra) - np.mean(rb))
        pvalue = _pvalue_from_null(row_null, observed, 0 if exact else 1, alt)
        results.append(TestResult(observed, pvalue, None, alt, observed))
    return _stack(results, batched)


def _orders(
    total: int, na: int, exact: bool, n_resamples: int, rng: np.random.Generator
) -> Iterator[npt.NDArray[np.intp]]:
    """Every split once (a's positions, then the rest) for the exact test; else scipy's draws,
    ``rng.permutation(total)`` per resample."""
    if exact:
        for chosen in itertools.combinations(range(total), na):
            yield np.array([*chosen, *(i for i in range(total) if i not in chosen)])
    else:
        for _ in range(n_resamples):
            yield rng.permutation(total)


# ---------------------------------------------------------------------------------------------
# Task 8: effect size, power and sample size


def cohens_d(a: Any, b: Any, *, paired: bool = False) -> Values:
    """One row at a time (contract: starter)."""
    a2, b2, batched = as_pair(a, b, paired=paired)
    values = []
    for ra, rb in zip(a2, b2, strict=True):
        if paired:
            diff = ra - rb
            values.append(_divide(float(np.mean(diff)), math.sqrt(float(np.var(diff, ddof=1)))))
            continue
        na, nb = len(ra), len(rb)
        pooled = ((na - 1) * float(np.var(ra, ddof=1)) + (nb - 1) * float(np.var(rb, ddof=1))) / (
            na + nb - 2
        )
        values.append(_divide(float(np.mean(ra) - np.mean(rb)), math.sqrt(pooled)))
    return _batch_values(values, batched)


def _power_one(
    d: float, n: float, alpha: float, kind: TTestKind, alternative: Alternative
) -> float:
    """Power of one t-test from the noncentral t distribution."""
    if kind == "two-sample":  # n per group: df = 2n - 2, noncentrality d sqrt(n / 2)
        df, noncentrality = 2 * n - 2, d * math.sqrt(1 / (1 / n + 1 / n))
    else:
        df, noncentrality = n - 1, d * math.sqrt(n)
    tail = alpha / 2 if alternative == "two-sided" else alpha
    critical = -float(special.stdtrit(df, tail))  # t_(1 - tail) > 0
    power = 0.0
    if alternative in ("two-sided", "greater"):  # P(T > c) = P(-T < -c), -T ~ nct(df, -nc)
        power += float(special.nctdtr(df, -noncentrality, -critical))
    if alternative in ("two-sided", "less"):  # P(T < -c)
        power += float(special.nctdtr(df, noncentrality, -critical))
    return power


def _elementwise(fn: Callable[..., float], *arrays: FloatArray) -> Values:
    """``fn`` at each element of the broadcast arrays (a float for scalar inputs)."""
    shape = np.broadcast(*arrays).shape
    flat = [np.broadcast_to(a, shape).ravel() for a in arrays]
    out = np.array([fn(*(float(f[i]) for f in flat)) for i in range(math.prod(shape))]).reshape(
        shape
    )
    return float(out) if out.ndim == 0 else out


def power_ttest(
    effect_size: Any,
    n: Any,
    alpha: float = 0.05,
    *,
    kind: TTestKind = "two-sample",
    alternative: Alternative = "two-sided",
) -> Values:
    """One element at a time (contract: starter)."""
    alt = check_alternative(alternative)
    check_choice(kind, "kind", ("two-sample", "one-sample", "paired"))
    d = as_finite(effect_size, "effect_size")
    nobs = as_finite(n, "n")
    if (nobs <= 1).any():
        raise ValueError(f"n must exceed 1 (the t-test needs df > 0); got {n!r}")
    level = check_unit_interval(alpha, "alpha")
    return _elementwise(lambda e, m, a: _power_one(e, m, a, kind, alt), d, nobs, level)


def _sample_size_one(
    d: float, power: float, alpha: float, kind: TTestKind, alternative: Alternative
) -> float:
    if d == 0:
        raise ValueError("effect_size 0 cannot be detected at any sample size")
    if alternative != "two-sided" and (d < 0) == (alternative == "greater"):
        raise ValueError(f"alternative={alternative!r} needs an effect_size of matching sign")
    if power <= alpha:
        raise ValueError("power must exceed alpha (any n reaches power alpha)")
    low, high = 1.0, 2.0
    while _power_one(d, high, alpha, kind, alternative) < power:  # grow until it is enough
        low, high = high, 2 * high
    while high - low > 1e-12 * high:  # bisection: power(low) < power <= power(high)
        middle = (low + high) / 2
        if _power_one(d, middle, alpha, kind, alternative) >= power:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def sample_size_ttest(
    effect_size: Any,
    power: Any = 0.8,
    alpha: float = 0.05,
    *,
    kind: TTestKind = "two-sample",
    alternative: Alternative = "two-sided",
) -> Values:
    """Bracket by doubling, then bisect, one element at a time (contract: starter)."""
    alt = check_alternative(alternative)
    check_choice(kind, "kind", ("two-sample", "one-sample", "paired"))
    d = as_finite(effect_size, "effect_size")
    target = check_unit_interval(power, "power")
    level = check_unit_interval(alpha, "alpha")
    return _elementwise(lambda e, p, a: _sample_size_one(e, p, a, kind, alt), d, target, level)


# ---------------------------------------------------------------------------------------------
# Task 9: multiple testing


def _adjust_row(p: list[float], method: Correction) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = [0.0] * m
    if method == "bonferroni":
        return [min(1.0, v * m) for v in p]
    if method == "holm":  # step down: smallest first, never below the previous
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, p[i] * (m - rank))
            adjusted[i] = min(1.0, running)
        return adjusted
    running = math.inf  # BH, step up: largest first, never above the next
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, p[i] / ((rank + 1) / m))
        adjusted[i] = min(1.0, running)
    return adjusted


def adjust_pvalues(pvalues: Any, method: Correction = "holm") -> FloatArray:
    """Each family sorted and walked in Python (contract: starter)."""
    check_choice(method, "method", ("bonferroni", "holm", "bh"))
    p, batched = as_pvalues(pvalues)
    out = np.array([_adjust_row([float(v) for v in row], method) for row in p])
    return out if batched else out[0]


# ---------------------------------------------------------------------------------------------
# Task 10: the report


def _proportion_interval(k: int, m: int, level: float, exact: bool) -> tuple[float, float]:
    """Interval for a binomial proportion (k of m > 0) that inverts McNemar's test: Clopper-Pearson
    (beta quantiles) for the exact test, Wilson with continuity correction for the chi-square."""
    if exact:
        low = float(special.betaincinv(k, m - k + 1, level / 2)) if k > 0 else 0.0
        high = float(special.betaincinv(k + 1, m - k, 1 - level / 2)) if k < m else 1.0
        return low, high
    z = float(special.ndtri(1 - level / 2))
    p = k / m
    denominator = 2 * (m + z * z)
    centre = (2 * m * p + z * z) / denominator
    low, high = 0.0, 1.0
    if k > 0:
        low = (
            centre
            - (1 + z * math.sqrt(z * z - 2 - 1 / m + 4 * p * (m * (1 - p) + 1))) / denominator
        )
    if k < m:
        high = (
            centre
            + (1 + z * math.sqrt(z * z + 2 - 1 / m + 4 * p * (m * (1 - p) - 1))) / denominator
        )
    return max(low, 0.0), min(high, 1.0)


def _mcnemar_interval(
    a: FloatArray, b: FloatArray, level: float, exact: bool
) -> tuple[float, float]:
    """(n10 - n01) / n = (2 pi - 1) m / n given m discordant examples: map pi's interval."""
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    m = sum(1 for x, y in zip(a, b, strict=True) if x != y)
    if m == 0:  # the models never disagree: the difference is 0 for certain
        return 0.0, 0.0
    low, high = _proportion_interval(only_b, m, level, exact)
    return (2 * low - 1) * m / len(a), (2 * high - 1) * m / len(a)


def compare_models(
    scores_a: Any, scores_b: Any, *, paired: bool = True, alpha: float = 0.05
) -> ModelComparison:
    """One comparison at a time: run the chosen test on the row, then build the interval from
    the same test (t-interval, or ``_mcnemar_interval`` for McNemar) (contract: starter)."""
    level = float(check_unit_interval(alpha, "alpha"))
    a2, b2, batched = as_pair(scores_a, scores_b, paired=paired, names=("scores_a", "scores_b"))
    a, b = (a2, b2) if batched else (a2[0], b2[0])
    binary = paired and all(v in (0.0, 1.0) for v in [*a2.ravel(), *b2.ravel()])
    if binary:
        result, test = mcnemar_test(a, b), "mcnemar"
    else:
        result = paired_ttest(b, a) if paired else two_sample_ttest(b, a, equal_var=False)
        test = "paired t" if paired else "welch t"
    pvalues = np.atleast_1d(np.asarray(result.pvalue, dtype=np.float64))
    dfs = np.atleast_1d(np.asarray(result.df, dtype=np.float64))
    ses = np.atleast_1d(np.asarray(result.standard_error, dtype=np.float64))
    lows, highs, estimates, decisions = [], [], [], []
    for k, (ra, rb) in enumerate(zip(a2, b2, strict=True)):
        estimate = float(np.mean(rb - ra)) if paired else float(np.mean(rb)) - float(np.mean(ra))
        if binary:
            low, high = _mcnemar_interval(ra, rb, level, exact=bool(np.isnan(dfs[k])))
        else:
            low = float(special.stdtrit(dfs[k], level / 2)) * ses[k] + estimate
            high = float(special.stdtrit(dfs[k], 1 - level / 2)) * ses[k] + estimate
        lows.append(low)
        highs.append(high)
        estimates.append(estimate)
        if pvalues[k] < level:
            decisions.append("B better" if estimate > 0 else "A better")
        else:
            decisions.append("no significant difference")
    return ModelComparison(
        test=test,
        result=result,
        decision=np.array(decisions) if batched else decisions[0],
        mean_difference=_batch_values(estimates, batched),
        effect_size=cohens_d(b, a, paired=paired),
        ci_low=_batch_values(lows, batched),
        ci_high=_batch_values(highs, batched),
        alpha=level,
    )
