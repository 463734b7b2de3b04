"""Task 1: the backward pass - topological order, accumulation, seeds and errors."""

from __future__ import annotations

import gc
import math
import sys
import tracemalloc
from types import FrameType, ModuleType
from typing import Any

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
    (h * 1.0).backward(retain_graph=True)
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


def test_second_backward_through_a_freed_graph_raises(impl: ModuleType) -> None:
    """As torch: backward() frees the graph, so running through it again is an error..."""
    x = impl.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    h = x.exp()
    (h * 2.0).sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 3.0).sum().backward()  # a new op on top of a freed node
    assert_close(x.grad, [2.0, 4.0] + 2.0 * np.exp([1.0, 2.0]), task=1, what="grad of x")


def test_retain_graph_keeps_it_for_a_second_pass(impl: ModuleType) -> None:
    """...unless the first call passed retain_graph=True; leaf gradients then add up."""
    x = impl.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, [4.0, 8.0], task=1, what="grad of x after two passes")


def _graph_memory_after_backward(impl: ModuleType, retain_graph: bool) -> int:
    """Bytes still allocated after backward() beyond those allocated before the graph."""
    x = impl.Tensor(np.linspace(-1.0, 1.0, 5_000), requires_grad=True)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = x.exp().tanh().sum()  # the intermediates live only in the graph
        y.backward(retain_graph=retain_graph)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before


def test_backward_frees_the_arrays_the_graph_saved(impl: ModuleType) -> None:
    """Once backward() has run, x's gradient remains but the graph's saved arrays must go: the
    pass keeps far less memory than one with retain_graph=True (which keeps them all)."""
    kept = _graph_memory_after_backward(impl, retain_graph=False)
    retained = _graph_memory_after_backward(impl, retain_graph=True)
    assert kept < 0.5 * retained, (
        f"{kept:,} bytes are still allocated after backward() against {retained:,} with "
        "retain_graph=True: the graph's saved arrays were not freed (revisit README task 1)"
    )


def test_backward_refuses_a_graph_whose_input_changed_in_place(impl: ModuleType) -> None:
    """An in-place update bumps ``_version``; the op that saved the old value must refuse."""
    w = impl.Tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w._version += 1  # what SGD.step does after it updates w.data in place
    with pytest.raises(RuntimeError, match="in place"):
        y.backward()


def test_backward_does_not_recurse(impl: ModuleType) -> None:
    """The Python call depth during backward() stays flat on a 3,000-op chain. A recursive
    walk fails here even with ``sys.setrecursionlimit`` raised (from 3.11 on, Python-to-Python
    recursion no longer uses the C stack, so a raised limit alone would not crash)."""
    x = impl.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3_000):
        y = y * 1.0001
    depth = deepest = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal depth, deepest
        if event == "call":
            depth += 1
            deepest = max(deepest, depth)
        elif event == "return":
            depth -= 1

    sys.setprofile(profile)
    try:
        y.backward()
    finally:
        sys.setprofile(None)
    assert deepest < 100, f"backward() nested {deepest} Python calls deep on a 3,000-op chain"
    assert_close(x.grad, 1.0001**3_000, rtol=1e-9, task=1, what="grad through 3,000 multiplies")
