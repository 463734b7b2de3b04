"""Task 5: relu, gelu (exact and tanh), silu and dropout, forward and backward."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

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

pytestmark = pytest.mark.task(5)

# name -> (our forward, our backward, torch's function), for each activation and mode
ACTIVATIONS: dict[str, tuple[str, dict[str, object], Callable[[torch.Tensor], torch.Tensor]]] = {
    "relu": ("relu", {}, F.relu),
    "gelu exact": ("gelu", {"approximate": "none"}, F.gelu),
    "gelu tanh": ("gelu", {"approximate": "tanh"}, lambda t: F.gelu(t, approximate="tanh")),
    "silu": ("silu", {}, F.silu),
}


def _options(impl: ModuleType, raw: dict[str, object]) -> dict[str, object]:
    return {k: impl.Approximate(v) for k, v in raw.items()}


def check_activation(
    impl: ModuleType, oracle: Oracle, name: str, x: torch.Tensor, upstream: torch.Tensor
) -> None:
    function, raw, reference = ACTIVATIONS[name]
    options = _options(impl, raw)
    expected, (grad,) = oracle(reference, [x], upstream)
    out = getattr(impl, function)(x, **options)
    assert_close(out, expected, rtol=RTOL, atol=ATOL, task=5, what=f"{name} output")
    mine = getattr(impl, f"{function}_backward")(upstream, x, **options)
    assert_close(mine, grad, rtol=RTOL, atol=ATOL, task=5, what=f"{name} grad of input")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@given(
    shape=st.lists(st.integers(1, 5), min_size=0, max_size=3),
    scale=st.sampled_from([0.1, 1.0, 5.0]),
)
def test_matches_torch_on_random_inputs(
    impl: ModuleType, make: Make, oracle: Oracle, name: str, shape: list[int], scale: float
) -> None:
    check_activation(impl, oracle, name, make(*shape, scale=scale), make(*shape))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_edge_values(impl: ModuleType, oracle: Oracle, name: str) -> None:
    # 0 (relu's kink: torch's gradient there is 0), tiny, and saturated inputs
    x = torch.tensor([0.0, -0.0, 1e-300, -1e-8, 30.0, -30.0, 1e3, -1e3], dtype=torch.float64)
    check_activation(impl, oracle, name, x, torch.linspace(-1, 2, len(x), dtype=torch.float64))


def test_dropout_scales_kept_values_and_zeroes_the_rest(impl: ModuleType, make: Make) -> None:
    x = make(64, 64)
    out, mask = impl.dropout(x, 0.25, generator=torch.Generator().manual_seed(1))
    assert mask.dtype == torch.bool
    assert mask.shape == x.shape
    expected = torch.where(mask, x / 0.75, torch.zeros_like(x))  # inverted dropout
    assert_close(out, expected, rtol=1e-15, task=5, what="dropout output")


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keeps_each_value_with_probability_one_minus_p(impl: ModuleType, p: float) -> None:
    n = 200_000
    _, mask = impl.dropout(
        torch.ones(n, dtype=torch.float64), p, generator=torch.Generator().manual_seed(2)
    )
    kept = int(mask.sum())
    sigma = (n * p * (1 - p)) ** 0.5  # binomial(n, 1 - p): 6 sigma is a 1e-9 false alarm
    assert abs(kept - n * (1 - p)) < 6 * sigma, f"kept {kept} of {n} at p={p}"


def test_dropout_is_reproducible_from_the_generator(impl: ModuleType, make: Make) -> None:
    x = make(32, 32)
    a = impl.dropout(x, 0.5, generator=torch.Generator().manual_seed(7))[1]
    b = impl.dropout(x, 0.5, generator=torch.Generator().manual_seed(7))[1]
    c = impl.dropout(x, 0.5, generator=torch.Generator().manual_seed(8))[1]
    assert torch.equal(a, b), "the same seed must give the same mask"
    assert not torch.equal(a, c), "another seed must give another mask"


def test_dropout_backward_routes_through_the_mask(impl: ModuleType, make: Make) -> None:
    x, upstream = make(10, 20), make(10, 20)
    _, mask = impl.dropout(x, 0.3, generator=torch.Generator().manual_seed(3))
    grad = impl.dropout_backward(upstream, mask, 0.3)
    expected = torch.where(mask, upstream / 0.7, torch.zeros_like(upstream))
    assert_close(grad, expected, rtol=1e-15, task=5, what="dropout grad of input")


def test_dropout_edge_probabilities_and_eval_mode(impl: ModuleType, make: Make) -> None:
    x = make(5, 6)
    assert_close(impl.dropout(x, 0.0)[0], x, task=5, what="p = 0 keeps everything")
    assert_close(
        impl.dropout(x, 1.0)[0], torch.zeros_like(x), task=5, what="p = 1 drops everything"
    )
    out, mask = impl.dropout(x, 0.5, training=False)
    assert_close(out, x, task=5, what="eval mode is the identity")
    grad = impl.dropout_backward(x, mask, 0.5, training=False)
    assert_close(grad, x, task=5, what="eval mode's gradient is the identity")


def test_bad_arguments_raise_clear_errors(impl: ModuleType) -> None:
    x = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="p must lie in"):
        impl.dropout(x, 1.5)
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        impl.relu([1.0])
    with pytest.raises(TypeError, match="approximate"):
        impl.gelu(x, approximate="tanh")
    with pytest.raises(ValueError, match="shape"):
        impl.silu_backward(torch.zeros(2, dtype=torch.float64), x)
    with pytest.raises(TypeError, match="mask"):
        impl.dropout_backward(x, torch.ones(3), 0.5)
