"""``prep bench 17``: each data structure under a realistic load, and search across the caches.

- Memory planning of the traced ResNet's FX graph (the arena each plan needs is reported too).
- 200,000 LRU operations (80% hits, capacity 1,024), with ``OrderedDict`` (C) as the library row.
- 4,000 allocator operations on a 1 GiB region (PyTorch-like sizes, half of them freed).
- ``search_rotated`` for an absent key on rotated arrays from 8 KiB to 64 MiB of pointers:
  the baseline's linear scan (C, ``operator.indexOf``), the solution's binary search, and
  numpy's vectorised scan (the library row) show where L1, L2 and L3 end (``--plot F``).
"""

from __future__ import annotations

import contextlib
import functools
import random
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from challenge_17_systems_dsa import cnn_graph
from prep.bench import Row, Workload, implementations

PACKAGE = "challenge_17_systems_dsa"
LRU_OPS, LRU_CAPACITY = 200_000, 1024
ALLOC_OPS = 4_000
SEARCH_PREFIX = "search an absent key, n = "


def _cache_sizes() -> dict[str, int]:
    """Data and unified cache sizes of CPU 0 from sysfs (empty where sysfs has none)."""
    out: dict[str, int] = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = (index / "level").read_text().strip()
            text = (index / "size").read_text().strip()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        scale = {"K": 1024, "M": 1024**2}.get(text[-1], 1)
        out[f"L{level}"] = int(text.rstrip("KM")) * scale
    return out


def _planning(impls: dict[str, ModuleType]) -> Workload:
    graph, sizes = cnn_graph.traced_graph()

    def candidate(module: ModuleType) -> Callable[[], Any]:
        return lambda: module.plan_memory(graph, module.topo_order(graph), sizes)

    def check(name: str, plan: object) -> None:
        arena = getattr(plan, "arena_bytes", None)
        lower = getattr(plan, "peak_live_bytes", None)
        assert isinstance(arena, int), f"{name} returned {type(plan).__name__}"
        assert isinstance(lower, int)
        assert lower <= arena <= sum(sizes.values()), f"{name}: arena {arena} out of bounds"

    return Workload(
        name=f"plan_memory on a traced ResNet ({len(graph)} nodes)",
        candidates={name: candidate(m) for name, m in impls.items()},
        check=check,
        notes="arena bytes per implementation are printed below the tables",
    )


