"""Task 2: max_pool2d with argmax indices, and its backward, against torch, float64."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional as F  # noqa: N812 - the field's name for it

from prep.testing import assert_close

if TYPE_CHECKING:
    from conftest import Make, Oracle

pytestmark = pytest.mark.task(2)


def check_pool(
    impl: ModuleType, make: Make, oracle: Oracle, x: torch.Tensor, **options: Any
) -> None:
    expected, indices = F.max_pool2d(x, return_indices=True, **options)
    out, got_indices = impl.max_pool2d(x, **options)
    # a max is one of the inputs, copied: exact
    assert_close(out, expected, rtol=0, task=2, what="max_pool2d output")
    assert_close(got_indices, indices, rtol=0, task=2, what="argmax indices")
    upstream = make(*expected.shape)
    _, (grad,) = oracle(lambda t: F.max_pool2d(t, **options), [x], upstream)
    mine = impl.max_pool2d_backward(upstream, got_indices, tuple(x.shape))
    # several windows may share a maximum: their gradients add, in any order
    assert_close(mine, grad, rtol=1e-12, atol=1e-14, task=2, what="grad of input")


@st.composite
def pool_cases(draw: st.DrawFn) -> dict[str, Any]:
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    low = [
        max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding, strict=True)
    ]
    shape = (
        draw(st.integers(1, 2)),
        draw(st.integers(1, 3)),
        draw(st.integers(low[0], low[0] + 6)),
        draw(st.integers(low[1], low[1] + 6)),
    )
    return {
        "shape": shape,
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
    }


@given(case=pool_cases())
def test_matches_torch_on_random_configurations(
    impl: ModuleType, make: Make, oracle: Oracle, case: dict[str, Any]
) -> None:
    check_pool(impl, make, oracle, make(*case.pop("shape")), **case)


@pytest.mark.parametrize(
    "options",
    [
        {"kernel_size": 2},  # stride defaults to the kernel
        {"kernel_size": 3, "stride": 1, "padding": 1},  # overlapping windows
        {"kernel_size": 3, "stride": 2, "padding": 1},  # ResNet's stem pool
        {"kernel_size": 2, "stride": 3},  # stride larger than the kernel: pixels skipped
        {"kernel_size": (3, 2), "stride": (1, 2), "dilation": (2, 1)},
    ],
)
def test_matches_torch_on_named_cases(
    impl: ModuleType, make: Make, oracle: Oracle, options: dict[str, Any]
) -> None:
    check_pool(impl, make, oracle, make(2, 3, 7, 8), **options)


def test_shared_maximum_collects_every_windows_gradient(impl: ModuleType) -> None:
    # one large pixel in the middle is the max of all nine 3x3 windows around it
    x = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    x[0, 0, 2, 2] = 1.0
    out, indices = impl.max_pool2d(x, 3, stride=1, padding=1)
    grad = impl.max_pool2d_backward(torch.ones_like(out), indices, (1, 1, 5, 5))
    assert_close(grad[0, 0, 2, 2], 9.0, task=2, what="gradient of the shared maximum")


def test_all_negative_input_ignores_the_padding(
    impl: ModuleType, make: Make, oracle: Oracle
) -> None:
    # padding counts as -inf, not 0: a negative image's maxima are still its own pixels
    check_pool(impl, make, oracle, -1.0 - make(1, 2, 5, 5).abs(), kernel_size=3, padding=1)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"kernel_size": 0}, ValueError, "kernel_size"),
        ({"kernel_size": 2.0}, TypeError, "kernel_size"),
        ({"kernel_size": 2, "padding": 2}, ValueError, "half the kernel"),
        ({"kernel_size": 2, "stride": 0}, ValueError, "stride"),
        ({"kernel_size": 9}, ValueError, "larger than"),
    ],
)
def test_bad_arguments_raise_clear_errors(
    impl: ModuleType, options: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        impl.max_pool2d(torch.zeros(1, 1, 5, 5, dtype=torch.float64), **options)


def test_rejects_a_non_tensor_and_wrong_rank(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        impl.max_pool2d([[1.0]], 2)
    with pytest.raises(ValueError, match="x must have 4"):
        impl.max_pool2d(torch.zeros(5, 5, dtype=torch.float64), 2)


def test_backward_rejects_indices_of_another_shape(impl: ModuleType, make: Make) -> None:
    out, indices = impl.max_pool2d(make(1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match="indices"):
        impl.max_pool2d_backward(make(1, 1, 3, 3), indices, (1, 1, 4, 4))
    with pytest.raises(TypeError, match="indices"):
        impl.max_pool2d_backward(out, indices.float(), (1, 1, 4, 4))
