"""Task 3: interval merging, and a best-fit allocator with splitting and coalescing, driven by a
hypothesis state machine."""

from __future__ import annotations

import itertools
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, multiple, rule

pytestmark = pytest.mark.task(3)

INTERVALS = st.lists(
    st.tuples(st.integers(-20, 20), st.integers(0, 10)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=12,
)


def components(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Oracle: connected components of the "overlap or touch" relation, by repeated union."""
    groups = [[iv] for iv in intervals]
    merged = True
    while merged:
        merged = False
        for a, b in itertools.combinations(range(len(groups)), 2):
            if any(max(x[0], y[0]) <= min(x[1], y[1]) for x in groups[a] for y in groups[b]):
                groups[a] += groups.pop(b)
                merged = True
                break
    return sorted((min(s for s, _ in g), max(e for _, e in g)) for g in groups)


@given(INTERVALS)
def test_merge_intervals_matches_the_overlap_components(
    impl: ModuleType, intervals: list[tuple[int, int]]
) -> None:
    assert impl.merge_intervals(intervals) == components(intervals)


def test_touching_intervals_merge_and_gaps_stay(impl: ModuleType) -> None:
    assert impl.merge_intervals([(3, 5), (1, 3), (7, 8), (8, 8)]) == [(1, 5), (7, 8)]
    assert impl.merge_intervals([(1, 2), (3, 4)]) == [(1, 2), (3, 4)]
    assert impl.merge_intervals([]) == []


@pytest.mark.parametrize("bad", [[(3, 1)], [(1, 2, 3)], [5]])
def test_merge_rejects_bad_intervals(impl: ModuleType, bad: list[Any]) -> None:
    with pytest.raises(ValueError, match="interval"):
        impl.merge_intervals(bad)


def best_fit(blocks: list[tuple[int, int, bool]], rounded: int) -> int | None:
    """Oracle: the offset the allocator must choose, from the block list before the call."""
    fits = [(size, offset) for offset, size, used in blocks if not used and size >= rounded]
    return min(fits)[1] if fits else None


class AllocatorMachine(RuleBasedStateMachine):
    """Random malloc/free sequences; after every step the blocks tile the region, no two free
    blocks touch, live blocks never overlap, and malloc picks the best fit."""

    module: ModuleType
    live = Bundle("live")

    def __init__(self) -> None:
        super().__init__()
        self.alloc = self.module.BlockAllocator(4096, alignment=64)
        self.sizes: dict[int, int] = {}  # live offset -> requested size

    @rule(target=live, size=st.integers(1, 1500))
    def malloc(self, size: int) -> Any:
        rounded = -(-size // 64) * 64
        expected = best_fit(self.alloc.blocks(), rounded)
        if expected is None:
            with pytest.raises(MemoryError):
                self.alloc.malloc(size)
            return multiple()  # nothing allocated: no new block for the bundle
        offset = self.alloc.malloc(size)
        assert offset == expected, f"malloc({size}) chose {offset}, best fit is {expected}"
        self.sizes[offset] = size
        return offset

    @rule(offset=consumes(live))
    def free(self, offset: Any) -> None:
        if not isinstance(offset, int) or offset not in self.sizes:
            return
        self.alloc.free(offset)
        del self.sizes[offset]

    @invariant()
    def blocks_tile_the_region_and_free_blocks_are_coalesced(self) -> None:
        blocks = self.alloc.blocks()
        cursor = 0
        for offset, size, _used in blocks:
            assert offset == cursor, f"gap or overlap at {offset}: {blocks}"
            assert size > 0
            cursor += size
        assert cursor == 4096
        for (_, _, a), (_, _, b) in itertools.pairwise(blocks):
            assert a or b, f"two adjacent free blocks were not coalesced: {blocks}"
        live = {offset: size for offset, size, used in blocks if used}
        assert set(live) == set(self.sizes)
        for offset, size in live.items():
            assert size >= self.sizes[offset]
            assert size % 64 == 0

    @invariant()
    def fragmentation_is_one_minus_largest_over_free(self) -> None:
        free = [size for _, size, used in self.alloc.blocks() if not used]
        want = 0.0 if not free else 1 - max(free) / sum(free)
        assert self.alloc.fragmentation() == pytest.approx(want)


def test_allocator_state_machine(impl: ModuleType) -> None:
    class Machine(AllocatorMachine):
        module = impl

    run = settings(max_examples=40, stateful_step_count=30, deadline=None)(Machine)
    run.TestCase().runTest()


def test_freeing_everything_gives_back_one_block(impl: ModuleType) -> None:
    alloc = impl.BlockAllocator(1024, alignment=128)
    offsets = [alloc.malloc(100) for _ in range(8)]
    with pytest.raises(MemoryError, match="largest free block"):
        alloc.malloc(1)
    for offset in offsets[1::2] + offsets[::2]:
        alloc.free(offset)
    assert alloc.blocks() == [(0, 1024, False)]
    assert alloc.malloc(1024) == 0


def test_best_fit_prefers_the_smallest_hole(impl: ModuleType) -> None:
    alloc = impl.BlockAllocator(2048, alignment=256)
    a, b, c, d = (alloc.malloc(n) for n in (512, 256, 256, 256))
    alloc.free(a)  # a 512-byte hole at 0
    alloc.free(c)  # a 256-byte hole at 768
    assert alloc.malloc(200) == c  # first fit would take the hole at 0
    assert alloc.fragmentation() == pytest.approx(1 - 768 / 1280)  # holes of 512 and 768
    del b, d


def test_bad_allocator_use_is_rejected(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="alignment"):
        impl.BlockAllocator(1024, alignment=100)
    with pytest.raises(ValueError, match="multiple"):
        impl.BlockAllocator(1000, alignment=256)
    with pytest.raises(ValueError, match="capacity"):
        impl.BlockAllocator(0)
    alloc = impl.BlockAllocator(1024)
    with pytest.raises(ValueError, match="size"):
        alloc.malloc(0)
    offset = alloc.malloc(10)
    alloc.free(offset)
    with pytest.raises(ValueError, match="double free"):
        alloc.free(offset)
    with pytest.raises(ValueError):
        alloc.free(12345)
