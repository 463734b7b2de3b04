"""Baseline: the simplest correct versions, with the costs that make them a baseline. The
contract is in ``starter.py``.

- Liveness is recomputed per step (O(n^2)); placement takes buffers in execution order and puts
  each at the lowest free offset (first fit); ``best_order`` is the greedy schedule, kept only
  when it beats Kahn's order.
- LRU keeps keys in a list, so a hit moves a key in O(n).
- The allocator scans one offset-ordered list of blocks: O(n) per malloc and free.
- Search is a linear scan: O(n), but in C (``operator.indexOf``).
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

from challenge_17_systems_dsa.structures import CycleError, Graph, MemoryPlan, Node

__all__ = [
    "BlockAllocator",
    "CycleError",
    "LRUCache",
    "MemoryPlan",
    "best_order",
    "merge_intervals",
    "peak_live_bytes",
    "plan_memory",
    "search_rotated",
    "topo_order",
]


# --------------------------------------------------------------------- task 1: graphs and memory


def _successors(graph: Graph) -> dict[Node, list[Node]]:
    if not isinstance(graph, Mapping):
        raise TypeError(
            f"graph must be a mapping of node -> successors, got {type(graph).__name__}"
        )
    succ = {node: list(targets) for node, targets in graph.items()}
    for targets in list(succ.values()):
        for target in targets:
            succ.setdefault(target, [])
    return succ


def topo_order(graph: Graph) -> list[Node]:
    succ = _successors(graph)
    indegree = dict.fromkeys(succ, 0)
    for targets in succ.values():
        for target in targets:
            indegree[target] += 1
    order: list[Node] = []
    ready = [n for n in succ if indegree[n] == 0]
    while ready:
        node = ready.pop(0)
        order.append(node)
        for target in succ[node]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    if len(order) == len(succ):
        return order
    # A cycle: every leftover node has a leftover predecessor, so walking predecessors from
    # any of them must meet the path again; the loop it closes, reversed, is a cycle.
    left = [n for n in succ if indegree[n] > 0]
    path = [left[0]]
    while True:
        parent = next(p for p in left if path[-1] in succ[p])
        if parent in path:
            raise CycleError(path[path.index(parent) :][::-1])
        path.append(parent)


def _check(
    succ: dict[Node, list[Node]], order: Sequence[Node], sizes: Mapping[Node, int]
) -> dict[Node, int]:
    if len(order) != len(succ) or set(order) != set(succ):
        raise ValueError("order must list every node of the graph exactly once")
    position = {node: step for step, node in enumerate(order)}
    for node, targets in succ.items():
        for target in targets:
            if position[target] <= position[node]:
                raise ValueError(f"order is not topological: {node!r} must run before {target!r}")
        size = sizes.get(node)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"sizes[{node!r}] must be a non-negative int, got {size!r}")
    return position


def _live_range(succ: dict[Node, list[Node]], position: dict[Node, int], node: Node) -> range:
    last = max((position[t] for t in succ[node]), default=len(position) - 1)
    return range(position[node], last + 1)


def peak_live_bytes(graph: Graph, order: Sequence[Node], sizes: Mapping[Node, int]) -> int:
    succ = _successors(graph)
    position = _check(succ, order, sizes)
    peak = 0
    for step in range(len(order)):
        live = sum(sizes[n] for n in succ if step in _live_range(succ, position, n))
        peak = max(peak, live)
    return peak


def plan_memory(graph: Graph, order: Sequence[Node], sizes: Mapping[Node, int]) -> MemoryPlan:
    succ = _successors(graph)
    position = _check(succ, order, sizes)
    offsets: dict[Node, int] = {}
    for node in order:
        span = _live_range(succ, position, node)
        offset = 0
        if sizes[node]:
            clashes = sorted(
                (offsets[other], offsets[other] + sizes[other])
                for other in offsets
                if sizes[other] and set(span) & set(_live_range(succ, position, other))
            )
            for lo, hi in clashes:  # first fit: slide past every clash we overlap
                if offset + sizes[node] <= lo:
                    break
                offset = max(offset, hi)
        offsets[node] = offset
    arena = max((offsets[n] + sizes[n] for n in succ), default=0)
    naive = sum(sizes[n] for n in succ)
    return MemoryPlan(offsets, arena, naive, peak_live_bytes(graph, order, sizes))


def best_order(graph: Graph, sizes: Mapping[Node, int]) -> list[Node]:
    kahn = topo_order(graph)
    succ = _successors(graph)
    _check(succ, kahn, sizes)
    preds: dict[Node, list[Node]] = {n: [] for n in succ}
    for node, targets in succ.items():
        for target in targets:
            preds[target].append(node)
    done: set[Node] = set()
    order: list[Node] = []
    while len(order) < len(succ):
        ready = [n for n in succ if n not in done and all(p in done for p in preds[n])]

        def growth(node: Node) -> int:
            freed = sum(
                sizes[p] for p in set(preds[node]) if all(t in done or t == node for t in succ[p])
            )
            return sizes[node] - freed

        node = min(ready, key=growth)
        done.add(node)
        order.append(node)
    if peak_live_bytes(graph, order, sizes) <= peak_live_bytes(graph, kahn, sizes):
        return order
    return kahn


# --------------------------------------------------------------------- task 2: LRU cache


class LRUCache:
    """See ``starter.LRUCache``. Keys in a list, least recent first; a hit moves its key to the
    end in O(n)."""

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._values: dict[Hashable, Any] = {}
        self._order: list[Hashable] = []
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._values:
                return default
            self._order.remove(key)
            self._order.append(key)
            return self._values[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            if key in self._values:
                self._order.remove(key)
            elif len(self._order) == self._capacity:
                del self._values[self._order.pop(0)]
            self._values[key] = value
            self._order.append(key)

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._order)

    def __len__(self) -> int:
        with self._lock:
            return len(self._order)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._values


# --------------------------------------------------------------------- task 3: intervals, allocator


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    pairs = list(intervals)
    for item in pairs:
        if not isinstance(item, (tuple, list)) or len(item) != 2 or item[0] > item[1]:
            raise ValueError(
                f"each interval must be a (start, end) pair with start <= end: {item!r}"
            )
    merged: list[tuple[int, int]] = []
    for start, end in sorted((s, e) for s, e in pairs):
        if merged and start <= merged[-1][1]:
            previous_start, previous_end = merged.pop()
            start, end = previous_start, max(previous_end, end)
        merged.append((start, end))
    return merged


class BlockAllocator:
    """See ``starter.BlockAllocator``. One list of ``[offset, size, allocated]`` in offset order;
    every operation scans it."""

    def __init__(self, capacity: int, alignment: int = 256) -> None:
        for name, value in (("capacity", capacity), ("alignment", alignment)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if alignment & (alignment - 1):
            raise ValueError(f"alignment must be a power of two, got {alignment}")
        if capacity % alignment:
            raise ValueError(f"capacity {capacity} is not a multiple of alignment {alignment}")
        self.capacity, self.alignment = capacity, alignment
        self._blocks: list[list[Any]] = [[0, capacity, False]]

    def malloc(self, size: int) -> int:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        rounded = (size + self.alignment - 1) // self.alignment * self.alignment
        fits = [k for k, (_, s, used) in enumerate(self._blocks) if not used and s >= rounded]
        if not fits:
            largest = max((s for _, s, used in self._blocks if not used), default=0)
            raise MemoryError(
                f"cannot allocate {size} bytes ({rounded} aligned): largest free block is {largest}"
            )
        k = min(fits, key=lambda i: (self._blocks[i][1], self._blocks[i][0]))
        offset, block, _ = self._blocks[k]
        self._blocks[k] = [offset, rounded, True]
        if block > rounded:
            self._blocks.insert(k + 1, [offset + rounded, block - rounded, False])
        return int(offset)

    def free(self, offset: int) -> None:
        k = next((i for i, b in enumerate(self._blocks) if b[0] == offset and b[2]), None)
        if k is None:
            raise ValueError(f"no allocated block starts at offset {offset!r} (double free?)")
        self._blocks[k][2] = False
        if k + 1 < len(self._blocks) and not self._blocks[k + 1][2]:
            self._blocks[k][1] += self._blocks.pop(k + 1)[1]
        if k > 0 and not self._blocks[k - 1][2]:
            self._blocks[k - 1][1] += self._blocks.pop(k)[1]

    def blocks(self) -> list[tuple[int, int, bool]]:
        return [(o, s, used) for o, s, used in self._blocks]

    def fragmentation(self) -> float:
        free = [s for _, s, used in self._blocks if not used]
        return 0.0 if not free else 1.0 - max(free) / sum(free)


# --------------------------------------------------------------------- task 4: search


def search_rotated(a: Sequence[Any], target: Any) -> int:
    if not isinstance(a, Sequence):
        raise TypeError(f"a must be a sequence, got {type(a).__name__}")
    try:
        return operator.indexOf(a, target)
    except ValueError:
        return -1
