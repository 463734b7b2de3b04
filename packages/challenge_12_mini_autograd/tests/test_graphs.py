"""Random expression graphs (tasks 1-4 together) against torch.autograd.

hypothesis draws a program: a few leaves, then a sequence of ops whose operands are any earlier
values, so nodes are reused (fan-out), results are broadcast against each other, and the graph
is a DAG rather than a chain. Both engines run the same program; every leaf gradient must match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.task(1)

Oracle = Callable[..., None]
UNARY = ("tanh", "sigmoid", "exp_small", "square", "neg")
BINARY = ("add", "sub", "mul")


def _apply(step: tuple[str, int, int], values: list[Any]) -> Any:
    name, i, j = step
    x, y = values[i % len(values)], values[j % len(values)]
    if name == "tanh":
        return x.tanh()
    if name == "sigmoid":
        return x.sigmoid()
    if name == "exp_small":
        return (x * 0.1).exp()
    if name == "square":
        return x**2
    if name == "neg":
        return -x
    if name == "add":
        return x + y
    if name == "sub":
        return x - y
    return x * y


def _program(steps: list[tuple[str, int, int]]) -> Callable[..., Any]:
    def run(*leaves: Any) -> Any:
        values = list(leaves)
        for step in steps:
            values.append(_apply(step, values))
        return values[-1] * values[-2] + values[0]  # ends on a combination of several nodes

    return run


@st.composite
def programs(draw: st.DrawFn) -> tuple[list[tuple[str, int, int]], list[Any]]:
    shapes = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=1, max_dims=2, max_side=3)
    )
    leaves = [
        draw(hnp.arrays(np.float64, s, elements=st.floats(-2.0, 2.0))) for s in shapes.input_shapes
    ]
    steps = draw(
        st.lists(
            st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 50), st.integers(0, 50)),
            min_size=2,
            max_size=12,
        )
    )
    return steps, leaves


@given(case=programs())
def test_random_graphs_match_torch(
    against_torch: Oracle, case: tuple[list[tuple[str, int, int]], list[Any]]
) -> None:
    steps, leaves = case
    program = _program(steps)
    against_torch(program, program, *leaves, task=1, rtol=1e-9, atol=1e-11)
