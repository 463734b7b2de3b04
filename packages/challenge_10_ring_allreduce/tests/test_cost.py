"""Task 5: the alpha-beta cost of a ring all-reduce."""

from __future__ import annotations

import math
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prep.testing import assert_close

pytestmark = pytest.mark.task(5)

ranks = st.integers(1, 1024)
sizes = st.floats(0, 2.0**40, allow_nan=False)
bandwidths = st.floats(1e6, 1e12, allow_nan=False)
latencies = st.floats(0, 1e-3, allow_nan=False)


def test_two_gpus_one_gib(impl: ModuleType) -> None:
    # 2 ranks: 2 steps of S / 2 bytes each -> every rank sends S; at 100 GB/s and 10 us that
    # is 2 * 10 us + 2**30 / 1e11 s.
    cost = impl.ring_cost(2, 2**30, 100e9, 10e-6)
    assert cost.steps == 2
    assert_close(cost.bytes_sent_per_rank, 2**30, rtol=1e-15, task=5, what="bytes per rank")
    assert_close(cost.seconds, 20e-6 + 2**30 / 100e9, rtol=1e-12, task=5, what="seconds")


@given(n=ranks, size=sizes, bw=bandwidths, lat=latencies)
def test_each_rank_sends_two_n_minus_one_over_n_of_the_buffer(
    impl: ModuleType, n: int, size: float, bw: float, lat: float
) -> None:
    cost = impl.ring_cost(n, size, bw, lat)
    assert cost.steps == 2 * (n - 1)
    assert_close(
        cost.bytes_sent_per_rank, 2 * (n - 1) / n * size, rtol=1e-12, task=5,
        what=f"bytes sent per rank, n={n}",
    )  # fmt: skip
    assert_close(
        cost.seconds, 2 * (n - 1) * lat + 2 * (n - 1) / n * size / bw, rtol=1e-12, task=5,
        what=f"alpha-beta time, n={n}",
    )  # fmt: skip


@given(n=st.integers(2, 1024), size=st.floats(1.0, 2.0**40), bw=bandwidths, lat=latencies)
def test_busbw_is_algbw_times_two_n_minus_one_over_n(
    impl: ModuleType, n: int, size: float, bw: float, lat: float
) -> None:
    cost = impl.ring_cost(n, size, bw, lat)
    assert_close(cost.algbw, size / cost.seconds, rtol=1e-12, task=5, what="algbw")
    assert_close(cost.busbw, cost.algbw * 2 * (n - 1) / n, rtol=1e-12, task=5, what="busbw")
    if lat == 0:  # pure bandwidth: the bus bandwidth is the link bandwidth, whatever n
        assert_close(cost.busbw, bw, rtol=1e-12, task=5, what=f"busbw at zero latency, n={n}")


@given(n=st.integers(1, 1023), size=st.floats(1.0, 2.0**40), bw=bandwidths)
def test_bandwidth_term_grows_with_n_but_stays_below_two_s_over_b(
    impl: ModuleType, n: int, size: float, bw: float
) -> None:
    """The 'independent of the number of GPUs' claim: with no latency, time rises toward
    2 S / B and never reaches it, however many ranks join."""
    fewer, more = impl.ring_cost(n, size, bw, 0.0), impl.ring_cost(n + 1, size, bw, 0.0)
    assert fewer.seconds <= more.seconds * (1 + 1e-12)
    assert more.seconds < 2 * size / bw


def test_one_rank_costs_nothing(impl: ModuleType) -> None:
    cost = impl.ring_cost(1, 2**20, 1e9, 1e-5)
    assert (cost.steps, cost.bytes_sent_per_rank, cost.seconds) == (0, 0.0, 0.0)
    assert math.isinf(cost.algbw)
    assert cost.busbw == 0.0


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 1.0, 1.0, 0.0), ValueError, "n_ranks must be >= 1"),
        ((2.0, 1.0, 1.0, 0.0), TypeError, "n_ranks must be an int"),
        ((True, 1.0, 1.0, 0.0), TypeError, "n_ranks must be an int"),
        ((2, -1.0, 1.0, 0.0), ValueError, "n_bytes must be finite and >= 0"),
        ((2, 1.0, 0.0, 0.0), ValueError, "bandwidth must be finite and > 0"),
        ((2, 1.0, math.inf, 0.0), ValueError, "bandwidth must be finite"),
        ((2, 1.0, 1.0, -1e-6), ValueError, "latency must be finite and >= 0"),
        ((2, "1", 1.0, 0.0), TypeError, "n_bytes must be a number"),
    ],
)
def test_bad_arguments_are_rejected(
    impl: ModuleType, args: tuple[object, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        impl.ring_cost(*args)
