"""Task 1: fans, Xavier and He initialisation against ``torch.nn.init``.

The distributions are compared with scipy's two-sample Kolmogorov-Smirnov test on 20,000
draws each (fixed seeds, so the p-values are fixed numbers, not a flaky coin): a standard
deviation off by 10% gives p < 1e-10 at this size, a correct one p well above 1e-3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType

import pytest
import torch
from challenge_14_training_from_scratch.schemes import Distribution, FanMode
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from torch import Tensor

P_MIN = 1e-3  # reject "same distribution" below this p-value
SAMPLES = 20_000

# (out, in) with fan_in != fan_out, square, and a conv weight (out, in, kh, kw)
SHAPES = [(50, 400), (400, 50), (20, 20, 5, 5), (8, 2500)]


def _torch_sample(init: Callable[..., Tensor], shape: tuple[int, ...], **kwargs: object) -> Tensor:
    tensor = torch.empty(shape)
    init(tensor, generator=torch.Generator().manual_seed(1), **kwargs)
    return tensor


def _same_distribution(ours: Tensor, theirs: Tensor, what: str) -> None:
    assert ours.shape == theirs.shape, f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
    result = stats.ks_2samp(ours.flatten().numpy(), theirs.flatten().numpy())
    assert result.pvalue > P_MIN, (
        f"{what}: not torch.nn.init's distribution (KS statistic {result.statistic:.4f}, "
        f"p = {result.pvalue:.2e}); std {ours.std():.5f} vs torch {theirs.std():.5f}, "
        f"range [{ours.min():.4f}, {ours.max():.4f}] vs [{theirs.min():.4f}, {theirs.max():.4f}]"
        " - revisit README task 1"
    )


@pytest.mark.task(1)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("mode", list(FanMode), ids=lambda m: m.value)
@pytest.mark.parametrize("distribution", list(Distribution), ids=lambda d: d.value)
def test_he_init_matches_kaiming(
    impl: ModuleType, shape: tuple[int, ...], mode: FanMode, distribution: Distribution
) -> None:
    ours = impl.he_init(shape, distribution, mode, generator=torch.Generator().manual_seed(0))
    init = (
        torch.nn.init.kaiming_uniform_
        if distribution is Distribution.UNIFORM
        else torch.nn.init.kaiming_normal_
    )
    theirs = _torch_sample(init, shape, mode=mode.value, nonlinearity="relu")
    _same_distribution(ours, theirs, f"he_init({shape}, {distribution.value}, {mode.value})")


@pytest.mark.task(1)
@pytest.mark.parametrize("shape", SHAPES[:3], ids=str)
@pytest.mark.parametrize("distribution", list(Distribution), ids=lambda d: d.value)
def test_xavier_init_matches_torch(
    impl: ModuleType, shape: tuple[int, ...], distribution: Distribution
) -> None:
    gain = torch.nn.init.calculate_gain("tanh")
    ours = impl.xavier_init(shape, distribution, gain, generator=torch.Generator().manual_seed(0))
    init = (
        torch.nn.init.xavier_uniform_
        if distribution is Distribution.UNIFORM
        else torch.nn.init.xavier_normal_
    )
    _same_distribution(
        ours, _torch_sample(init, shape, gain=gain), f"xavier_init({shape}, {distribution.value})"
    )


@pytest.mark.task(1)
def test_leaky_relu_gain(impl: ModuleType) -> None:
    shape = (200, 100)
    ours = impl.he_init(
        shape, Distribution.UNIFORM, negative_slope=0.2, generator=torch.Generator().manual_seed(0)
    )
    theirs = _torch_sample(torch.nn.init.kaiming_uniform_, shape, a=0.2, nonlinearity="leaky_relu")
    _same_distribution(ours, theirs, "he_init(negative_slope=0.2)")


@pytest.mark.task(1)
def test_uniform_stays_inside_its_bound(impl: ModuleType) -> None:
    shape = (300, 100)
    bound = math.sqrt(3.0) * math.sqrt(2.0 / 100)
    sample = impl.he_init(shape, Distribution.UNIFORM, generator=torch.Generator().manual_seed(0))
    assert float(sample.abs().max()) <= bound, "a uniform He sample lies outside sqrt(6 / fan_in)"
    assert float(sample.abs().max()) > 0.99 * bound, "the uniform sample does not reach its bound"


@pytest.mark.task(1)
def test_seeded_generator_and_dtype(impl: ModuleType) -> None:
    def draw() -> Tensor:
        generator = torch.Generator().manual_seed(7)
        result: Tensor = impl.xavier_init((30, 40), generator=generator, dtype=torch.float64)
        return result

    first, second = draw(), draw()
    assert first.dtype == torch.float64, f"dtype {first.dtype}, asked for float64"
    assert first.shape == (30, 40), f"shape {tuple(first.shape)}, asked for (30, 40)"
    assert torch.equal(first, second), "the same generator seed must give the same weights"


@pytest.mark.task(1)
@given(dims=st.lists(st.integers(1, 6), min_size=2, max_size=5))
def test_fans_match_torch(impl: ModuleType, dims: list[int]) -> None:
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(dims))
    assert impl.fan_in_and_fan_out(tuple(dims)) == expected


@pytest.mark.task(1)
def test_bad_arguments_are_refused(impl: ModuleType) -> None:
    assert impl.fan_in_and_fan_out((3, 4)) == (4, 3)
    with pytest.raises(ValueError, match="shape"):
        impl.fan_in_and_fan_out((5,))
    with pytest.raises(ValueError, match="shape"):
        impl.he_init((0, 3))
    with pytest.raises(TypeError, match="distribution"):
        impl.he_init((2, 3), "normal")
    with pytest.raises(TypeError, match="mode"):
        impl.he_init((2, 3), Distribution.NORMAL, "fan_in")
    with pytest.raises(ValueError, match="gain"):
        impl.xavier_init((2, 3), Distribution.NORMAL, -1.0)
    with pytest.raises(TypeError, match="dtype"):
        impl.xavier_init((2, 3), dtype=torch.int64)
