"""Random expression graphs (tasks 1-4 together) against torch.autograd.

hypothesis draws a program: a few leaves, then a sequence of ops whose operands are any earlier
values, so nodes are reused (fan-out), results are broadcast against each other, shapes change
(matmul, sums over an axis, reshape, transpose), and the graph is a DAG rather than a chain.
Both engines run the same program; the output and every leaf gradient must match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.task(1)

Oracle = Callable[..., None]
Step = tuple[str, int, int, int]  # (op, first operand, second operand, op option)
UNARY = ("tanh", "sigmoid", "exp_small", "log", "square", "neg", "sum", "reshape", "transpose")
BINARY = ("add", "sub", "mul", "div", "matmul")


def _is_torch(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def _sum(x: Any, option: int) -> Any:
    if x.ndim == 0:
        return x.sum()
    axis, keepdims = option % x.ndim, option % 2 == 0
    return (
        x.sum(dim=axis, keepdim=keepdims) if _is_torch(x) else x.sum(axis=axis, keepdims=keepdims)
    )


def _transpose(x: Any) -> Any:
    """All axes reversed (numpy's ``transpose()``; torch spells it ``permute``)."""
    if x.ndim < 2:
        return x  # nothing to permute (and torch's permute needs at least one axis)
    return x.permute(*reversed(range(x.ndim))) if _is_torch(x) else x.transpose()


def _broadcasts(x: Any, y: Any) -> bool:
    try:
        np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
    except ValueError:
        return False
    return True


def _matmul(x: Any, y: Any) -> Any:
    if 1 <= x.ndim <= 2 and 1 <= y.ndim <= 2 and x.shape[-1] == y.shape[0]:
        return x @ y
    if x.ndim >= 1:
        return x @ _transpose(x) if x.ndim == 2 else x @ x  # (m, m) or ()
    return x * y.sum()


def _apply(step: Step, values: list[Any]) -> Any:
    name, i, j, option = step
    x, y = values[i % len(values)], values[j % len(values)]
    unary: dict[str, Callable[[], Any]] = {
        "tanh": x.tanh,
        "sigmoid": x.sigmoid,
        "exp_small": lambda: (x * 0.1).exp(),
        "log": lambda: (x * x + 0.5).log(),  # argument >= 0.5: finite, well conditioned
        "square": lambda: x**2,
        "neg": lambda: -x,
        "sum": lambda: _sum(x, option),
        "reshape": lambda: x.reshape(-1) if option % 2 else x.reshape(-1, 1),
        "transpose": lambda: _transpose(x),
    }
    if name in unary:
        return unary[name]()
    if name == "matmul":
        return _matmul(x, y)
    if not _broadcasts(x, y):
        y = y.sum()  # a scalar broadcasts against anything
    if name == "add":
        return x + y
    if name == "sub":
        return x - y
    if name == "div":
        return x / (y * y + 1.0)  # denominator >= 1
    return x * y


def _program(steps: list[Step]) -> Callable[..., Any]:
    def run(*leaves: Any) -> Any:
        values = list(leaves)
        for step in steps:
            values.append(_apply(step, values))
        return values[-1].sum() * values[-2].sum() + values[0]  # combines several nodes

    return run


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[Step], list[Any]]:
    shapes = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=1, max_dims=2, max_side=3)
    )
    leaves = [
        draw(hnp.arrays(np.float64, s, elements=st.floats(-1.5, 1.5))) for s in shapes.input_shapes
    ]
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(UNARY + BINARY),
                st.integers(0, 50),
                st.integers(0, 50),
                st.integers(0, 5),
            ),
            min_size=2,
            max_size=12,
        )
    )
    return steps, leaves


@given(case=programs())
def test_random_graphs_match_torch(
    against_torch: Oracle, case: tuple[list[Step], list[Any]]
) -> None:
    steps, leaves = case
    program = _program(steps)
    against_torch(program, program, *leaves, task=1, rtol=1e-9, atol=1e-11)
