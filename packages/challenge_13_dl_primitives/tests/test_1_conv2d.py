"""Task 1: conv2d forward and backward against ``F.conv2d`` and autograd, float64."""

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

# float64 on both sides; GEMMs and reductions sum in another order, hence a little slack
RTOL, ATOL = 1e-9, 1e-11

pytestmark = pytest.mark.task(1)


def check_conv(
    impl: ModuleType, make: Make, oracle: Oracle, n: int, c_in: int, c_out: int, hw: tuple[int, int],
    kernel: tuple[int, int], bias: bool = True, **options: Any,
) -> None:  # fmt: skip
    """Compare ``impl.conv2d`` and ``impl.conv2d_backward`` with torch for one configuration."""
    groups = options.get("groups", 1)
    x = make(n, c_in, *hw)
    w = make(c_out, c_in // groups, *kernel)
    b = make(c_out) if bias else None
    expected, grads = oracle(lambda x, w, b: F.conv2d(x, w, b, **options), [x, w, b], None)
    out = impl.conv2d(x, w, b, **options)
    assert_close(out, expected, rtol=RTOL, atol=ATOL, task=1, what="conv2d output")
    upstream = make(*expected.shape)
    _, grads = oracle(lambda x, w, b: F.conv2d(x, w, b, **options), [x, w, b], upstream)
    got = impl.conv2d_backward(upstream, x, w, b, **options)
    assert len(got) == 3, "conv2d_backward returns (grad_input, grad_weight, grad_bias)"
    for what, mine, theirs in zip(("input", "weight", "bias"), got, grads, strict=True):
        if theirs is None:
            assert mine is None, f"grad of {what} must be None when the forward had no {what}"
            continue
        assert_close(mine, theirs, rtol=RTOL, atol=ATOL, task=1, what=f"grad of {what}")


@st.composite
def conv_cases(draw: st.DrawFn) -> dict[str, Any]:
    groups = draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    # the dilated kernel must fit in the padded input: odd and even sizes both come up
    low = [
        max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding, strict=True)
    ]
    hw = (draw(st.integers(low[0], low[0] + 6)), draw(st.integers(low[1], low[1] + 6)))
    return {
        "n": draw(st.integers(1, 2)),
        "c_in": groups * draw(st.integers(1, 3)),
        "c_out": groups * draw(st.integers(1, 3)),
        "hw": hw,
        "kernel": kernel,
        "bias": draw(st.booleans()),
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
    }


@given(case=conv_cases())
def test_matches_torch_on_random_configurations(
    impl: ModuleType, make: Make, oracle: Oracle, case: dict[str, Any]
) -> None:
    check_conv(impl, make, oracle, **case)


@pytest.mark.parametrize(
    ("name", "case"),
    [
        ("3x3 same padding", {"kernel": (3, 3), "padding": 1}),
        ("stride larger than the kernel", {"kernel": (2, 2), "stride": 3}),
        ("dilation 2", {"kernel": (3, 3), "dilation": 2, "padding": 2}),
        ("depthwise: groups = channels", {"kernel": (3, 3), "padding": 1, "groups": 4}),
        ("1x1 pointwise", {"kernel": (1, 1)}),
        ("odd sizes, asymmetric options", {"kernel": (3, 2), "stride": (2, 1), "padding": (1, 0)}),
        ("kernel as large as the input", {"kernel": (7, 6)}),
    ],
)
def test_matches_torch_on_named_cases(
    impl: ModuleType, make: Make, oracle: Oracle, name: str, case: dict[str, Any]
) -> None:
    kernel = case.pop("kernel")
    check_conv(impl, make, oracle, 2, 4, 8 if case.get("groups") else 3, (7, 6), kernel, **case)


def test_no_bias_gives_no_bias_gradient(impl: ModuleType, make: Make, oracle: Oracle) -> None:
    check_conv(impl, make, oracle, 1, 2, 3, (5, 5), (3, 3), bias=False, padding=1)


@pytest.mark.parametrize("padding", [0, 1])
def test_accepts_non_contiguous_inputs(impl: ModuleType, make: Make, padding: int) -> None:
    # a strided view (here channels-last memory) must be read through its own strides
    x = make(2, 3, 6, 5).to(memory_format=torch.channels_last)
    w = make(4, 3, 3, 3)
    view = make(2, 3, 10, 5)[:, :, ::2, :]  # every other row: not contiguous either
    for inputs in (x, view):
        expected = F.conv2d(inputs, w, padding=padding, stride=(1, 2))
        got = impl.conv2d(inputs, w, None, stride=(1, 2), padding=padding)
        assert_close(got, expected, rtol=RTOL, atol=ATOL, task=1, what="conv2d of a strided view")


def test_keeps_float32(impl: ModuleType, make: Make) -> None:
    x, w = make(1, 2, 6, 6).float(), make(3, 2, 3, 3).float()
    out = impl.conv2d(x, w, None, padding=1)
    assert out.dtype == torch.float32
    # float32 rounding over a 18-term dot product: ~1e-6 relative
    assert_close(out, F.conv2d(x, w, padding=1), rtol=1e-4, atol=1e-5, task=1, what="float32 conv")


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"x": [[1.0]]}, TypeError, "x must be a torch.Tensor"),
        ({"x": torch.zeros(1, 2, 5, 5, dtype=torch.int64)}, TypeError, "floating-point"),
        ({"x": torch.zeros(2, 5, 5, dtype=torch.float64)}, ValueError, "x must have 4"),
        ({"w": torch.zeros(3, 1, 3, 3, dtype=torch.float64)}, ValueError, "input channels"),
        ({"groups": 3}, ValueError, "groups"),
        ({"stride": 0}, ValueError, "stride"),
        ({"padding": -1}, ValueError, "padding"),
        ({"dilation": (1, 2, 3)}, TypeError, "dilation"),
        ({"b": torch.zeros(4, dtype=torch.float64)}, ValueError, "bias"),
        ({"w": torch.zeros(3, 2, 9, 3, dtype=torch.float64)}, ValueError, "larger than"),
    ],
)
def test_bad_arguments_raise_clear_errors(
    impl: ModuleType, change: dict[str, Any], error: type[Exception], match: str
) -> None:
    args: dict[str, Any] = {
        "x": torch.zeros(1, 2, 5, 5, dtype=torch.float64),
        "w": torch.zeros(3, 2, 3, 3, dtype=torch.float64),
        "b": torch.zeros(3, dtype=torch.float64),
        "stride": 1,
        "padding": 0,
        "dilation": 1,
        "groups": 1,
    }
    args.update(change)
    x, w, b = args.pop("x"), args.pop("w"), args.pop("b")
    with pytest.raises(error, match=match):
        impl.conv2d(x, w, b, **args)


def test_backward_rejects_a_wrongly_shaped_grad(impl: ModuleType, make: Make) -> None:
    x, w = make(1, 2, 5, 5), make(3, 2, 3, 3)
    with pytest.raises(ValueError, match="grad_out"):
        impl.conv2d_backward(make(1, 3, 5, 5), x, w, None)
