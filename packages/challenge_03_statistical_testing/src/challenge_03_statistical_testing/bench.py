"""Benchmarks for ``prep bench 03``: many comparisons at once, as when 10,000 metrics (or
checkpoints, or slices of a test set) are compared between two models.

Each workload times starter, baseline (a Python loop over the batch) and solution (one batched
call) against the libraries: scipy's own batched call (``axis=-1``) where scipy has one - the
reference row, the speed to match - and a Python loop over scipy.stats / statsmodels (the
"library loop" row, what one writes without batching, the reference where scipy has no batched
call). Every timed result is re-checked against scipy or statsmodels to 1e-10.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any
from unittest import mock

import numpy as np
import scipy.stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from prep import bench
from prep.testing import assert_close

PACKAGE = "challenge_03_statistical_testing"
LIBRARY_LOOP = "library loop"
SCIPY_BATCHED = "scipy batched"


def _checker(reference: Any) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        assert_close(value, reference, rtol=1e-10, what=f"{name} p-values")

    return check


def _bound(call: Callable[[Any], Any], module: Any) -> Callable[[], object]:
    return lambda: call(module)


def _workload(
    name: str,
    call: Callable[[Any], Any],
    library: Callable[[], Any],
    scipy_batched: Callable[[], Any] | None = None,
) -> bench.Workload:
    """Candidates in table order: the three implementations, then the library rows."""
    candidates = {
        impl: _bound(call, module) for impl, module in bench.implementations(PACKAGE).items()
    }
    candidates[LIBRARY_LOOP] = library
    if scipy_batched is not None:
        candidates[SCIPY_BATCHED] = scipy_batched
    reference = LIBRARY_LOOP if scipy_batched is None else SCIPY_BATCHED
    return bench.Workload(
        name=name,
        candidates=candidates,
        check=_checker(library()),
        reference=reference,
        library=reference,
        device="cpu",
    )


def _mcnemar_loop(a: Any, b: Any) -> Any:
    pvalues = []
    for ra, rb in zip(a, b, strict=True):
        n01, n10 = int((ra & ~rb).sum()), int((~ra & rb).sum())
        table = [[int((ra & rb).sum()), n01], [n10, int((~ra & ~rb).sum())]]
        pvalues.append(mcnemar(table, exact=n01 + n10 < 25).pvalue)
    return np.array(pvalues)


def _holm_loop(p: Any) -> Any:
    with mock.patch("gc.collect"):  # statsmodels' Holm collects garbage on every call
        return np.array([multipletests(row, method="holm")[1] for row in p])


def _bootstrap_batched(data: Any, resamples: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = scipy.stats.bootstrap(
            (data,), np.mean, n_resamples=resamples, method="bca", rng=0, axis=-1
        )
    return np.stack([result.confidence_interval.low, result.confidence_interval.high])


def workloads(quick: bool = False) -> list[bench.Workload]:
    """Batches of comparisons: 10,000 of n = 100 (1,000 with ``quick``)."""
    rng = np.random.default_rng(0)
    count, n = (1_000, 100) if quick else (10_000, 100)
    a = rng.normal(0.0, 1.0, size=(count, n))
    b = rng.normal(0.1, 1.3, size=(count, n))
    paired_b = a + rng.normal(0.05, 0.5, size=(count, n))
    correct_a = rng.random((count, n)) < 0.85
    correct_b = np.where(rng.random((count, n)) < 0.2, ~correct_a, correct_a)
    tables = rng.integers(5, 60, size=(count, 2, 2)).astype(np.float64)
    pvalues = rng.random((count, 20)) ** 2
    boot_rows, resamples = (20, 1_000) if quick else (100, 2_000)
    boot = rng.exponential(1.0, size=(boot_rows, n))

    def boot_call(module: Any) -> Any:
        ci = module.bootstrap_ci(boot, np.mean, n_resamples=resamples, method="bca", seed=0)
        return np.stack([ci.low, ci.high])

    def boot_loop() -> Any:
        return np.stack([_bootstrap_batched(row, resamples) for row in boot], axis=-1)

    return [
        _workload(
            f"Welch t-test, {count:,} comparisons of n={n} vs n={n}",
            lambda m: m.two_sample_ttest(a, b).pvalue,
            lambda: np.array(
                [
                    scipy.stats.ttest_ind(x, y, equal_var=False).pvalue
                    for x, y in zip(a, b, strict=True)
                ]
            ),
            lambda: scipy.stats.ttest_ind(a, b, equal_var=False, axis=-1).pvalue,
        ),
        _workload(
            f"paired t-test, {count:,} comparisons of n={n} pairs",
            lambda m: m.paired_ttest(paired_b, a).pvalue,
            lambda: np.array(
                [scipy.stats.ttest_rel(x, y).pvalue for x, y in zip(paired_b, a, strict=True)]
            ),
            lambda: scipy.stats.ttest_rel(paired_b, a, axis=-1).pvalue,
        ),
        _workload(
            f"McNemar, {count:,} comparisons of n={n} examples",
            lambda m: m.mcnemar_test(correct_a, correct_b).pvalue,
            lambda: _mcnemar_loop(correct_a, correct_b),
        ),
        _workload(
            f"chi-square independence (Yates), {count:,} 2x2 tables",
            lambda m: m.chi_square_independence(tables).pvalue,
            lambda: np.array([scipy.stats.chi2_contingency(t).pvalue for t in tables]),
        ),
        _workload(
            f"Holm adjustment, {count:,} families of 20 p-values",
            lambda m: m.adjust_pvalues(pvalues, "holm"),
            lambda: _holm_loop(pvalues),
        ),
        _workload(
            f"BCa bootstrap CI of the mean, {boot_rows} samples of n={n}, {resamples:,} resamples",
            boot_call,
            boot_loop,
            lambda: _bootstrap_batched(boot, resamples),
        ),
    ]


def report(rows: list[bench.Row], quick: bool = False) -> dict[str, Any]:
    """Print and return the solution's speed against the library rows, per workload."""
    against: dict[str, dict[str, float]] = {}
    for workload in dict.fromkeys(r.workload for r in rows):
        timed = {
            r.candidate: r.timing for r in rows if r.workload == workload and r.timing is not None
        }
        if "solution" not in timed:
            continue
        ratios = {
            name: timed[name].median / timed["solution"].median
            for name in (SCIPY_BATCHED, LIBRARY_LOOP)
            if name in timed
        }
        against[workload] = ratios
        print(f"{workload}: solution " + ", ".join(f"{r:.2f}x {n}" for n, r in ratios.items()))
    return {"solution_speed_vs_library": against}
