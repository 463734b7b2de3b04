"""Task 4: search in a rotated sorted sequence, duplicates allowed."""

from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.task(4)


@st.composite
def rotated(draw: st.DrawFn) -> tuple[list[int], int]:
    values = sorted(draw(st.lists(st.integers(0, 6), max_size=24)))
    k = draw(st.integers(0, max(0, len(values) - 1)))
    target = draw(st.integers(-1, 7))
    return values[k:] + values[:k], target


@given(rotated())
def test_finds_the_target_or_reports_its_absence(
    impl: ModuleType, case: tuple[list[int], int]
) -> None:
    a, target = case
    index = impl.search_rotated(a, target)
    if target in a:
        assert 0 <= index < len(a), f"search_rotated({a}, {target}) = {index}"
        assert a[index] == target, f"search_rotated({a}, {target}) = {index}"
    else:
        assert index == -1, f"search_rotated({a}, {target}) = {index}, but it is absent"


@pytest.mark.parametrize(
    ("a", "target"),
    [([1, 1, 1, 0, 1, 1], 0), ([1, 0, 1, 1, 1], 0), ([2, 2, 2, 3, 1, 2], 1), ([3, 1], 1), ([1], 1)],
)
def test_duplicates_that_hide_the_pivot(impl: ModuleType, a: list[int], target: int) -> None:
    assert a[impl.search_rotated(a, target)] == target


def test_empty_and_distinct(impl: ModuleType) -> None:
    assert impl.search_rotated([], 3) == -1
    assert impl.search_rotated([4, 5, 6, 7, 0, 1, 2], 0) == 4
    assert impl.search_rotated([4, 5, 6, 7, 0, 1, 2], 3) == -1
    assert impl.search_rotated((4.5, 9.0, 1.5), 1.5) == 2


@pytest.mark.parametrize("bad", [{1, 2, 3}, (x for x in range(3))])
def test_a_non_sequence_is_rejected(impl: ModuleType, bad: object) -> None:
    with pytest.raises(TypeError, match="sequence"):
        impl.search_rotated(bad, 1)
