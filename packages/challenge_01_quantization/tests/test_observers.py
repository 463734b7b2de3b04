"""Task 3: calibration observers - min-max, percentile, MSE - over several batches."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from challenge_01_quantization.oracles import int_range, torch_fake_quantize, torch_qparams
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

pytestmark = pytest.mark.task(3)


def _batches(seed: int, n: int = 4) -> list[torch.Tensor]:
    """Batches of growing spread, so the observed range grows between updates."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(64, 16, generator=g) * (1 + k) + 0.5 * k for k in range(n)]


def _outlier_data() -> tuple[torch.Tensor, torch.Tensor]:
    """(bulk, bulk + 4 outliers): 20000 N(0, 1) values and four at 35..50."""
    g = torch.Generator().manual_seed(0)
    bulk = torch.randn(20000, generator=g)
    return bulk, torch.cat([bulk, torch.tensor([40.0, -35.0, 50.0, -45.0])])


def _mse(scale: torch.Tensor, zero: torch.Tensor, x: torch.Tensor) -> float:
    return float((torch_fake_quantize(x, scale, zero) - x).pow(2).mean())


def _observed(observer: Any, batches: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    for batch in batches:
        observer.update(batch)
    return observer.qparams()  # type: ignore[no-any-return]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), symmetric=st.booleans(), bits=st.integers(2, 8))
def test_minmax_matches_torch_over_batches(
    impl: ModuleType, seed: int, symmetric: bool, bits: int
) -> None:
    batches = _batches(seed)
    scale, zero = _observed(impl.MinMaxObserver(bits=bits, symmetric=symmetric), batches)
    data = torch.cat([b.flatten() for b in batches])
    want_scale, want_zero = torch_qparams(data.min(), data.max(), bits=bits, symmetric=symmetric)
    assert scale.shape == (), "observers give per-tensor (0-d) qparams"
    assert zero.shape == (), "observers give per-tensor (0-d) qparams"
    assert_close(scale, want_scale, rtol=1e-6, task=3, what="min-max scale over 4 batches")
    assert_close(zero, want_zero, atol=0, task=3, what="min-max zero point over 4 batches")


@pytest.mark.parametrize("p", [99.0, 99.9, 100.0])
def test_percentile_matches_numpy(impl: ModuleType, p: float) -> None:
    batches = _batches(1)
    data = torch.cat([b.flatten() for b in batches]).double().numpy()
    scale, _ = _observed(impl.PercentileObserver(p, bits=8, symmetric=True), batches)
    want = float(np.percentile(np.abs(data), p))
    # A histogram of 2048 bins over the range is enough: allow 1/500 of the largest |x|.
    assert_close(float(scale) * 127, want, atol=float(np.abs(data).max()) / 500, rtol=0, task=3,
                 what=f"clipping value of the {p}th percentile of |x|")  # fmt: skip
    scale, zero = _observed(impl.PercentileObserver(p, bits=8, symmetric=False), batches)
    qmin, qmax = int_range(8)
    lo, hi = (qmin - int(zero)) * float(scale), (qmax - int(zero)) * float(scale)
    want_lo, want_hi = np.percentile(data, 100 - p), np.percentile(data, p)
    tol = float(np.abs(data).max()) / 200 + float(scale)  # histogram bins + zero-point rounding
    assert_close(np.array([lo, hi]), np.array([want_lo, want_hi]), atol=tol, rtol=0, task=3,
                 what=f"asymmetric range at percentiles {100 - p} and {p}")  # fmt: skip


@pytest.mark.parametrize("symmetric", [True, False])
def test_percentile_and_mse_beat_minmax_under_outliers(impl: ModuleType, symmetric: bool) -> None:
    bulk, data = _outlier_data()
    errors = {}
    for name, observer in [
        ("minmax", impl.MinMaxObserver(bits=8, symmetric=symmetric)),
        ("percentile", impl.PercentileObserver(99.9, bits=8, symmetric=symmetric)),
        ("mse", impl.MSEObserver(bits=8, symmetric=symmetric)),
    ]:
        scale, zero = _observed(observer, [data[:10000], data[10000:]])
        errors[name] = (_mse(scale, zero, bulk), _mse(scale, zero, data))
    # Clipping the four outliers buys 60x finer steps for the bulk ...
    assert errors["percentile"][0] < 0.1 * errors["minmax"][0], f"bulk MSE {errors}"
    # ... and the MSE search finds a range that lowers the error over all the data.
    assert errors["mse"][1] < 0.95 * errors["minmax"][1], f"overall MSE {errors}"


def test_mse_keeps_the_full_range_without_outliers(impl: ModuleType) -> None:
    data = torch.linspace(-1.0, 1.0, 4001)  # uniform: clipping only adds error
    scale, _ = _observed(impl.MSEObserver(bits=8, symmetric=True), [data])
    assert float(scale) * 127 >= 0.95, f"MSE clipped a uniform range to {float(scale) * 127:.3f}"


@pytest.mark.parametrize("kind", ["percentile", "mse"])
def test_batches_equal_one_update(impl: ModuleType, kind: str) -> None:
    batches = _batches(2)

    def make() -> Any:
        return impl.PercentileObserver(99.0) if kind == "percentile" else impl.MSEObserver()

    scale_split, _ = _observed(make(), batches)
    scale_whole, _ = _observed(make(), [torch.cat([b.flatten() for b in batches])])
    assert_close(scale_split, scale_whole, rtol=2e-2, task=3, what=f"{kind} scale: 4 batches vs 1")


@pytest.mark.parametrize("kind", ["minmax", "percentile", "mse"])
def test_rejects_bad_input(impl: ModuleType, kind: str) -> None:
    make = {
        "minmax": impl.MinMaxObserver,
        "percentile": impl.PercentileObserver,
        "mse": impl.MSEObserver,
    }[kind]
    with pytest.raises(ValueError, match="NaN"):
        make().update(torch.tensor([1.0, float("nan")]))
    with pytest.raises(TypeError, match="float"):
        make().update(torch.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="update"):
        make().qparams()
    with pytest.raises(ValueError, match="bits"):
        make(bits=9)


@pytest.mark.parametrize("p", [0.0, -1.0, 100.5])
def test_percentile_rejects_bad_p(impl: ModuleType, p: float) -> None:
    with pytest.raises(ValueError, match="p"):
        impl.PercentileObserver(p)


def _skewed(seed: int) -> torch.Tensor:
    """One-sided, heavy-tailed data (like post-GELU activations): most mass near 0, a long
    positive tail, a little negative."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(30000, generator=g).pow(2) * 1.5 - 0.2


def _brute_force_mse(data: torch.Tensor, bits: int, symmetric: bool, grid: int) -> float:
    """The least MSE over task 3's candidates, each evaluated exactly on every value."""
    lo, hi = min(float(data.min()), 0.0), max(float(data.max()), 0.0)
    best = float("inf")
    for k in range(1, grid + 1):
        a, b = torch.tensor(lo * k / grid), torch.tensor(hi * k / grid)
        scale, zero = torch_qparams(a, b, bits=bits, symmetric=symmetric)
        error = float((torch_fake_quantize(data, scale, zero, bits=bits) - data).pow(2).mean())
        best = min(best, error)
    return best


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [8, 4])
def test_mse_observer_matches_a_brute_force_search(
    impl: ModuleType, symmetric: bool, bits: int
) -> None:
    data = _skewed(seed=3)
    observer = impl.MSEObserver(bits=bits, symmetric=symmetric, grid=50)
    scale, zero = _observed(observer, [data[:15000], data[15000:]])
    chosen = float((torch_fake_quantize(data, scale, zero, bits=bits) - data).pow(2).mean())
    best = _brute_force_mse(data, bits, symmetric, grid=50)
    # A histogram of the data may pick a neighbouring candidate: allow 3% over the optimum.
    assert chosen <= 1.03 * best, (
        f"MSE of the chosen range {chosen:.4g} vs {best:.4g} for the best of the 50 candidate "
        f"ranges ({'symmetric' if symmetric else 'asymmetric'}, {bits} bits) (task 3)"
    )


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["minmax", "percentile", "mse"])
def test_observers_take_cuda_batches(impl: ModuleType, kind: str) -> None:
    """Calibration data often lives on the GPU: the same batches there give the same qparams."""
    makers: dict[str, Callable[[], Any]] = {
        "minmax": lambda: impl.MinMaxObserver(symmetric=False),
        "percentile": lambda: impl.PercentileObserver(99.9, symmetric=False),
        "mse": lambda: impl.MSEObserver(symmetric=False),
    }
    make = makers[kind]
    batches = _batches(4)
    scale_cpu, zero_cpu = _observed(make(), batches)
    scale_gpu, zero_gpu = _observed(make(), [b.cuda() for b in batches])
    assert_close(scale_gpu.cpu(), scale_cpu, rtol=1e-5, task=3, what=f"{kind} scale, CUDA batches")
    assert_close(zero_gpu.cpu(), zero_cpu, atol=1, task=3, what=f"{kind} zero point, CUDA batches")
