"""Task 4: sum, mean, reshape, transpose and matmul, against torch.autograd."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.task(4)

Oracle = Callable[..., None]
finite = st.floats(-3.0, 3.0)


@st.composite
def array_and_axes(draw: st.DrawFn) -> tuple[Any, tuple[int, ...] | None]:
    x = draw(
        hnp.arrays(
            np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=finite
        )
    )
    axes = draw(st.none() | st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim))
    if axes is not None and len({a % x.ndim for a in axes}) != len(axes):
        axes = sorted({a % x.ndim for a in axes})
    return x, None if axes is None else tuple(axes)


def _dims(axes: tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim)) if axes is None else axes


@pytest.mark.parametrize("keepdims", [False, True])
@given(case=array_and_axes())
def test_sum_matches_torch(against_torch: Oracle, keepdims: bool, case: tuple[Any, Any]) -> None:
    x, axes = case
    against_torch(
        lambda t: t.sum(axis=axes, keepdims=keepdims),
        lambda t: t.sum(dim=_dims(axes, t.ndim), keepdim=keepdims),
        x,
        task=4,
    )


@pytest.mark.parametrize("keepdims", [False, True])
@given(case=array_and_axes())
def test_mean_matches_torch(against_torch: Oracle, keepdims: bool, case: tuple[Any, Any]) -> None:
    x, axes = case
    against_torch(
        lambda t: t.mean(axis=axes, keepdims=keepdims),
        lambda t: t.mean(dim=_dims(axes, t.ndim), keepdim=keepdims),
        x,
        task=4,
    )


def test_single_int_axis(against_torch: Oracle) -> None:
    x = np.arange(12.0).reshape(3, 4)
    against_torch(lambda t: t.sum(1), lambda t: t.sum(1), x, task=4)
    against_torch(lambda t: t.mean(-2), lambda t: t.mean(-2), x, task=4)


@pytest.mark.parametrize("shape", [(4, 3), (12,), (2, -1), (-1,), (1, 2, 6)])
def test_reshape(against_torch: Oracle, shape: tuple[int, ...]) -> None:
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    against_torch(lambda t: t.reshape(shape) * 2.0, lambda t: t.reshape(shape) * 2.0, x, task=4)
    against_torch(lambda t: t.reshape(*shape).tanh(), lambda t: t.reshape(*shape).tanh(), x, task=4)


@pytest.mark.parametrize("perm", [(), (2, 0, 1), (0, 2, 1), (1, 0, 2)])
def test_transpose(against_torch: Oracle, perm: tuple[int, ...]) -> None:
    x = np.linspace(-2, 2, 24).reshape(2, 3, 4)
    weights = np.linspace(0.5, 1.5, 24).reshape(2, 3, 4).transpose(perm or (2, 1, 0))
    against_torch(
        lambda t: t.transpose(*perm) * weights,
        lambda t: t.permute(*(perm or (2, 1, 0))) * torch.from_numpy(weights.copy()),
        x,
        task=4,
    )


def test_T_property(against_torch: Oracle) -> None:
    x = np.arange(6.0).reshape(2, 3)
    against_torch(lambda t: t.T * t.T, lambda t: t.T * t.T, x, task=4)


MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 3)),
]


@pytest.mark.parametrize(("a_shape", "b_shape"), MATMUL_SHAPES)
def test_matmul_matches_torch(
    against_torch: Oracle, a_shape: tuple[int, ...], b_shape: tuple[int, ...]
) -> None:
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    against_torch(lambda x, y: x @ y, lambda x, y: x @ y, a, b, task=4)


@given(
    m=st.integers(1, 4),
    k=st.integers(1, 4),
    n=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_matmul_random_sizes(against_torch: Oracle, m: int, k: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    against_torch(
        lambda x, y: (x @ y).tanh(),
        lambda x, y: (x @ y).tanh(),
        rng.standard_normal((m, k)),
        rng.standard_normal((k, n)),
        task=4,
    )


def test_matmul_shape_mismatch_is_a_clear_error(impl: ModuleType) -> None:
    a, b = impl.Tensor(np.ones((2, 3)), requires_grad=True), impl.Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match="matmul"):
        _ = a @ b


def test_matmul_of_a_scalar_is_an_error(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="matmul"):
        _ = impl.Tensor(2.0, requires_grad=True) @ impl.Tensor([1.0])


def test_sum_axis_out_of_range(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="axis"):
        impl.Tensor(np.ones((2, 3)), requires_grad=True).sum(axis=2)


def test_bad_reshape_is_a_clear_error(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="reshape"):
        impl.Tensor(np.ones((2, 3)), requires_grad=True).reshape(4, 2)
