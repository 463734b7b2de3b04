"""Task 4: the open-loop load generator: Poisson arrivals (scipy's KS test is the oracle),
counts and percentiles, latency from the scheduled arrival, loopback only."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from challenge_04_inference_serving.synthetic import SyntheticModel
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.task(4)
def test_arrivals_are_a_poisson_process(impl: ModuleType) -> None:
    from scipy import stats

    rate, duration = 200.0, 10.0
    times = np.asarray(impl.poisson_arrivals(rate, duration, seed=3))
    gaps = np.diff(np.concatenate([[0.0], times]))
    assert np.all(gaps > 0)
    assert times[-1] < duration
    # the count is Poisson(rate * duration): 2000 +- 4 standard deviations
    assert abs(len(times) - rate * duration) < 4 * math.sqrt(rate * duration)
    # gaps are exponential with mean 1/rate (p below 0.001 would mean they are not)
    assert stats.kstest(gaps, stats.expon(scale=1 / rate).cdf).pvalue > 1e-3
    assert impl.poisson_arrivals(rate, duration, seed=3) == times.tolist()
    assert impl.poisson_arrivals(rate, duration, seed=4) != times.tolist()


@pytest.mark.task(4)
@settings(max_examples=20)
@given(rate=st.floats(0.5, 500), duration=st.floats(0.01, 5), seed=st.integers(0, 2**16))
def test_arrivals_are_sorted_and_inside_the_window(
    impl: ModuleType, rate: float, duration: float, seed: int
) -> None:
    times = impl.poisson_arrivals(rate, duration, seed=seed)
    assert times == sorted(times)
    assert all(0 <= t < duration for t in times)


@pytest.mark.task(4)
@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"rate": 0, "duration_s": 1}, "rate"),
        ({"rate": 10, "duration_s": -1}, "duration_s"),
        ({"rate": math.nan, "duration_s": 1}, "rate"),
        ({"rate": 1e6, "duration_s": 60}, "MAX_REQUESTS|at most"),
    ],
)
def test_bad_schedules_are_named(impl: ModuleType, kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        impl.poisson_arrivals(**kwargs)


@pytest.mark.task(4)
@pytest.mark.parametrize(
    ("url", "kwargs", "error", "name"),
    [
        ("http://10.1.2.3:8000/embed", {}, ValueError, "url"),
        ("http://example.com/embed", {}, ValueError, "url"),
        ("ftp://127.0.0.1/embed", {}, ValueError, "url"),
        ("http://127.0.0.1:9/embed", {"rate": -5}, ValueError, "rate"),
        ("http://127.0.0.1:9/embed", {"concurrency": 0}, ValueError, "concurrency"),
        ("http://127.0.0.1:9/embed", {"texts": "one string"}, TypeError, "texts"),
    ],
)
def test_bad_load_tests_are_refused_before_sending(
    impl: ModuleType,
    arun: Any,
    url: str,
    kwargs: dict[str, Any],
    error: type[Exception],
    name: str,
) -> None:
    with pytest.raises(error, match=name):
        arun(impl.load_test(url, **{"rate": 10, "duration_s": 0.1, **kwargs}))


@pytest.mark.task(4)
def test_report_counts_every_arrival_and_its_percentiles(
    impl: ModuleType, serve_app: Callable[..., Any], arun: Any
) -> None:
    server = serve_app(SyntheticModel(base_ms=5), max_batch=8, max_wait_ms=2)
    report = arun(impl.load_test(f"{server.url}/embed", rate=60, duration_s=0.5, seed=1))
    expected = len(impl.poisson_arrivals(60, 0.5, seed=1))
    assert report.sent == expected
    assert report.ok == expected
    assert report.errors == {}
    assert len(report.latencies_s) == report.ok
    assert min(report.latencies_s) >= 0.005  # no answer comes before the model's 5 ms
    p50, p90, p99 = np.percentile(report.latencies_s, [50, 90, 99])
    assert (report.p50_s, report.p90_s, report.p99_s) == pytest.approx((p50, p90, p99))
    assert report.throughput == pytest.approx(report.ok / report.elapsed_s)


@pytest.mark.task(4)
def test_latency_counts_the_wait_for_a_free_slot(
    impl: ModuleType, serve_app: Callable[..., Any], arun: Any
) -> None:
    """One slot, a 100 ms server and about 12 arrivals in 0.3 s: requests queue behind each
    other, and the last answers over a second after the first arrival. Timed from the send, every
    latency would look like 0.1 s (coordinated omission)."""
    server = serve_app(SyntheticModel(base_ms=100), max_batch=1, max_wait_ms=0, max_queue=64)
    report = arun(
        impl.load_test(f"{server.url}/embed", rate=40, duration_s=0.3, concurrency=1, seed=2)
    )
    assert report.ok == report.sent >= 6
    # the k-th answer cannot come before (k + 1) * 100 ms; its arrival was before 0.3 s
    assert max(report.latencies_s) >= report.sent * 0.1 - 0.3
    assert report.p99_s > 3 * 0.1


@pytest.mark.task(4)
def test_rejections_are_counted_as_errors(
    impl: ModuleType, serve_app: Callable[..., Any], arun: Any
) -> None:
    server = serve_app(SyntheticModel(base_ms=200), max_batch=1, max_wait_ms=0, max_queue=1)
    report = arun(impl.load_test(f"{server.url}/embed", rate=100, duration_s=0.2, seed=5))
    assert report.errors.get("429", 0) >= 1
    assert report.ok + sum(report.errors.values()) == report.sent
