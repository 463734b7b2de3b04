"""Task 7: bootstrap confidence intervals and permutation tests, against scipy.stats with the
same seed (both draw the same random numbers, so the results agree to rounding)."""

from __future__ import annotations

import gc
import tracemalloc
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

RTOL = 1e-10
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
STATISTICS: dict[str, Callable[..., Any]] = {"mean": np.mean, "median": np.median, "std": np.std}

values = st.one_of(
    st.floats(-100, 100, allow_nan=False, allow_subnormal=False),
    st.integers(-5, 5).map(float),  # ties: a degenerate bootstrap or tied null statistics
)


def scipy_bootstrap(data: Any, statistic: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():  # scipy warns where BCa is undefined; both sides give nan
        warnings.simplefilter("ignore")
        return scipy.stats.bootstrap((data,), statistic, axis=-1, **kwargs)


def mean_difference(x: Any, y: Any, axis: int) -> Any:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _peak_bytes(call: Callable[[], object]) -> int:
    """Peak bytes allocated while ``call`` runs (numpy reports its buffers to tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# What a bootstrap or permutation test may allocate besides its (B, R) statistics: a fixed
# budget, whatever n and R are (the (R, n) resample indices and their gather are not in it).
SCRATCH = 40 * 2**20


@pytest.mark.task(7)
def test_bca_of_the_mean_at_n_50000_stays_in_bounded_memory(impl: ModuleType) -> None:
    """Evaluation sets have 10^4-10^5 examples. At n = 50,000, BCa's jackknife as one
    (n, n - 1) gather is 20 GB (the mean's leave-one-out values have a closed form), and the
    (R, n) resample indices are 48 MB for R = 120 alone: draw them a block of resamples at a
    time. Consecutive ``rng.integers`` calls continue one stream, so the bootstrap
    distribution is still scipy's (its standard error shows it)."""
    n, resamples = 50_000, 120
    data = np.random.default_rng(5).exponential(1.0, size=n)
    result: list[Any] = []
    peak = _peak_bytes(
        lambda: result.append(
            impl.bootstrap_ci(data, np.mean, n_resamples=resamples, method="bca", seed=0)
        )
    )
    assert peak < SCRATCH, (
        f"BCa at n={n:,} with {resamples} resamples peaked at {peak / 2**20:.0f} MiB (bound "
        f"{SCRATCH / 2**20:.0f} MiB): draw and gather the resamples in blocks - README task 7"
    )
    reference = scipy_bootstrap(data, np.mean, n_resamples=resamples, method="percentile", rng=0)
    assert_close(
        result[0].standard_error,
        reference.standard_error,
        rtol=RTOL,
        task=7,
        what="bootstrap standard error (scipy's draws, in blocks)",
    )


@pytest.mark.task(7)
@SETTINGS
@given(
    data=st.lists(values, min_size=2, max_size=15).map(np.array),
    statistic=st.sampled_from(sorted(STATISTICS)),
    method=st.sampled_from(["percentile", "bca"]),
    n_resamples=st.sampled_from([99, 400]),
    confidence=st.sampled_from([0.9, 0.95]),
    seed=st.integers(0, 2**32 - 1),
)
def test_bootstrap_matches_scipy(
    impl: ModuleType,
    data: Any,
    statistic: str,
    method: str,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> None:
    fn = STATISTICS[statistic]
    result = impl.bootstrap_ci(
        data, fn, n_resamples=n_resamples, confidence=confidence, method=method, seed=seed
    )
    reference = scipy_bootstrap(
        data, fn, n_resamples=n_resamples, confidence_level=confidence, method=method, rng=seed
    )
    ci = reference.confidence_interval
    assert_close(result.low, ci.low, rtol=RTOL, task=7, what=f"{method} interval low end")
    assert_close(result.high, ci.high, rtol=RTOL, task=7, what=f"{method} interval high end")
    assert_close(
        result.standard_error, reference.standard_error, rtol=RTOL, task=7, what="standard error"
    )
    assert_close(result.estimate, fn(data), rtol=RTOL, task=7, what="estimate")


@pytest.mark.task(7)
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_batch_matches_scipy(impl: ModuleType, method: str) -> None:
    rng = np.random.default_rng(7)
    data = rng.exponential(2.0, size=(12, 30))
    result = impl.bootstrap_ci(data, np.mean, n_resamples=500, method=method, seed=11)
    reference = scipy_bootstrap(data, np.mean, n_resamples=500, method=method, rng=11)
    assert np.shape(result.low) == (12,)
    assert_close(result.low, reference.confidence_interval.low, rtol=RTOL, task=7, what="low ends")
    assert_close(
        result.high, reference.confidence_interval.high, rtol=RTOL, task=7, what="high ends"
    )


@pytest.mark.task(7)
def test_bootstrap_interval_covers_the_mean(impl: ModuleType) -> None:
    """A sanity check beside the oracle: about 95% of intervals hold the true mean."""
    rng = np.random.default_rng(8)
    data = rng.normal(1.0, 2.0, size=(200, 40))
    result = impl.bootstrap_ci(data, np.mean, n_resamples=150, seed=0)
    covered = np.mean((np.asarray(result.low) < 1.0) & (np.asarray(result.high) > 1.0))
    assert 0.88 < covered < 0.99  # binomial(200, ~0.94) stays in here with room to spare


@pytest.mark.task(7)
@SETTINGS
@given(
    a=st.lists(values, min_size=2, max_size=6).map(np.array),
    b=st.lists(values, min_size=2, max_size=6).map(np.array),
    n_resamples=st.sampled_from([30, 200, 1000]),  # exact enumeration when >= C(na + nb, na)
    alternative=st.sampled_from(["two-sided", "less", "greater"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_permutation_matches_scipy(
    impl: ModuleType, a: Any, b: Any, n_resamples: int, alternative: str, seed: int
) -> None:
    result = impl.permutation_test(
        a, b, n_resamples=n_resamples, alternative=alternative, seed=seed
    )
    reference = scipy.stats.permutation_test(
        (a, b), mean_difference, n_resamples=n_resamples, alternative=alternative, rng=seed
    )
    assert_close(result.statistic, reference.statistic, rtol=RTOL, task=7, what="statistic")
    assert_close(result.pvalue, reference.pvalue, rtol=RTOL, task=7, what="p-value")


@pytest.mark.task(7)
def test_permutation_batch_matches_scipy(impl: ModuleType) -> None:
    rng = np.random.default_rng(9)
    a = rng.normal(0.0, 1.0, size=(16, 12))
    b = rng.normal(0.7, 1.0, size=(16, 10))
    result = impl.permutation_test(a, b, n_resamples=999, alternative="less", seed=3)
    reference = scipy.stats.permutation_test(
        (a, b), mean_difference, n_resamples=999, alternative="less", rng=3, axis=-1
    )
    assert_close(result.pvalue, reference.pvalue, rtol=RTOL, task=7, what="batched p-values")


@pytest.mark.task(7)
def test_permutation_exact_p_value_by_hand(impl: ModuleType) -> None:
    """a = [3, 4], b = [1, 2]: of the C(4, 2) = 6 splits only a's own has mean difference >= 2."""
    result = impl.permutation_test([3.0, 4.0], [1.0, 2.0], n_resamples=100, alternative="greater")
    assert_close(result.pvalue, 1 / 6, rtol=RTOL, task=7, what="exact one-sided p-value")


@pytest.mark.task(7)
def test_permutation_test_of_large_samples_stays_in_bounded_memory(impl: ModuleType) -> None:
    """Two samples of 1,500 and 2,000 random splits: the (R, N) orders alone are 48 MB and
    their gather as much again. Draw and gather them a block of resamples at a time."""
    rng = np.random.default_rng(12)
    a, b = rng.normal(0.0, 1.0, 1_500), rng.normal(0.05, 1.0, 1_500)
    result: list[Any] = []
    peak = _peak_bytes(
        lambda: result.append(impl.permutation_test(a, b, n_resamples=2_000, seed=4))
    )
    assert peak < SCRATCH, (
        f"permutation test of 2 x 1,500 with 2,000 resamples peaked at {peak / 2**20:.0f} MiB "
        f"(bound {SCRATCH / 2**20:.0f} MiB): draw and gather the splits in blocks - README task 7"
    )
    reference = scipy.stats.permutation_test((a, b), mean_difference, n_resamples=2_000, rng=4)
    assert_close(result[0].pvalue, reference.pvalue, rtol=RTOL, task=7, what="p-value")


@pytest.mark.task(7)
def test_bca_of_another_statistic_gathers_in_blocks(impl: ModuleType) -> None:
    """Any statistic but the mean needs the real leave-one-out samples: in blocks, not at once
    (one (n, n - 1) gather is 32 MB here, its int64 index array as much again), and still
    equal to scipy's interval."""
    data = np.random.default_rng(6).normal(size=2_000)
    result: list[Any] = []
    peak = _peak_bytes(
        lambda: result.append(
            impl.bootstrap_ci(data, np.median, n_resamples=20, method="bca", seed=1)
        )
    )
    assert peak < SCRATCH, f"peaked at {peak / 2**20:.0f} MiB (bound {SCRATCH / 2**20:.0f} MiB)"
    reference = scipy_bootstrap(data, np.median, n_resamples=20, method="bca", rng=1)
    ci = reference.confidence_interval
    assert_close([result[0].low, result[0].high], [ci.low, ci.high], rtol=RTOL, task=7)
