"""Task 2: an O(1), thread-safe LRU cache, checked against an OrderedDict model."""

from __future__ import annotations

import functools
import random
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.task(2)

OPS = st.lists(
    st.tuples(st.sampled_from(["get", "put", "contains"]), st.integers(0, 7), st.integers()),
    max_size=60,
)


class Model:
    """The sequential specification: an OrderedDict kept least- to most-recently used."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.data = capacity, OrderedDict[int, int]()

    def get(self, key: int) -> int | None:
        if key not in self.data:
            return None
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key: int, value: int) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity:
            self.data.popitem(last=False)


@given(st.integers(1, 4), OPS)
def test_agrees_with_the_sequential_model(impl: ModuleType, capacity: int, ops: list[Any]) -> None:
    cache, model = impl.LRUCache(capacity), Model(capacity)
    for k, (op, key, value) in enumerate(ops):
        where = f"after {ops[: k + 1]}"
        if op == "get":
            assert cache.get(key) == model.get(key), where
        elif op == "put":
            cache.put(key, value)
            model.put(key, value)
        else:
            assert (key in cache) == (key in model.data), where
        assert cache.keys() == list(model.data), f"recency order {where}"
        assert len(cache) == len(model.data) <= capacity, where


def test_get_refreshes_recency_and_put_evicts_the_least_recent(impl: ModuleType) -> None:
    cache = impl.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)  # evicts b, not a
    assert "b" not in cache
    assert cache.keys() == ["a", "c"]
    assert cache.get("b", "missing") == "missing"


def test_updating_a_key_refreshes_it_without_evicting(impl: ModuleType) -> None:
    cache = impl.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)  # an update: nothing is evicted, a becomes the most recent
    assert cache.keys() == ["b", "a"]
    cache.put("c", 3)
    assert cache.keys() == ["a", "c"]
    assert cache.get("a") == 10


def test_contains_does_not_change_recency(impl: ModuleType) -> None:
    cache = impl.LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert "a" in cache
    cache.put("c", 3)
    assert "a" not in cache


@pytest.fixture
def fast_thread_switches() -> Iterator[None]:
    """Switch threads every microsecond instead of every 5 ms, so races surface in a test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("fast_thread_switches")
def test_many_threads_keep_the_invariants_and_the_latest_values(impl: ModuleType) -> None:
    capacity, threads, rounds = 32, 8, 1500
    cache = impl.LRUCache(capacity)
    latest: dict[tuple[int, int], int] = {}  # each key has one writer, so its last put is known
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        rng = random.Random(worker)
        try:
            start.wait()
            for step in range(rounds):
                key = (worker, rng.randrange(12))
                if rng.random() < 0.6:
                    cache.put(key, step)
                    latest[key] = step
                else:
                    value = cache.get(key)
                    assert value is None or value <= latest[key]
                assert len(cache) <= capacity
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not errors, errors[0]
    keys = cache.keys()
    assert len(keys) == len(set(keys)) == len(cache) <= capacity
    for key in keys:
        assert cache.get(key) == latest[key], f"{key} holds a stale value"


def test_functools_lru_cache_computes_a_missing_key_concurrently(impl: ModuleType) -> None:
    """What the standard library's cache does differently: it is a memoising decorator keyed by
    the call's arguments, and it does not hold its lock while the function runs, so two threads
    that miss on the same key both compute it. (Ours stores values; computing them is the
    caller's business.)"""
    both_inside = threading.Barrier(2, timeout=10)
    calls: list[int] = []

    @functools.lru_cache(maxsize=8)
    def slow_square(x: int) -> int:
        calls.append(x)
        both_inside.wait()  # raises BrokenBarrierError if the second call never starts
        return x * x

    pool = [threading.Thread(target=slow_square, args=(3,)) for _ in range(2)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=20)
    assert calls == [3, 3]  # computed twice for one key
    assert slow_square.cache_info().currsize == 1
    cache = impl.LRUCache(8)
    cache.put(3, 9)
    assert cache.get(3.0) == 9  # like a dict (and lru_cache without typed=True): 3 == 3.0


@pytest.mark.parametrize(
    ("capacity", "error"), [(0, ValueError), (-1, ValueError), (2.5, TypeError), ("8", TypeError)]
)
def test_bad_capacity_is_rejected(
    impl: ModuleType, capacity: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="capacity"):
        impl.LRUCache(capacity)
