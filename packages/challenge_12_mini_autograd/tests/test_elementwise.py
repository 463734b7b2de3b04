"""Task 2: + - * / ** and unary minus, with numpy broadcasting, against torch.autograd."""

from __future__ import annotations

import operator
from collections.abc import Callable
from types import ModuleType
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from prep.testing import assert_close

pytestmark = pytest.mark.task(2)

Oracle = Callable[..., None]
finite = st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False)
# Denominators and bases stay away from 0 so quotients and powers are well conditioned.
away_from_zero = st.floats(0.5, 3.0).flatmap(lambda v: st.sampled_from([v, -v]))


@st.composite
def broadcast_pair(draw: st.DrawFn, second: st.SearchStrategy[float] = finite) -> tuple[Any, Any]:
    shapes = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
    )
    a = draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=finite))
    b = draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=second))
    return a, b


OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


@pytest.mark.parametrize("name", sorted(OPS))
@given(pair=broadcast_pair())
def test_binary_op_broadcasts_like_torch(
    against_torch: Oracle, name: str, pair: tuple[Any, Any]
) -> None:
    op = OPS[name]
    against_torch(op, op, *pair, task=2)


@given(pair=broadcast_pair(second=away_from_zero))
def test_division_broadcasts_like_torch(against_torch: Oracle, pair: tuple[Any, Any]) -> None:
    against_torch(operator.truediv, operator.truediv, *pair, task=2)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, -2.5, 0])
@given(
    base=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=0, max_dims=2, max_side=4),
        elements=st.floats(0.2, 3.0),
    )
)
def test_power_matches_torch(against_torch: Oracle, exponent: float, base: Any) -> None:
    against_torch(lambda x: x**exponent, lambda x: x**exponent, base, task=2)


def test_power_zero_has_zero_gradient_even_at_zero(impl: ModuleType) -> None:
    """d/dx x**0 = 0 everywhere, as torch gives; p * x**(p - 1) would be 0 * inf = nan at 0."""
    values = np.array([0.0, 2.0, -1.5])
    x = impl.Tensor(values, requires_grad=True)
    (x**0).sum().backward()
    ref = torch.tensor(values, requires_grad=True)
    (ref**0).sum().backward()
    assert_close(x.grad, ref.grad, equal_nan=False, task=2, what="gradient of x**0")


@given(
    a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=finite)
)
def test_negation(against_torch: Oracle, a: Any) -> None:
    against_torch(operator.neg, operator.neg, a, task=2)


@pytest.mark.parametrize(
    "expr",
    [
        lambda x: 2.0 + x,
        lambda x: x + 2,
        lambda x: 1.5 - x,
        lambda x: x - 1,
        lambda x: 3 * x,
        lambda x: x * 0.5,
        lambda x: 2.0 / x,
        lambda x: x / 4,
    ],
    ids=["radd", "add", "rsub", "sub", "rmul", "mul", "rdiv", "div"],
)
def test_python_numbers_mix_in(against_torch: Oracle, expr: Callable[[Any], Any]) -> None:
    against_torch(expr, expr, np.array([[0.5, -1.5], [2.0, 3.0]]), task=2)


def test_numpy_array_on_the_left(impl: ModuleType) -> None:
    x = impl.Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([10.0, 20.0]) * x  # numpy must defer to Tensor.__rmul__
    assert isinstance(y, impl.Tensor)
    y.sum().backward()
    assert_close(x.grad, [10.0, 20.0], task=2, what="grad of x")


def test_same_tensor_on_both_sides(against_torch: Oracle) -> None:
    against_torch(
        lambda a: a * a - a / a, lambda a: a * a - a / a, np.array([1.5, -2.0, 3.0]), task=2
    )


def test_broadcast_gradient_is_summed_to_the_operand_shape(impl: ModuleType) -> None:
    row = impl.Tensor(np.ones((1, 3)), requires_grad=True)
    grid = impl.Tensor(np.ones((2, 4, 3)))
    (grid * row).sum().backward()
    assert row.grad is not None
    assert row.grad.shape == (1, 3)
    assert_close(row.grad, np.full((1, 3), 8.0), task=2, what="grad of the broadcast row")


def test_exponent_must_be_a_number(impl: ModuleType) -> None:
    x = impl.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="exponent"):
        _ = x ** impl.Tensor(2.0)


def test_division_by_zero_gives_inf_like_torch(impl: ModuleType) -> None:
    out = impl.Tensor([1.0, -1.0, 0.0], requires_grad=True) / 0.0
    expected = torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64) / 0.0
    assert_close(out.data, expected, task=2, what="x / 0")
