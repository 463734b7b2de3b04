"""The given part of the starter: construction and validation (no task: it is not a TODO)."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest


def test_data_is_a_float64_copy(impl: ModuleType) -> None:
    source = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = impl.Tensor(source)
    source[0, 0] = 100
    assert t.data.dtype == np.float64
    assert t.shape == (2, 3)
    assert t.ndim == 2
    assert t.data[0, 0] == 0.0


def test_a_tensor_made_from_a_tensor_is_a_copy(impl: ModuleType) -> None:
    source = impl.Tensor([1.0, 2.0])
    copy = impl.Tensor(source)
    source.data[0] = 100.0
    assert copy.data[0] == 1.0


def test_scalars_and_lists(impl: ModuleType) -> None:
    assert impl.Tensor(2.5).shape == ()
    assert impl.Tensor(2.5).item() == 2.5
    assert impl.Tensor([[1, 2], [3, 4]]).shape == (2, 2)


def test_fresh_tensor_has_no_grad(impl: ModuleType) -> None:
    t = impl.Tensor([1.0, 2.0], requires_grad=True)
    assert t.grad is None
    assert t.requires_grad is True
    assert impl.Tensor([1.0]).requires_grad is False


@pytest.mark.parametrize("bad", ["abc", [True, False], np.array([1 + 2j]), [object()]])
def test_non_real_data_is_a_type_error(impl: ModuleType, bad: object) -> None:
    with pytest.raises(TypeError, match="data must"):
        impl.Tensor(bad)


def test_requires_grad_must_be_bool(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="requires_grad"):
        impl.Tensor([1.0], requires_grad=1)


def test_item_needs_one_element(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="one-element"):
        impl.Tensor([1.0, 2.0]).item()


@pytest.mark.parametrize("bad", [(0, 3), (3, 0), (-1, 2)])
def test_linear_rejects_non_positive_sizes(impl: ModuleType, bad: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        impl.Linear(*bad)
