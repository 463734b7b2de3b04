"""Task 1 (and the batcher's part of task 3): coalescing, order, back-pressure, timeouts,
cancellation, model errors, draining. A SyntheticModel stands in for the model, so every
check is about the batcher; timing margins are generous (the machine may be busy)."""

from __future__ import annotations

import asyncio
import time
from types import ModuleType
from typing import Any

import pytest
from challenge_04_inference_serving.records import BatchFailed, QueueFull, ShuttingDown
from challenge_04_inference_serving.synthetic import SyntheticModel, synthetic_vector
from hypothesis import given, settings
from hypothesis import strategies as st


def batcher(impl: ModuleType, model: Any, **kwargs: Any) -> Any:
    return impl.DynamicBatcher(model, **kwargs)


@pytest.mark.task(1)
def test_a_lone_request_runs_after_max_wait(impl: ModuleType, arun: Any) -> None:
    """At low load nobody comes: the first item must not wait for a full batch."""
    model = SyntheticModel()

    async def body() -> float:
        b = batcher(impl, model, max_batch=8, max_wait_ms=20)
        start = time.perf_counter()
        assert await asyncio.wait_for(b.submit("alone"), 3.0) == synthetic_vector("alone")
        return time.perf_counter() - start

    assert arun(body()) < 3.0
    assert model.batches == [["alone"]]


@pytest.mark.task(1)
@settings(max_examples=10)  # each example starts an event loop and a model thread
@given(
    texts=st.lists(st.text(max_size=12), min_size=1, max_size=24),
    max_batch=st.integers(1, 8),
)
def test_each_caller_gets_its_own_result(
    impl: ModuleType, arun: Any, texts: list[str], max_batch: int
) -> None:
    model = SyntheticModel()

    async def body() -> list[Any]:
        b = batcher(impl, model, max_batch=max_batch, max_wait_ms=2, max_queue=64)
        return list(await asyncio.gather(*(b.submit(t) for t in texts)))

    assert arun(body()) == [synthetic_vector(t) for t in texts]
    assert all(1 <= len(batch) <= max_batch for batch in model.batches)
    assert sorted(t for batch in model.batches for t in batch) == sorted(texts)


@pytest.mark.task(1)
def test_concurrent_requests_share_batches(impl: ModuleType, arun: Any) -> None:
    model = SyntheticModel(base_ms=30)

    async def body() -> None:
        b = batcher(impl, model, max_batch=8, max_wait_ms=200, max_queue=64)
        texts = [f"text {k}" for k in range(16)]
        assert await asyncio.gather(*(b.submit(t) for t in texts)) == [
            synthetic_vector(t) for t in texts
        ]

    arun(body())
    # 16 items queued at once with room to wait: two full batches (a slow start may split one)
    assert [len(batch) for batch in model.batches][:1] == [8]
    assert len(model.batches) <= 3


@pytest.mark.task(1)
def test_submit_many_keeps_order_and_is_all_or_nothing(impl: ModuleType, arun: Any) -> None:
    model = SyntheticModel()

    async def body() -> None:
        b = batcher(impl, model, max_batch=2, max_wait_ms=1, max_queue=3)
        texts = ["a", "bbb", "cc"]
        assert await b.submit_many(texts) == [synthetic_vector(t) for t in texts]
        with pytest.raises(QueueFull):
            await b.submit_many(["w", "x", "y", "z"])
        assert b.queue_depth == 0

    arun(body())


@pytest.mark.task(1)
def test_full_queue_rejects_at_once_and_keeps_serving(impl: ModuleType, arun: Any) -> None:
    model = SyntheticModel(base_ms=300)

    async def body() -> None:
        b = batcher(impl, model, max_batch=1, max_wait_ms=0, max_queue=2)
        running = asyncio.ensure_future(b.submit("running"))
        await asyncio.sleep(0.1)  # the worker has taken it: the queue is empty again
        queued = [asyncio.ensure_future(b.submit(t)) for t in ("q1", "q2")]
        await asyncio.sleep(0)
        assert b.queue_depth == 2
        start = time.perf_counter()
        with pytest.raises(QueueFull):
            await b.submit("one too many")
        assert time.perf_counter() - start < 0.25, "a full queue must reject, not wait"
        results = await asyncio.gather(running, *queued)
        assert results == [synthetic_vector(t) for t in ("running", "q1", "q2")]
        assert await b.submit("after") == synthetic_vector("after")

    arun(body())


