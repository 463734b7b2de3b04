"""Task 4: layer_norm and batch_norm (train and eval, running statistics), against torch."""

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

pytestmark = pytest.mark.task(4)

EPS = 1e-5


@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    data=st.data(),
    affine=st.booleans(),
)
def test_layer_norm_matches_torch(
    impl: ModuleType,
    make: Make,
    oracle: Oracle,
    shape: list[int],
    data: st.DataObject,
    affine: bool,
) -> None:
    k = data.draw(st.integers(1, len(shape)), label="normalised trailing dims")
    normalized = tuple(shape[len(shape) - k :])
    x = make(*shape, scale=2.0) + 0.5
    w, b = (make(*normalized), make(*normalized)) if affine else (None, None)
    upstream = make(*shape)

    def ln(x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor:
        return F.layer_norm(x, normalized, w, b, EPS)

    expected, grads = oracle(ln, [x, w, b], upstream)
    out, mean, rstd = impl.layer_norm(x, normalized, w, b, EPS)
    assert_close(out, expected, rtol=RTOL, atol=ATOL, task=4, what="layer_norm output")
    dims = tuple(range(len(shape) - k, len(shape)))
    want_rstd = torch.rsqrt(x.var(dim=dims, keepdim=True, correction=0) + EPS)
    assert_close(mean, x.mean(dim=dims, keepdim=True), rtol=RTOL, atol=ATOL, task=4, what="mean")
    assert_close(rstd, want_rstd, rtol=RTOL, task=4, what="rstd (biased variance)")
    got = impl.layer_norm_backward(upstream, x, mean, rstd, normalized, w)
    assert_close(got.input, grads[0], rtol=RTOL, atol=ATOL, task=4, what="grad of input")
    # without an affine part, compare with the gradients a weight of 1 and a bias of 0 get
    _, affine_grads = (
        oracle(
            ln,
            [x, torch.ones(normalized, dtype=x.dtype), torch.zeros(normalized, dtype=x.dtype)],
            upstream,
        )
        if not affine
        else (None, grads)
    )
    assert_close(got.weight, affine_grads[1], rtol=RTOL, atol=ATOL, task=4, what="grad of weight")
    assert_close(got.bias, affine_grads[2], rtol=RTOL, atol=ATOL, task=4, what="grad of bias")


@st.composite
def bn_cases(draw: st.DrawFn) -> dict[str, Any]:
    spatial = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    n = draw(st.integers(2, 5) if not spatial else st.integers(1, 3))
    if not spatial and n < 2:
        n = 2
    shape = (n, draw(st.integers(1, 4)), *spatial)
    if n * int(torch.tensor(spatial).prod()) < 2:
        shape = (2, *shape[1:])
    return {
        "shape": shape,
        "affine": draw(st.booleans()),
        "momentum": draw(st.sampled_from([0.1, 0.5, 1.0])),
    }


def check_batch_norm(
    impl: ModuleType, make: Make, oracle: Oracle, shape: tuple[int, ...], affine: bool,
    momentum: float, training: bool,
) -> None:  # fmt: skip
    c = shape[1]
    x = make(*shape, scale=2.0) + 1.0
    w, b = (make(c), make(c)) if affine else (None, None)
    running = (make(c), make(c).abs() + 0.5)
    theirs = (running[0].clone(), running[1].clone())
    mine = (running[0].clone(), running[1].clone())
    upstream = make(*shape)

    def bn(x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor:
        return F.batch_norm(x, *theirs, w, b, training, momentum, EPS)

    expected, grads = oracle(bn, [x, w, b], upstream)
    out, mean, invstd = impl.batch_norm(x, *mine, w, b, training, momentum, EPS)
    assert_close(out, expected, rtol=RTOL, atol=ATOL, task=4, what="batch_norm output")
    # torch updated its running buffers once (train) or left them alone (eval)
    assert_close(mine[0], theirs[0], rtol=RTOL, atol=ATOL, task=4, what="running_mean")
    assert_close(mine[1], theirs[1], rtol=RTOL, atol=ATOL, task=4, what="running_var (unbiased)")
    got = impl.batch_norm_backward(upstream, x, mean, invstd, w, training)
    assert_close(got.input, grads[0], rtol=RTOL, atol=ATOL, task=4, what="grad of input")
    if affine:
        assert_close(got.weight, grads[1], rtol=RTOL, atol=ATOL, task=4, what="grad of weight")
        assert_close(got.bias, grads[2], rtol=RTOL, atol=ATOL, task=4, what="grad of bias")


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@given(case=bn_cases())
def test_batch_norm_matches_torch(
    impl: ModuleType, make: Make, oracle: Oracle, training: bool, case: dict[str, Any]
) -> None:
    check_batch_norm(impl, make, oracle, training=training, **case)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_on_images(impl: ModuleType, make: Make, oracle: Oracle, training: bool) -> None:
    check_batch_norm(impl, make, oracle, (3, 4, 5, 3), affine=True, momentum=0.1, training=training)


def test_batch_of_two_normalises_with_the_biased_variance(impl: ModuleType) -> None:
    # two samples: the biased variance is half the unbiased one; torch normalises to +-1
    x = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    rm, rv = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    out, _, _ = impl.batch_norm(x, rm, rv, training=True, momentum=1.0, eps=1e-12)
    assert_close(out, [[-1.0], [1.0]], rtol=1e-9, task=4, what="normalised batch of two")
    assert_close(rv, [2.0], rtol=1e-12, task=4, what="running_var: the unbiased estimate")


def test_batch_norm_training_needs_two_values_per_channel(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        impl.batch_norm(torch.zeros(1, 3, dtype=torch.float64), None, None, training=True)


def test_batch_norm_eval_needs_running_statistics(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="running_mean"):
        impl.batch_norm(torch.zeros(4, 3, dtype=torch.float64), None, None, training=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"normalized_shape": (4,)}, ValueError, "normalized_shape"),
        ({"normalized_shape": 3}, TypeError, "normalized_shape"),
        ({"weight": torch.ones(4, dtype=torch.float64)}, ValueError, "weight"),
        ({"eps": 0.0}, ValueError, "eps"),
    ],
)
def test_layer_norm_bad_arguments(
    impl: ModuleType, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    args: dict[str, Any] = {"normalized_shape": (3,)} | kwargs
    with pytest.raises(error, match=match):
        impl.layer_norm(torch.zeros(2, 3, dtype=torch.float64), **args)


def test_batch_norm_bad_arguments(impl: ModuleType) -> None:
    x = torch.zeros(4, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="running_var"):
        impl.batch_norm(x, torch.zeros(3, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="momentum"):
        impl.batch_norm(x, None, None, training=True, momentum=1.5)
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        impl.batch_norm([[0.0]], None, None, training=True)
