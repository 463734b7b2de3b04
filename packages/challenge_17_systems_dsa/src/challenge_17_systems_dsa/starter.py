"""Your implementation. Fill in every TODO; the docstrings are the full specification.

Run ``uv run prep test 17`` (or ``--task k``) to check your work, ``uv run prep hint 17 k`` when
stuck, and ``uv run prep bench 17`` to time it.
"""

from __future__ import annotations

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


def topo_order(graph: Graph) -> list[Node]:
    """A topological order of ``graph`` by Kahn's algorithm.

    Args:
        graph: node -> iterable of its successors (the nodes that consume its output). A node
            that appears only as a successor is a node too.

    Returns:
        Every node once, each before all of its successors, deterministically: ready nodes
        run in the order they became ready (a FIFO queue); the initially ready ones in key
        order, and the successors a node makes ready in the order it lists them.

    Raises:
        TypeError: ``graph`` is not a mapping.
        CycleError: the graph has a cycle; ``.cycle`` lists the nodes of one cycle in edge
            order (``cycle[i] -> cycle[i + 1]`` and ``cycle[-1] -> cycle[0]`` are edges).
    """
    raise NotImplementedError(
        "TODO(17.1): Kahn's algorithm with cycle reporting - see README task 1"
    )


def peak_live_bytes(graph: Graph, order: Sequence[Node], sizes: Mapping[Node, int]) -> int:
    """The most bytes live at any step when ``graph`` runs in ``order``.

    Each node produces one buffer of ``sizes[node]`` bytes when it runs. A buffer is live from
    the step that produces it through the step of its last consumer (a consumer reads its
    inputs while writing its output, so both are live at that step). A node without
    successors is a graph output: its buffer stays live until the end.

    Raises:
        ValueError: ``order`` is not a permutation of the graph's nodes, not topological, or a
            node has no size or a negative size.
    """
    raise NotImplementedError("TODO(17.1): liveness and peak bytes - see README task 1")


def plan_memory(graph: Graph, order: Sequence[Node], sizes: Mapping[Node, int]) -> MemoryPlan:
    """Place every node's buffer at an offset in one arena, reusing memory of dead buffers.

    Two buffers whose live ranges (as in ``peak_live_bytes``) share a step must not overlap in
    memory; buffers that are never live at the same time may. Zero-byte buffers get offset 0.

    Returns:
        A ``MemoryPlan``: offsets, the arena size (max of offset + size), the no-reuse total
        and ``peak_live_bytes`` (the lower bound the arena is compared with).

    Raises:
        ValueError: as ``peak_live_bytes``.
    """
    raise NotImplementedError("TODO(17.1): greedy-by-size buffer placement - see README task 1")


def best_order(graph: Graph, sizes: Mapping[Node, int]) -> list[Node]:
    """A topological order whose ``peak_live_bytes`` is as low as you can make it, and never
    higher than that of ``topo_order(graph)``.

    Raises:
        CycleError, ValueError: as ``topo_order`` and ``peak_live_bytes``.
    """
    raise NotImplementedError("TODO(17.1): an order that lowers the peak - see README task 1")


# --------------------------------------------------------------------- task 2: LRU cache


class LRUCache:
    """A least-recently-used cache with O(1) ``get`` and ``put``, safe to share between threads.

    Args:
        capacity: the most entries kept (an int >= 1).

    Raises:
        TypeError: ``capacity`` is not an int.
        ValueError: ``capacity < 1``.
    """

    def __init__(self, capacity: int) -> None:
        raise NotImplementedError("TODO(17.2): hash map + doubly linked list - see README task 2")

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value of ``key`` (which becomes the most recently used), else ``default``."""
        raise NotImplementedError("TODO(17.2): get with recency update - see README task 2")

    def put(self, key: Hashable, value: Any) -> None:
        """Insert or update ``key`` as the most recently used; evict the least recently used
        entry when the cache would exceed its capacity."""
        raise NotImplementedError("TODO(17.2): put with eviction - see README task 2")

    def keys(self) -> list[Hashable]:
        """The keys from least to most recently used."""
        raise NotImplementedError("TODO(17.2): keys in recency order - see README task 2")

    def __len__(self) -> int:
        raise NotImplementedError("TODO(17.2): the number of entries - see README task 2")

    def __contains__(self, key: object) -> bool:
        """Membership, without changing recency."""
        raise NotImplementedError("TODO(17.2): membership - see README task 2")


# --------------------------------------------------------------------- task 3: intervals, allocator


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge closed intervals ``(start, end)`` that overlap or touch (``(1, 3)`` and ``(3, 5)``
    give ``(1, 5)``; ``(1, 2)`` and ``(3, 4)`` stay apart).

    Returns:
        Disjoint intervals sorted by start.

    Raises:
        ValueError: an item is not a pair, or has ``start > end``.
    """
    raise NotImplementedError("TODO(17.3): sort and sweep - see README task 3")


class BlockAllocator:
    """A caching allocator's bookkeeping over one region of ``capacity`` bytes.

    ``malloc`` rounds the size up to a multiple of ``alignment`` and takes the *best-fitting*
    free block (the smallest that fits; the lowest offset among equals), splitting off the
    remainder as a free block. ``free`` returns a block and *coalesces* it with free neighbours,
    so no two free blocks are ever adjacent.

    Args:
        capacity: bytes managed, a positive multiple of ``alignment``.
        alignment: a power of two (PyTorch's CUDA caching allocator rounds to 512 bytes; the
            default 256 keeps examples small).

    Raises:
        ValueError: a non-positive capacity, an alignment that is not a power of two, or a
            capacity that is not a multiple of it.
    """

    def __init__(self, capacity: int, alignment: int = 256) -> None:
        raise NotImplementedError("TODO(17.3): the free-block structures - see README task 3")

    def malloc(self, size: int) -> int:
        """Allocate ``size`` bytes (``size >= 1``); returns the block's offset.

        Raises:
            ValueError: ``size < 1``.
            MemoryError: no free block is large enough (the message gives the request and the
                largest free block).
        """
        raise NotImplementedError("TODO(17.3): best fit with splitting - see README task 3")

    def free(self, offset: int) -> None:
        """Free the block at ``offset`` and coalesce it with free neighbours.

        Raises:
            ValueError: no allocated block starts at ``offset`` (a double free, or a stray
                pointer).
        """
        raise NotImplementedError("TODO(17.3): free with coalescing - see README task 3")

    def blocks(self) -> list[tuple[int, int, bool]]:
        """Every block as ``(offset, size, allocated)``, sorted by offset; they tile the region."""
        raise NotImplementedError("TODO(17.3): the block list - see README task 3")

    def fragmentation(self) -> float:
        """``1 - largest free block / free bytes`` (0 when nothing or one block is free)."""
        raise NotImplementedError("TODO(17.3): the fragmentation metric - see README task 3")


# --------------------------------------------------------------------- task 4: search


def search_rotated(a: Sequence[Any], target: Any) -> int:
    """An index of ``target`` in ``a``, a non-decreasing sequence rotated at an unknown pivot
    (``[4, 5, 6, 1, 2, 3]``), or -1. Duplicates are allowed.

    O(log n) comparisons without duplicates; with duplicates the worst case is O(n) (for
    ``[1, 1, 1, 0, 1, 1]`` no comparison with the ends tells which half holds the pivot).
    The result is unspecified when ``a`` is not a rotated sorted sequence.

    Raises:
        TypeError: ``a`` is not a sequence (a set, a generator).
    """
    raise NotImplementedError("TODO(17.4): binary search with duplicates - see README task 4")
