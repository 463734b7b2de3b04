"""Task 1: the backward pass - topological order, accumulation, seeds and errors."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest
import torch

from prep.testing import assert_close

pytestmark = pytest.mark.task(1)


def test_node_used_twice_accumulates(impl: ModuleType) -> None:
    x = impl.Tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1: x reaches y along three edges
    y.backward()
    assert_close(y.data, 12.0, task=1, what="y")
    assert_close(x.grad, 7.0, task=1, what="dy/dx")


def test_diamond_matches_torch(impl: ModuleType) -> None:
    data = np.array([[0.5, -1.0], [2.0, 0.25]])
    a = impl.Tensor(data, requires_grad=True)
    b = a * 2.0
    c = (a * b + b.tanh()).sum()  # a and b both feed two ops
    c.backward()
    ta = torch.tensor(data, requires_grad=True)
    tb = ta * 2.0
    (ta * tb + tb.tanh()).sum().backward()
    assert_close(a.grad, ta.grad, rtol=1e-12, task=1, what="grad of a")


def test_leaf_grads_accumulate_until_zero_grad(impl: ModuleType) -> None:
    x = impl.Tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    assert_close(x.grad, [6.0, 6.0], task=1, what="grad after two backward calls")
    x.zero_grad()
    assert x.grad is None
    (x * x).sum().backward()
    assert_close(x.grad, [2.0, 4.0], task=1, what="grad after zero_grad")


def test_second_backward_through_shared_intermediate_is_not_double_counted(
    impl: ModuleType,
) -> None:
    x = impl.Tensor(2.0, requires_grad=True)
    h = x * x
    (h * 1.0).backward()
    (h * 1.0).backward()  # h's gradient of the first pass must not leak into the second
    assert_close(x.grad, 8.0, task=1, what="grad of x after two passes through h")


def test_explicit_upstream_gradient(impl: ModuleType) -> None:
    x = impl.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 0.0, -1.0]))
    assert_close(x.grad, [2.0, 0.0, -6.0], task=1, what="grad with an explicit upstream gradient")


def test_constants_get_no_grad(impl: ModuleType) -> None:
    x = impl.Tensor([1.0, 2.0], requires_grad=True)
    c = impl.Tensor([5.0, 7.0])
    y = x * c
    assert y.requires_grad is True
    assert (c * 2.0).requires_grad is False
    y.sum().backward()
    assert c.grad is None
    assert_close(x.grad, [5.0, 7.0], task=1, what="grad of x")


def test_backward_on_non_scalar_needs_a_gradient(impl: ModuleType) -> None:
    y = impl.Tensor([1.0, 2.0], requires_grad=True) * 2.0
    with pytest.raises(ValueError, match="needs grad"):
        y.backward()


def test_backward_rejects_a_gradient_of_the_wrong_shape(impl: ModuleType) -> None:
    y = impl.Tensor([1.0, 2.0], requires_grad=True) * 2.0
    with pytest.raises(ValueError, match="shape"):
        y.backward(np.ones(3))


def test_backward_without_requires_grad_is_an_error(impl: ModuleType) -> None:
    y = impl.Tensor(2.0) * 3.0
    with pytest.raises(ValueError, match="does not require grad"):
        y.backward()


def test_deep_graph_does_not_recurse(impl: ModuleType) -> None:
    """100,000 chained ops: a recursive topological sort overflows Python's stack here."""
    x = impl.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    expected = 1.00001**100_000  # d/dx of x * c^n
    assert_close(x.grad, expected, rtol=1e-9, task=1, what="grad through 100k multiplies")
    assert math.isclose(y.item(), expected, rel_tol=1e-9)