@pytest.mark.task(1)
def test_callers_that_give_up_do_not_break_their_batch(impl: ModuleType, arun: Any) -> None:
    """A timed-out or cancelled caller is skipped if queued and ignored if its batch runs;
    the others of the batch get their results and the batcher goes on."""
    model = SyntheticModel(base_ms=200)

    async def body() -> None:
        b = batcher(impl, model, max_batch=4, max_wait_ms=30, max_queue=16)
        impatient = asyncio.ensure_future(b.submit("impatient", timeout_s=0.05))
        cancelled = asyncio.ensure_future(b.submit("cancelled"))
        patient = asyncio.ensure_future(b.submit("patient"))
        await asyncio.sleep(0.1)  # all three are in the running batch now
        cancelled.cancel()
        with pytest.raises(TimeoutError):
            await impatient
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert await patient == synthetic_vector("patient")
        # queued, then abandoned before it runs: never reaches the model
        blocker = asyncio.ensure_future(b.submit("blocker"))
        await asyncio.sleep(0.1)
        with pytest.raises(TimeoutError):
            await b.submit("abandoned", timeout_s=0.05)
        assert await blocker == synthetic_vector("blocker")
        assert await b.submit("later") == synthetic_vector("later")

    arun(body())
    assert not any("abandoned" in batch for batch in model.batches)


@pytest.mark.task(1)
def test_a_model_error_fails_only_its_batch(impl: ModuleType, arun: Any) -> None:
    model = SyntheticModel(base_ms=20, fail_on="boom")

    async def body() -> None:
        b = batcher(impl, model, max_batch=4, max_wait_ms=50, max_queue=16)
        outcomes = await asyncio.gather(
            b.submit("boom"), b.submit("bystander"), return_exceptions=True
        )
        assert all(isinstance(o, BatchFailed) for o in outcomes), outcomes
        assert isinstance(outcomes[0], BaseException)
        assert isinstance(outcomes[0].__cause__, RuntimeError)
        assert await asyncio.wait_for(b.submit("next"), 3.0) == synthetic_vector("next")

    arun(body())


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"max_batch": 0}, ValueError, "max_batch"),
        ({"max_batch": 2.5}, ValueError, "max_batch"),
        ({"max_wait_ms": -1}, ValueError, "max_wait_ms"),
        ({"max_wait_ms": float("inf")}, ValueError, "max_wait_ms"),
        ({"max_queue": 0}, ValueError, "max_queue"),
    ],
)
def test_bad_arguments_are_named(
    impl: ModuleType, kwargs: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        impl.DynamicBatcher(SyntheticModel(), **kwargs)


@pytest.mark.task(1)
def test_model_fn_must_be_callable(impl: ModuleType, arun: Any) -> None:
    with pytest.raises(TypeError, match="model_fn"):
        impl.DynamicBatcher("not a model")


@pytest.mark.task(1)
def test_bad_timeout_is_named(impl: ModuleType, arun: Any) -> None:
    async def body() -> None:
        with pytest.raises(ValueError, match="timeout_s"):
            await impl.DynamicBatcher(SyntheticModel()).submit("x", timeout_s=0)

    arun(body())


@pytest.mark.task(3)
def test_drain_finishes_every_queued_item(impl: ModuleType, arun: Any) -> None:
    model = SyntheticModel(base_ms=50)

    async def body() -> None:
        b = batcher(impl, model, max_batch=2, max_wait_ms=0, max_queue=16)
        texts = [f"accepted {k}" for k in range(6)]
        pending = [asyncio.ensure_future(b.submit(t)) for t in texts]
        await asyncio.sleep(0.01)
        await b.drain()
        assert b.draining
        # every accepted item has its result once drain() returns: its caller resumes next
        results = await asyncio.wait_for(asyncio.gather(*pending), 1.0)
        assert results == [synthetic_vector(t) for t in texts]
        with pytest.raises(ShuttingDown):
            await b.submit("too late")

    arun(body())
