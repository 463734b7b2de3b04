"""Task 1: scale and zero point, per tensor and per channel, against torch.ao's observers."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_01_quantization.oracles import int_range, torch_qparams
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

pytestmark = pytest.mark.task(1)

finite = st.floats(-1e4, 1e4, allow_nan=False, width=32)


@settings(max_examples=40, deadline=None)
@given(a=finite, b=finite, bits=st.integers(2, 8), symmetric=st.booleans())
def test_per_tensor_matches_torch(
    impl: ModuleType, a: float, b: float, bits: int, symmetric: bool
) -> None:
    lo, hi = torch.tensor(min(a, b)), torch.tensor(max(a, b))
    scale, zero = impl.compute_qparams(lo, hi, bits=bits, symmetric=symmetric)
    want_scale, want_zero = torch_qparams(lo, hi, bits=bits, symmetric=symmetric)
    assert scale.shape == (), "per-tensor qparams must be 0-d"
    assert zero.shape == (), "per-tensor qparams must be 0-d"
    assert scale.dtype == torch.float32, f"scale must be float32, got {scale.dtype}"
    # Same float32 formula as torch; one rounding of difference at most.
    assert_close(scale, want_scale, rtol=1e-6, task=1, what="scale")
    assert_close(zero, want_zero, atol=0, task=1, what="zero point")


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    channels=st.integers(1, 12),
    bits=st.integers(2, 8),
    symmetric=st.booleans(),
)
def test_per_channel_matches_torch(
    impl: ModuleType, seed: int, channels: int, bits: int, symmetric: bool
) -> None:
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(channels, generator=g) * 3, torch.randn(channels, generator=g) * 3 + 1
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    scale, zero = impl.compute_qparams(lo, hi, bits=bits, symmetric=symmetric)
    want_scale, want_zero = torch_qparams(lo, hi, bits=bits, symmetric=symmetric)
    assert_close(scale, want_scale, rtol=1e-6, task=1, what="per-channel scale")
    assert_close(zero, want_zero, atol=0, task=1, what="per-channel zero point")


@pytest.mark.parametrize(("lo", "hi"), [(2.0, 5.0), (-5.0, -2.0), (0.5, 0.5)])
def test_range_is_widened_to_include_zero(impl: ModuleType, lo: float, hi: float) -> None:
    """Zero must be an exact code (padding, ReLU zeros) even when the data never reaches it."""
    qmin, qmax = int_range(8)
    scale, zero = impl.compute_qparams(torch.tensor(lo), torch.tensor(hi), bits=8, symmetric=False)
    assert qmin <= int(zero) <= qmax, (
        f"zero point {int(zero)} is not a code: 0.0 is not representable"
    )
    covered_lo, covered_hi = (qmin - int(zero)) * float(scale), (qmax - int(zero)) * float(scale)
    covered = f"codes cover [{covered_lo}, {covered_hi}], not [{min(lo, 0.0)}, {max(hi, 0.0)}]"
    assert covered_lo <= min(lo, 0.0) + 1e-6, covered
    assert covered_hi >= max(hi, 0.0) - 1e-6, covered
    want_scale, want_zero = torch_qparams(
        torch.tensor(lo), torch.tensor(hi), bits=8, symmetric=False
    )
    assert_close(scale, want_scale, rtol=1e-6, task=1, what="scale of a range without 0")
    assert_close(zero, want_zero, atol=0, task=1, what="zero point of a range without 0")


@pytest.mark.parametrize("symmetric", [True, False])
def test_min_equals_max(impl: ModuleType, symmetric: bool) -> None:
    zeros = torch.zeros(3)
    scale, _zero = impl.compute_qparams(zeros, zeros, bits=8, symmetric=symmetric)
    eps = torch.finfo(torch.float32).eps
    assert bool((torch.isfinite(scale) & (scale > 0)).all()), (
        "an all-zero range needs a usable scale"
    )
    assert_close(scale, torch.full((3,), eps), rtol=1e-6, task=1, what="scale of an all-zero range")
    scale, _ = impl.compute_qparams(
        torch.tensor(3.0), torch.tensor(3.0), bits=8, symmetric=symmetric
    )
    want, _ = torch_qparams(torch.tensor(3.0), torch.tensor(3.0), bits=8, symmetric=symmetric)
    assert_close(scale, want, rtol=1e-6, task=1, what="scale of min == max == 3")


def test_symmetric_zero_point_is_zero(impl: ModuleType) -> None:
    scale, zero = impl.compute_qparams(torch.tensor([-1.0, -4.0]), torch.tensor([3.0, 2.0]), bits=8)
    assert zero.tolist() == [0, 0]
    assert_close(scale, torch.tensor([3.0, 4.0]) / 127, rtol=1e-6, task=1, what="symmetric scale")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bits": 1}, ValueError, "bits"),
        ({"bits": 9}, ValueError, "bits"),
        ({"bits": 8.0}, TypeError, "bits"),
        ({"min_val": torch.tensor(0), "max_val": torch.tensor(1)}, TypeError, "float"),
        ({"min_val": [0.0], "max_val": [1.0]}, TypeError, "min_val"),
        ({"min_val": torch.tensor(float("nan"))}, ValueError, "NaN"),
        ({"min_val": torch.tensor(2.0)}, ValueError, "min_val"),
        ({"min_val": torch.zeros(2)}, ValueError, "shape|differ"),
        ({"min_val": torch.zeros(2, 2), "max_val": torch.ones(2, 2)}, ValueError, "1-d|0-d"),
    ],
)
def test_rejects_bad_input(
    impl: ModuleType, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    args: dict[str, Any] = {"min_val": torch.tensor(-1.0), "max_val": torch.tensor(1.0), **kwargs}
    with pytest.raises(error, match=match):
        impl.compute_qparams(args.pop("min_val"), args.pop("max_val"), **args)