class _OrderedDictLRU:
    """The standard library's idiom: an OrderedDict with move_to_end (C linked list)."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.data = capacity, OrderedDict[Hashable, Any]()

    def get(self, key: Hashable, default: Any = None) -> Any:
        if key not in self.data:
            return default
        self.data.move_to_end(key)
        return self.data[key]

    def put(self, key: Hashable, value: Any) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        if len(self.data) > self.capacity:
            self.data.popitem(last=False)


def _lru(impls: dict[str, ModuleType]) -> Workload:
    rng = random.Random(0)
    # 80% of requests go to a hot set that fits; the rest are misses that evict.
    keys = [
        rng.randrange(LRU_CAPACITY) if rng.random() < 0.8 else rng.randrange(10**6)
        for _ in range(LRU_OPS)
    ]

    def candidate(make: Callable[[], Any]) -> Callable[[], int]:
        def run() -> int:
            cache, hits = make(), 0
            for key in keys:
                if cache.get(key) is None:
                    cache.put(key, key)
                else:
                    hits += 1
            return hits

        return run

    factories: dict[str, Callable[[], Any]] = {
        name: functools.partial(m.LRUCache, LRU_CAPACITY) for name, m in impls.items()
    }
    factories["OrderedDict (library)"] = lambda: _OrderedDictLRU(LRU_CAPACITY)
    expected = candidate(factories["OrderedDict (library)"])()

    def check(name: str, hits: object) -> None:
        assert hits == expected, f"{name} counted {hits} hits, the model {expected}"

    return Workload(
        name=f"LRU: {LRU_OPS:,} get-or-put, capacity {LRU_CAPACITY}",
        candidates={name: candidate(make) for name, make in factories.items()},
        check=check,
        reference="baseline",
    )


def _allocator(impls: dict[str, ModuleType]) -> Workload:
    rng = random.Random(1)
    plan = [
        rng.choice([512, 4096, 2**16, 2**20, 2**22]) * rng.randint(1, 4) for _ in range(ALLOC_OPS)
    ]

    def candidate(module: ModuleType) -> Callable[[], int]:
        def run() -> int:
            alloc, live, frees = module.BlockAllocator(2**30, alignment=512), [], random.Random(2)
            for size in plan:
                with contextlib.suppress(MemoryError):  # a full region: this request fails
                    live.append(alloc.malloc(size))
                if live and frees.random() < 0.5:
                    alloc.free(live.pop(frees.randrange(len(live))))
            return len(live)

        return run

    expected = candidate(impls["solution"])()

    def check(name: str, live: object) -> None:
        assert live == expected, f"{name} ended with {live} live blocks, not {expected}"

    return Workload(
        name=f"allocator: {ALLOC_OPS:,} mallocs, half freed, 1 GiB best fit",
        candidates={name: candidate(m) for name, m in impls.items()},
        check=check,
    )


def _search(impls: dict[str, ModuleType], n: int) -> Workload:
    values = list(range(0, 2 * n, 2))  # distinct even numbers: an odd target is absent
    k = n // 3
    rotated = values[k:] + values[:k]
    array = np.asarray(rotated, dtype=np.int64)
    target = 2 * (n // 3) + 1  # odd, so absent, and about two thirds of the way along
    candidates: dict[str, Callable[[], Any]] = {
        name: functools.partial(m.search_rotated, rotated, target) for name, m in impls.items()
    }
    candidates["numpy scan (library)"] = lambda: int(np.flatnonzero(array == target).size) - 1

    def check(name: str, index: object) -> None:
        assert index == -1, f"{name} found an absent key at {index}"

    return Workload(
        name=f"{SEARCH_PREFIX}{n:,} ({8 * n / 2**20:.3g} MiB of pointers)",
        candidates=candidates,
        check=check,
        notes="ns per element (median / n) is what --plot draws against the cache sizes",
    )


def workloads(quick: bool = False) -> list[Workload]:
    impls = implementations(PACKAGE)
    out = [_planning(impls), _lru(impls), _allocator(impls)]
    exponents = range(10, 19, 4) if quick else range(10, 24)
    out += [_search(impls, 2**e) for e in exponents]
    return out


def report(rows: list[Row], quick: bool) -> dict[str, Any]:
    """Arena bytes of each plan on the ResNet, and this CPU's cache sizes."""
    graph, sizes = cnn_graph.traced_graph()
    arenas: dict[str, int] = {}
    for name, module in implementations(PACKAGE).items():
        try:
            plan = module.plan_memory(graph, module.topo_order(graph), sizes)
            better = module.best_order(graph, sizes)
        except NotImplementedError:
            continue
        arenas[name] = plan.arena_bytes
        reordered = module.plan_memory(graph, better, sizes).arena_bytes
        print(
            f"{name}: arena {plan.arena_bytes / 2**20:.2f} MiB (no reuse "
            f"{plan.naive_bytes / 2**20:.2f} MiB, lower bound {plan.peak_live_bytes / 2**20:.2f} "
            f"MiB); with best_order {reordered / 2**20:.2f} MiB"
        )
    caches = _cache_sizes()
    print("caches: " + ", ".join(f"{k} {v // 1024} KiB" for k, v in caches.items()))
    return {"arena_bytes": arenas, "cache_bytes": caches}


def plot(rows: list[Row], path: Path, quick: bool) -> None:
    """Nanoseconds per element vs array size for each search row, with the cache sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    series: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        if row.workload.startswith(SEARCH_PREFIX) and row.timing is not None and row.status == "ok":
            n = int(row.workload.removeprefix(SEARCH_PREFIX).split(" ")[0].replace(",", ""))
            series.setdefault(row.candidate, []).append((8.0 * n, row.timing.median / n * 1e9))
    for name, points in series.items():
        xs, ys = zip(*sorted(points), strict=True)
        ax.plot(xs, ys, marker="o", label=name)
    for level, size in _cache_sizes().items():
        ax.axvline(size, color="grey", linestyle=":")
        ax.text(size, ax.get_ylim()[1], level, ha="right", va="top", color="grey")
    ax.set(xscale="log", yscale="log", xlabel="bytes of pointers (8 per element)",
           ylabel="ns per element", title="search_rotated: linear scans vs binary search")  # fmt: skip
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
