"""Task 6: strided index arithmetic against torch's own strides and views, numpy's unravel_index,
and bit reversal against Python's string formatting."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.task(6)

shapes = st.lists(st.integers(0, 5), min_size=0, max_size=4)
nonempty_shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4)


@given(shape=shapes)
def test_contiguous_strides_match_torch(impl: ModuleType, shape: list[int]) -> None:
    assert impl.contiguous_strides(shape) == torch.empty(shape).stride()


@given(shape=nonempty_shapes, data=st.data())
def test_flat_offset_of_a_permuted_view_matches_torch(
    impl: ModuleType, shape: list[int], data: st.DataObject
) -> None:
    dims = data.draw(st.permutations(range(len(shape))))
    base = torch.arange(int(np.prod(shape))).reshape(shape)
    view = base.permute(dims)  # strides no longer row-major
    coord = tuple(data.draw(st.integers(0, s - 1)) for s in view.shape)
    new_shape, new_strides = impl.permute_strides(shape, base.stride(), dims)
    assert (new_shape, new_strides) == (tuple(view.shape), view.stride())
    assert impl.flat_offset(coord, new_shape, new_strides) == int(view[coord])
    assert impl.is_contiguous(new_shape, new_strides) == view.is_contiguous()


@given(shape=nonempty_shapes, data=st.data())
def test_flat_offset_of_a_strided_slice_matches_torch(
    impl: ModuleType, shape: list[int], data: st.DataObject
) -> None:
    steps = [data.draw(st.integers(1, 3)) for _ in shape]
    base = torch.arange(int(np.prod([s * t for s, t in zip(shape, steps, strict=True)])))
    view = base.reshape([s * t for s, t in zip(shape, steps, strict=True)])[
        tuple(slice(None, None, t) for t in steps)
    ]  # every t-th element along each dim: strides scaled by t
    coord = tuple(data.draw(st.integers(0, s - 1)) for s in view.shape)
    assert impl.flat_offset(coord, list(view.shape), list(view.stride())) == int(view[coord])
    assert impl.is_contiguous(list(view.shape), list(view.stride())) == view.is_contiguous()


def test_transpose_of_a_matrix(impl: ModuleType) -> None:
    shape, strides = impl.permute_strides([3, 5], [5, 1], [1, 0])
    assert (shape, strides) == ((5, 3), (1, 5))
    assert impl.flat_offset([4, 2], shape, strides) == 14  # element (2, 4) of the original
    assert impl.is_contiguous(shape, strides) is False


def test_size_one_and_empty_dims_follow_torch_contiguity(impl: ModuleType) -> None:
    assert impl.is_contiguous([2, 1, 3], [3, 99, 1]) is True  # a size-1 dim's stride is free
    assert impl.is_contiguous([2, 0, 3], [7, 7, 7]) is True  # no elements
    assert impl.is_contiguous([], []) is True
    t = torch.empty(2, 1, 3).as_strided((2, 1, 3), (3, 99, 1))
    assert t.is_contiguous()


@given(shape=nonempty_shapes, data=st.data())
def test_unravel_index_matches_numpy(
    impl: ModuleType, shape: list[int], data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, int(np.prod(shape)) - 1))
    expected = tuple(int(i) for i in np.unravel_index(index, shape))
    assert impl.unravel_index(index, shape) == expected
    assert impl.flat_offset(expected, shape, impl.contiguous_strides(shape)) == index


@given(x=st.integers(0, 2**32 - 1))
def test_reverse_bits_matches_string_reversal(impl: ModuleType, x: int) -> None:
    assert impl.reverse_bits(x) == int(f"{x:032b}"[::-1], 2)


@pytest.mark.parametrize(
    ("x", "expected"), [(0, 0), (1, 2**31), (2**31, 1), (2**32 - 1, 2**32 - 1), (0xF0000000, 0xF)]
)
def test_reverse_bits_edges(impl: ModuleType, x: int, expected: int) -> None:
    assert impl.reverse_bits(x) == expected


def test_bad_arguments_name_themselves(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"coord\[1\] = 3 is outside \[0, 3\)"):
        impl.flat_offset([0, 3], [2, 3], [3, 1])
    with pytest.raises(ValueError, match="shape has 2 entries but strides has 1"):
        impl.flat_offset([0, 0], [2, 3], [1])
    with pytest.raises(TypeError, match="coord must be a sequence of ints"):
        impl.flat_offset(5, [2, 3], [3, 1])
    with pytest.raises(TypeError, match=r"shape\[0\] must be an int"):
        impl.contiguous_strides([2.0, 3])
    with pytest.raises(ValueError, match="shape must hold sizes >= 0"):
        impl.contiguous_strides([2, -1])
    with pytest.raises(ValueError, match=r"dims must be a permutation of 0..2"):
        impl.permute_strides([1, 2, 3], [6, 3, 1], [0, 0, 1])
    with pytest.raises(ValueError, match=r"index 6 is outside \[0, 6\)"):
        impl.unravel_index(6, [2, 3])
    with pytest.raises(TypeError, match="x must be an int, got bool"):
        impl.reverse_bits(True)
    with pytest.raises(ValueError, match=r"x must be in \[0, 2\*\*32\)"):
        impl.reverse_bits(2**32)
