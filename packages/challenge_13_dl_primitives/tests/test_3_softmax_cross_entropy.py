"""Task 3: softmax, log_softmax and cross_entropy, forward and backward, against torch."""

from __future__ import annotations

import math
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

pytestmark = pytest.mark.task(3)

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=3)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=shapes, data=st.data())
def test_matches_torch_on_random_shapes(
    impl: ModuleType, make: Make, oracle: Oracle, name: str, shape: list[int], data: st.DataObject
) -> None:
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = make(*shape, scale=3.0)
    expected, _ = oracle(lambda t: getattr(F, name)(t, dim=dim), [x])
    out = getattr(impl, name)(x, dim=dim)
    assert_close(out, expected, rtol=RTOL, atol=ATOL, task=3, what=f"{name} output")
    upstream = make(*shape)
    _, (grad,) = oracle(lambda t: getattr(F, name)(t, dim=dim), [x], upstream)
    mine = getattr(impl, f"{name}_backward")(upstream, out, dim=dim)
    assert_close(mine, grad, rtol=RTOL, atol=ATOL, task=3, what=f"{name} grad of input")


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_huge_logits_do_not_overflow(impl: ModuleType, name: str) -> None:
    x = torch.tensor([[1e4, 0.0, -1e4], [1e4, 1e4 - 1.0, 5e3]], dtype=torch.float64)
    out = getattr(impl, name)(x, dim=-1)
    assert torch.isfinite(out).all(), f"{name} of logits near 1e4 must be finite, got {out}"
    assert_close(out, getattr(F, name)(x, dim=-1), rtol=RTOL, atol=ATOL, task=3, what=name)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_minus_infinity_matches_torch(impl: ModuleType, name: str) -> None:
    # a masked entry gets probability 0 (log: -inf); a fully masked row is NaN in torch
    x = torch.tensor([[0.5, -math.inf, 1.0], [-math.inf] * 3], dtype=torch.float64)
    assert_close(
        getattr(impl, name)(x, dim=1), getattr(F, name)(x, dim=1), task=3, what=f"{name} at -inf"
    )


def test_backward_through_a_masked_entry_is_zero(impl: ModuleType, oracle: Oracle) -> None:
    x = torch.tensor([[0.5, -math.inf, 1.0]], dtype=torch.float64)
    upstream = torch.tensor([[1.0, 2.0, -1.0]], dtype=torch.float64)
    _, (grad,) = oracle(lambda t: F.softmax(t, dim=1), [x], upstream)
    mine = impl.softmax_backward(upstream, impl.softmax(x, dim=1), dim=1)
    assert_close(mine, grad, rtol=RTOL, atol=ATOL, task=3, what="softmax grad at -inf")


@st.composite
def ce_cases(draw: st.DrawFn) -> dict[str, Any]:
    n, c = draw(st.integers(1, 8)), draw(st.integers(1, 6))
    ignore_index = draw(st.sampled_from([-100, 0, c - 1]))
    target = draw(st.lists(st.integers(0, c - 1) | st.just(ignore_index), min_size=n, max_size=n))
    reductions = st.sampled_from(["mean", "sum", "none"])
    return {
        "n": n,
        "c": c,
        "target": target,
        "ignore_index": ignore_index,
        "label_smoothing": draw(st.sampled_from([0.0, 0.1, 0.35, 1.0])),
        "reduction": draw(reductions),
    }


def check_cross_entropy(impl: ModuleType, make: Make, oracle: Oracle, case: dict[str, Any]) -> None:
    logits = make(case["n"], case["c"], scale=3.0)
    target = torch.tensor(case["target"], dtype=torch.int64)
    options = {k: case[k] for k in ("ignore_index", "label_smoothing")}
    reduction = case["reduction"]

    def loss(z: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(z, target, reduction=reduction, **options)

    expected, _ = oracle(loss, [logits])
    mode = impl.Reduction(reduction)
    out = impl.cross_entropy(logits, target, reduction=mode, **options)
    assert_close(out, expected, rtol=RTOL, atol=ATOL, task=3, what=f"cross_entropy ({reduction})")
    if reduction == "mean" and bool((target == options["ignore_index"]).all()):
        return  # torch's loss is NaN (0 / 0): no gradient to compare
    upstream = (
        make(*expected.shape) if reduction == "none" else torch.tensor(0.7, dtype=torch.float64)
    )
    _, (grad,) = oracle(loss, [logits], upstream)
    mine = impl.cross_entropy_backward(upstream, logits, target, reduction=mode, **options)
    assert_close(mine, grad, rtol=RTOL, atol=ATOL, task=3, what="cross_entropy grad of logits")


@given(case=ce_cases())
def test_cross_entropy_matches_torch(
    impl: ModuleType, make: Make, oracle: Oracle, case: dict[str, Any]
) -> None:
    check_cross_entropy(impl, make, oracle, case)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignores_padding_targets(
    impl: ModuleType, make: Make, oracle: Oracle, reduction: str
) -> None:
    # a padded batch: the mean is over the three real targets, not all six rows
    case = {"n": 6, "c": 5, "target": [1, -100, 4, -100, -100, 0], "ignore_index": -100}
    case |= {"label_smoothing": 0.1, "reduction": reduction}
    check_cross_entropy(impl, make, oracle, case)


def test_cross_entropy_of_huge_logits_is_finite(impl: ModuleType) -> None:
    logits = torch.tensor([[1e4, -1e4, 0.0]], dtype=torch.float64)
    target = torch.tensor([1])
    assert_close(
        impl.cross_entropy(logits, target), F.cross_entropy(logits, target), task=3, what="loss"
    )


@pytest.mark.parametrize(
    ("target", "options", "error", "match"),
    [
        (torch.tensor([0, 5]), {}, ValueError, "target"),
        (torch.tensor([0, -1]), {}, ValueError, "target"),
        (torch.tensor([0.0, 1.0]), {}, TypeError, "target"),
        (torch.tensor([0, 1, 2]), {}, ValueError, "target has shape"),
        (torch.tensor([0, 1]), {"label_smoothing": 1.5}, ValueError, "label_smoothing"),
        (torch.tensor([0, 1]), {"reduction": "mean"}, TypeError, "reduction"),
    ],
)
def test_cross_entropy_bad_arguments(
    impl: ModuleType,
    target: torch.Tensor,
    options: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        impl.cross_entropy(torch.zeros(2, 5, dtype=torch.float64), target, **options)


def test_softmax_bad_arguments(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        impl.softmax([1.0, 2.0])
    with pytest.raises(ValueError, match="dim"):
        impl.log_softmax(torch.zeros(2, 3, dtype=torch.float64), dim=2)
    with pytest.raises(ValueError, match="shape"):
        impl.softmax_backward(
            torch.zeros(2, 3, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64)
        )
