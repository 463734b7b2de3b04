"""Reference solution: what an inference runtime does. The contract is in ``starter.py``.

- Memory: liveness from one pass over the order; placement greedy by size with the best-fitting
  gap (TFLite's `GREEDY_BY_SIZE` strategy); ``best_order`` is exact (a DP
  over the sets of executed nodes) for graphs of up to 16 nodes and a greedy "free the most,
  allocate the least" schedule beyond, never worse than Kahn's order.
- LRU: a dict of nodes in a circular doubly linked list with one sentinel, under one lock.
- Allocator: free blocks in a list sorted by ``(size, offset)`` (bisect finds the best fit in
  O(log n)) plus start/end maps for O(1) neighbour lookup when coalescing.
- Search: binary search that shrinks both ends when ``a[lo] == a[mid] == a[hi]``.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import cache
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

EXACT_ORDER_MAX_NODES = 16  # 2^16 states x 16 nodes: well under a second in Python


# --------------------------------------------------------------------- task 1: graphs and memory


def _adjacency(graph: Graph) -> dict[Node, list[Node]]:
    """Every node (successor-only ones too) -> its successors, in first-appearance order."""
    if not isinstance(graph, Mapping):
        raise TypeError(
            f"graph must be a mapping of node -> successors, got {type(graph).__name__}"
        )
    succ: dict[Node, list[Node]] = {node: list(targets) for node, targets in graph.items()}
    for targets in list(succ.values()):
        for target in targets:
            succ.setdefault(target, [])
    return succ


def _find_cycle(succ: dict[Node, list[Node]], remaining: set[Node]) -> list[Node]:
    """A cycle among ``remaining`` (nodes Kahn's algorithm could not free): each has a
    predecessor in the set, so walking predecessors must revisit a node."""
    pred: dict[Node, Node] = {}
    for node in succ:
        if node in remaining:
            for target in succ[node]:
                if target in remaining:
                    pred.setdefault(target, node)
    start = next(n for n in succ if n in remaining)
    seen: dict[Node, int] = {}
    walk: list[Node] = []
    node = start
    while node not in seen:
        seen[node] = len(walk)
        walk.append(node)
        node = pred[node]
    backwards = walk[seen[node] :]  # each element's predecessor is the next one
    return backwards[::-1]


def topo_order(graph: Graph) -> list[Node]:
    succ = _adjacency(graph)
    indegree = dict.fromkeys(succ, 0)
    for targets in succ.values():
        for target in targets:
            indegree[target] += 1
    ready = deque(node for node in succ if indegree[node] == 0)
    order: list[Node] = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for target in succ[node]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    if len(order) < len(succ):
        raise CycleError(_find_cycle(succ, {n for n, d in indegree.items() if d > 0}))
    return order


def _sizes(succ: dict[Node, list[Node]], sizes: Mapping[Node, int]) -> dict[Node, int]:
    out = {}
    for node in succ:
        if node not in sizes:
            raise ValueError(f"sizes has no entry for node {node!r}")
        size = sizes[node]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"sizes[{node!r}] must be a non-negative int, got {size!r}")
        out[node] = size
    return out


def _lifetimes(succ: dict[Node, list[Node]], order: Sequence[Node]) -> dict[Node, tuple[int, int]]:
    """node -> (step it runs, step of its last consumer; the last step for graph outputs)."""
    position: dict[Node, int] = {}
    for step, node in enumerate(order):
        if node not in succ:
            raise ValueError(f"order has {node!r}, which is not a node of the graph")
        if node in position:
            raise ValueError(f"order lists {node!r} twice")
        position[node] = step
    if len(position) != len(succ):
        missing = [n for n in succ if n not in position][:5]
        raise ValueError(f"order is missing nodes, e.g. {missing!r}")
    last = len(order) - 1
    spans = {}
    for node, targets in succ.items():
        for target in targets:
            if position[target] <= position[node]:
                raise ValueError(f"order is not topological: {node!r} must run before {target!r}")
        end = max((position[t] for t in targets), default=last)
        spans[node] = (position[node], end)
    return spans


def peak_live_bytes(graph: Graph, order: Sequence[Node], sizes: Mapping[Node, int]) -> int:
    succ = _adjacency(graph)
    spans = _lifetimes(succ, order)
    size = _sizes(succ, sizes)
    delta = [0] * (len(order) + 1)  # a sweep: +size where a buffer starts, -size after its end
    for node, (start, end) in spans.items():
        delta[start] += size[node]
        delta[end + 1] -= size[node]
    peak = live = 0
    for change in delta[:-1]:
        live += change
        peak = max(peak, live)
    return peak


def plan_memory(graph: Graph, order: Sequence[Node], sizes: Mapping[Node, int]) -> MemoryPlan:
    succ = _adjacency(graph)
    spans = _lifetimes(succ, order)
    size = _sizes(succ, sizes)
    placed: list[tuple[int, int, int, int]] = []  # (offset, end offset, first step, last step)
    offsets: dict[Node, int] = {}
    # Largest first: big buffers claim space while the arena is empty; small ones fill gaps.
    for node in sorted(succ, key=lambda n: (-size[n], spans[n][0])):
        if size[node] == 0:
            offsets[node] = 0
            continue
        first, last = spans[node]
        busy = sorted((lo, hi) for lo, hi, a, b in placed if a <= last and first <= b)
        best, best_gap, cursor = None, None, 0
        for lo, hi in busy:
            gap = lo - cursor
            if gap >= size[node] and (best_gap is None or gap < best_gap):
                best, best_gap = cursor, gap
            cursor = max(cursor, hi)
        offset = cursor if best is None else best
        offsets[node] = offset
        placed.append((offset, offset + size[node], first, last))
    arena = max((hi for _, hi, _, _ in placed), default=0)
    return MemoryPlan(offsets, arena, sum(size.values()), peak_live_bytes(graph, order, sizes))


def _greedy_order(succ: dict[Node, list[Node]], size: dict[Node, int]) -> list[Node]:
    """Run, at each step, the ready node after which the fewest bytes stay live: it frees
    inputs it is the last consumer of and allocates its own output."""
    indegree = dict.fromkeys(succ, 0)
    preds: dict[Node, list[Node]] = {n: [] for n in succ}
    for node, targets in succ.items():
        for target in targets:
            indegree[target] += 1
            preds[target].append(node)
    waiting = {n: len(t) for n, t in succ.items()}  # consumers each buffer still waits for
    rank = {n: k for k, n in enumerate(succ)}
    ready = [n for n in succ if indegree[n] == 0]
    order: list[Node] = []
    while ready:

        def growth(node: Node) -> tuple[int, int]:
            freed = sum(size[p] for p in set(preds[node]) if waiting[p] == preds[node].count(p))
            return size[node] - freed, rank[node]

        node = min(ready, key=growth)
        ready.remove(node)
        order.append(node)
        for parent in preds[node]:
            waiting[parent] -= 1
        for target in succ[node]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return order


def _exact_order(succ: dict[Node, list[Node]], size: dict[Node, int]) -> list[Node]:
    """The order of least peak, by dynamic programming over sets of executed nodes (bitmasks)."""
    nodes = list(succ)
    index = {n: k for k, n in enumerate(nodes)}
    pred_mask = [0] * len(nodes)
    succ_mask = [0] * len(nodes)
    for node, targets in succ.items():
        for target in targets:
            pred_mask[index[target]] |= 1 << index[node]
            succ_mask[index[node]] |= 1 << index[target]
    full = (1 << len(nodes)) - 1

    def live_while_running(done: int, k: int) -> int:
        live = size[nodes[k]]
        for j in range(len(nodes)):
            # an executed buffer is live while some consumer has not finished (k included)
            if done >> j & 1 and (succ_mask[j] & ~done or not succ_mask[j]):
                live += size[nodes[j]]
        return live

    @cache
    def best(done: int) -> tuple[int, int]:
        """(least peak from here to the end, the node to run next)."""
        if done == full:
            return 0, -1
        choice = (1 << 62, -1)
        for k in range(len(nodes)):
            if not done >> k & 1 and pred_mask[k] & ~done == 0:
                peak = max(live_while_running(done, k), best(done | 1 << k)[0])
                choice = min(choice, (peak, k))
        return choice

    order, done = [], 0
    while done != full:
        k = best(done)[1]
        order.append(nodes[k])
        done |= 1 << k
    best.cache_clear()
    return order


def best_order(graph: Graph, sizes: Mapping[Node, int]) -> list[Node]:
    kahn = topo_order(graph)
    succ = _adjacency(graph)
    size = _sizes(succ, sizes)
    if len(succ) <= EXACT_ORDER_MAX_NODES:
        return _exact_order(succ, size)
    greedy = _greedy_order(succ, size)
    candidates = [greedy, kahn]
    return min(candidates, key=lambda order: peak_live_bytes(succ, order, size))


# --------------------------------------------------------------------- task 2: LRU cache


class _Entry:
    __slots__ = ("key", "newer", "older", "value")

    def __init__(self, key: Hashable, value: Any) -> None:
        self.key, self.value = key, value
        self.older: _Entry = self
        self.newer: _Entry = self


class LRUCache:
    """See ``starter.LRUCache``. A sentinel closes the list into a ring: ``sentinel.newer`` is
    the least recently used entry, ``sentinel.older`` the most recent; no None checks."""

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._capacity = capacity
        self._entries: dict[Hashable, _Entry] = {}
        self._ring = _Entry(None, None)
        self._lock = threading.Lock()

    def _unlink(self, entry: _Entry) -> None:
        entry.older.newer = entry.newer
        entry.newer.older = entry.older

    def _append(self, entry: _Entry) -> None:
        """Make ``entry`` the most recently used."""
        newest = self._ring.older
        entry.older, entry.newer = newest, self._ring
        newest.newer = entry
        self._ring.older = entry

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            self._unlink(entry)
            self._append(entry)
            return entry.value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.value = value
                self._unlink(entry)
                self._append(entry)
                return
            if len(self._entries) == self._capacity:
                oldest = self._ring.newer
                self._unlink(oldest)
                del self._entries[oldest.key]
            entry = _Entry(key, value)
            self._entries[key] = entry
            self._append(entry)

    def keys(self) -> list[Hashable]:
        with self._lock:
            out, entry = [], self._ring.newer
            while entry is not self._ring:
                out.append(entry.key)
                entry = entry.newer
            return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries


# --------------------------------------------------------------------- task 3: intervals, allocator


def _checked_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    items = []
    for item in intervals:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"each interval must be a (start, end) pair, got {item!r}")
        start, end = item
        if start > end:
            raise ValueError(f"interval {item!r} has start > end")
        items.append((start, end))
    return items


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(_checked_intervals(intervals)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _check_region(capacity: int, alignment: int) -> None:
    for name, value in (("capacity", capacity), ("alignment", alignment)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if alignment & (alignment - 1):
        raise ValueError(f"alignment must be a power of two, got {alignment}")
    if capacity % alignment:
        raise ValueError(f"capacity {capacity} is not a multiple of alignment {alignment}")


class BlockAllocator:
    """See ``starter.BlockAllocator``. ``_free`` is sorted by ``(size, offset)``, so
    ``bisect_left(_free, (rounded, -1))`` is the best fit; ``_size`` maps each block's offset to
    its size, ``_ends`` each free block's end to its offset (the left neighbour on free)."""

    def __init__(self, capacity: int, alignment: int = 256) -> None:
        _check_region(capacity, alignment)
        self.capacity, self.alignment = capacity, alignment
        self._size: dict[int, int] = {0: capacity}  # every block, by offset
        self._allocated: set[int] = set()
        self._free: list[tuple[int, int]] = [(capacity, 0)]
        self._ends: dict[int, int] = {capacity: 0}  # free block end -> its offset

    def _add_free(self, offset: int, size: int) -> None:
        self._size[offset] = size
        bisect.insort(self._free, (size, offset))
        self._ends[offset + size] = offset

    def _remove_free(self, offset: int) -> int:
        size = self._size.pop(offset)
        del self._free[bisect.bisect_left(self._free, (size, offset))]
        del self._ends[offset + size]
        return size

    def malloc(self, size: int) -> int:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        rounded = -(-size // self.alignment) * self.alignment
        k = bisect.bisect_left(self._free, (rounded, -1))
        if k == len(self._free):
            largest = self._free[-1][0] if self._free else 0
            raise MemoryError(
                f"cannot allocate {size} bytes ({rounded} aligned): largest free block is {largest}"
            )
        block, offset = self._free[k]
        self._remove_free(offset)
        self._size[offset] = rounded
        self._allocated.add(offset)
        if block > rounded:
            self._add_free(offset + rounded, block - rounded)
        return offset

    def free(self, offset: int) -> None:
        if offset not in self._allocated:
            raise ValueError(f"no allocated block starts at offset {offset!r} (double free?)")
        self._allocated.remove(offset)
        size = self._size.pop(offset)
        right = offset + size
        if right in self._size and right not in self._allocated:
            size += self._remove_free(right)
        if offset in self._ends:
            left = self._ends[offset]
            size += self._remove_free(left)
            offset = left
        self._add_free(offset, size)

    def blocks(self) -> list[tuple[int, int, bool]]:
        return [(o, s, o in self._allocated) for o, s in sorted(self._size.items())]

    def fragmentation(self) -> float:
        free = sum(size for size, _ in self._free)
        return 0.0 if free == 0 else 1.0 - self._free[-1][0] / free


# --------------------------------------------------------------------- task 4: search


def search_rotated(a: Sequence[Any], target: Any) -> int:
    if not isinstance(a, Sequence):
        raise TypeError(f"a must be a sequence, got {type(a).__name__}")
    lo, hi = 0, len(a) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if a[mid] == target:
            return mid
        if a[lo] == a[mid] == a[hi]:  # no way to tell which half is sorted: shrink both ends
            if a[lo] == target:
                return lo
            lo, hi = lo + 1, hi - 1
        elif a[lo] <= a[mid]:  # the left half [lo, mid] is sorted
            if a[lo] <= target < a[mid]:
                hi = mid - 1
            else:
                lo = mid + 1
        elif a[mid] < target <= a[hi]:  # else the right half [mid, hi] is sorted
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
