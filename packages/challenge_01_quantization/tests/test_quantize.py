"""Task 2: quantize / dequantize - rounding, clamping, per-channel axes - against torch."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_01_quantization.oracles import int_range, torch_fake_quantize, torch_qparams
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

pytestmark = pytest.mark.task(2)


def _channel_view(t: torch.Tensor, ndim: int, axis: int) -> torch.Tensor:
    shape = [1] * ndim
    shape[axis] = -1
    return t.reshape(shape)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    bits=st.integers(2, 8),
    symmetric=st.booleans(),
    per_channel=st.booleans(),
    spread=st.floats(1e-3, 1e3),
)
def test_round_trip_error_is_at_most_half_a_step(
    impl: ModuleType,
    seed: int,
    shape: list[int],
    bits: int,
    symmetric: bool,
    per_channel: bool,
    spread: float,
) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g) * spread + spread * torch.rand((), generator=g)
    axis = len(shape) - 1 if per_channel else None
    if axis is None:
        scale, zero = torch_qparams(x.min(), x.max(), bits=bits, symmetric=symmetric)
        step = scale
    else:
        dims = [d for d in range(x.dim()) if d != axis]
        lo = x.amin(dim=dims) if dims else x
        hi = x.amax(dim=dims) if dims else x
        scale, zero = torch_qparams(lo, hi, bits=bits, symmetric=symmetric)
        step = _channel_view(scale, x.dim(), axis)
    q = impl.quantize(x, scale, zero, bits=bits, axis=axis)
    assert q.dtype == torch.int8, f"codes must be int8, got {q.dtype}"
    assert q.shape == x.shape, f"want shape {tuple(x.shape)}, got {tuple(q.shape)}"
    qmin, qmax = int_range(bits)
    assert qmin <= int(q.min()) <= int(q.max()) <= qmax, f"codes outside [{qmin}, {qmax}]"
    x_hat = impl.dequantize(q, scale, zero, axis=axis)
    assert x_hat.dtype == torch.float32
    # Every x lies inside the range the qparams cover, so rounding to nearest is off by at most
    # half a step (plus float32 rounding of x / scale and of the product).
    bound = step / 2 * (1 + 1e-5) + 1e-6 * x.abs()
    worst = float(((x_hat - x).abs() - bound).max())
    assert worst <= 0, f"round trip misses by {worst:g} beyond scale/2: round to nearest (task 2)"
    # torch's fused op computes x * (1/scale): a near-tie may land one code away, no more.
    want = torch_fake_quantize(x, scale, zero, bits=bits, axis=axis)
    assert bool(((x_hat - want).abs() <= step * 1.001).all()), "more than one code away from torch"


def test_rounds_half_to_even(impl: ModuleType) -> None:
    x = torch.tensor([0.25, 0.75, -0.25, -0.75, 1.25, 1.75])  # x / 0.5 = +-0.5, +-1.5, 2.5, 3.5
    q = impl.quantize(x, torch.tensor(0.5), torch.tensor(0, dtype=torch.int32))
    assert q.tolist() == [0, 2, 0, -2, 2, 4], (
        f"ties must round to even (torch.round), got {q.tolist()}"
    )


def test_clamps_to_the_integer_range(impl: ModuleType) -> None:
    x = torch.tensor([-100.0, -1.0, 0.0, 1.0, 100.0])
    q = impl.quantize(x, torch.tensor(0.25), torch.tensor(1, dtype=torch.int32), bits=4)
    assert q.tolist() == [-8, -3, 1, 5, 7], f"bits=4 codes must clamp to [-8, 7], got {q.tolist()}"
    back = impl.dequantize(q, torch.tensor(0.25), torch.tensor(1, dtype=torch.int32))
    assert_close(
        back, torch.tensor([-2.25, -1.0, 0.0, 1.0, 1.5]), rtol=0, task=2, what="dequantized clamp"
    )


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_per_channel_axis(impl: ModuleType, axis: int) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, generator=g) * torch.tensor([1.0, 10.0, 100.0, 1000.0])  # column scales
    x = x if axis != 0 else x.T.contiguous()
    reduce_dim = 1 - (axis % 2)
    scale, zero = torch_qparams(x.amin(reduce_dim), x.amax(reduce_dim), bits=8, symmetric=False)
    q = impl.quantize(x, scale, zero, bits=8, axis=axis)
    want = torch_fake_quantize(x, scale, zero, bits=8, axis=axis)
    step = _channel_view(scale, 2, axis % 2)
    assert_close(impl.dequantize(q, scale, zero, axis=axis), want, atol=float(step.max()) * 1e-3 + 1e-6,
                 rtol=1e-6, task=2, what=f"per-channel fake quantization along axis {axis}")  # fmt: skip


def test_zero_is_exact(impl: ModuleType) -> None:
    scale, zero = torch_qparams(torch.tensor(0.3), torch.tensor(7.1), bits=8, symmetric=False)
    x = torch.tensor([0.0, 0.3, 7.1])
    back = impl.dequantize(impl.quantize(x, scale, zero), scale, zero)
    assert float(back[0]) == 0.0, f"0.0 came back as {float(back[0])!r}"


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m: m.quantize(torch.ones(2, 3), torch.ones(3), torch.zeros(3, dtype=torch.int32), axis=2), ValueError, "axis"),
        (lambda m: m.quantize(torch.ones(2, 3), torch.ones(3), torch.zeros(3, dtype=torch.int32), axis=-3), ValueError, "axis"),
        (lambda m: m.quantize(torch.ones(2, 3), torch.ones(2), torch.zeros(2, dtype=torch.int32), axis=1), ValueError, "shape"),
        (lambda m: m.quantize(torch.ones(2, 3), torch.ones(3), torch.zeros(3, dtype=torch.int32)), ValueError, "axis|0-d"),
        (lambda m: m.quantize(torch.ones(3, dtype=torch.int32), torch.tensor(1.0), torch.tensor(0)), TypeError, "float"),
        (lambda m: m.quantize(torch.ones(3), torch.tensor(1.0), torch.tensor(0), bits=9), ValueError, "bits"),
        (lambda m: m.quantize(torch.ones(3), torch.tensor(1.0), torch.tensor(0), bits=1), ValueError, "bits"),
        (lambda m: m.quantize(torch.tensor([float("nan")]), torch.tensor(1.0), torch.tensor(0)), ValueError, "NaN"),
        (lambda m: m.quantize(torch.ones(3), torch.tensor(0.0), torch.tensor(0)), ValueError, "scale"),
        (lambda m: m.dequantize(torch.ones(3), torch.tensor(1.0), torch.tensor(0)), TypeError, "integer"),
        (lambda m: m.dequantize(torch.ones(2, 3, dtype=torch.int8), torch.ones(3), torch.zeros(3, dtype=torch.int32), axis=5), ValueError, "axis"),
    ],
)  # fmt: skip
def test_rejects_bad_input(impl: ModuleType, call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call(impl)
