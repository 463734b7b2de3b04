"""Task 3: relu, tanh, exp, log, sigmoid - values and gradients against torch.autograd."""

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

from prep.testing import assert_close

pytestmark = pytest.mark.task(3)

Oracle = Callable[..., None]
shapes = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)
FUNCTIONS = ["relu", "tanh", "exp", "sigmoid"]


@pytest.mark.parametrize("name", FUNCTIONS)
@given(x=hnp.arrays(np.float64, shapes, elements=st.floats(-6.0, 6.0)))
def test_function_matches_torch(against_torch: Oracle, name: str, x: Any) -> None:
    against_torch(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, task=3)


@given(x=hnp.arrays(np.float64, shapes, elements=st.floats(0.01, 100.0)))
def test_log_matches_torch(against_torch: Oracle, x: Any) -> None:
    against_torch(lambda t: t.log(), lambda t: t.log(), x, task=3)


def test_log_of_zero_and_negatives_follows_torch(impl: ModuleType) -> None:
    """Documented choice: like torch, log(0) = -inf and log(x < 0) = nan, no exception."""
    values = np.array([0.0, -1.0, 1.0])
    out = impl.Tensor(values, requires_grad=True).log()
    assert_close(out.data, torch.log(torch.from_numpy(values)), task=3, what="log at 0, -1, 1")


def test_relu_gradient_at_zero_is_zero_like_torch(impl: ModuleType) -> None:
    x = impl.Tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    assert_close(x.grad, [0.0, 0.0, 1.0], task=3, what="relu'(x) at -1, 0, 2")


def test_sigmoid_does_not_overflow(impl: ModuleType) -> None:
    x = impl.Tensor([-1000.0, -40.0, 0.0, 40.0, 1000.0], requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):
        y = x.sigmoid()
        y.sum().backward()
    ref = torch.tensor(x.data, requires_grad=True)
    torch.sigmoid(ref).sum().backward()
    assert_close(y.data, ref.detach().sigmoid(), rtol=1e-12, task=3, what="sigmoid at extremes")
    assert_close(x.grad, ref.grad, rtol=1e-12, atol=1e-300, task=3, what="sigmoid' at extremes")
