"""Task 3: the two losses and the MLP's hand-written backward pass against torch.autograd.

float64 throughout: the gradients agree to ~1e-15 when right, so the 1e-10 tolerance only
absorbs summation order, while a missing term in a derivative shows up as an O(1) error.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_14_training_from_scratch.oracles import autograd_grads, reference_logits
from challenge_14_training_from_scratch.schemes import InitScheme
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional

from prep.testing import assert_close

RTOL, ATOL = 1e-10, 1e-12


def _random_mlp(impl: ModuleType, sizes: tuple[int, ...], layer_norm: bool, seed: int) -> Any:
    """An MLP whose every parameter (gamma and beta included) is random, so each term of the
    backward pass matters; SMALL init keeps the constructor independent of task 1."""
    model = impl.MLP(sizes, layer_norm=layer_norm, init=InitScheme.SMALL, seed=seed)
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return model


@pytest.mark.task(3)
def test_layer_norm_backward_on_a_small_net(impl: ModuleType) -> None:
    sizes = (4, 6, 3)
    model = _random_mlp(impl, sizes, True, seed=0)
    x = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 2, 1, 1, 0])
    loss, dlogits = impl.softmax_cross_entropy(model.forward(x), labels)
    grads = model.backward(dlogits)
    ref_loss, ref_grads = autograd_grads(model.parameters(), sizes, True, x, labels)
    assert_close(loss, ref_loss, rtol=RTOL, task=3, what="loss")
    names = ["W0", "b0", "gamma0", "beta0", "W1", "b1"]
    assert len(grads) == len(ref_grads), f"{len(grads)} gradients for {len(ref_grads)} parameters"
    for name, ours, theirs in zip(names, grads, ref_grads, strict=True):
        assert_close(ours, theirs, rtol=RTOL, atol=ATOL, task=3, what=f"gradient of {name}")


@pytest.mark.task(3)
@given(
    hidden=st.lists(st.integers(1, 9), min_size=0, max_size=3),
    inputs=st.integers(1, 7),
    classes=st.integers(2, 5),
    batch=st.integers(1, 9),
    layer_norm=st.booleans(),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=20)
def test_mlp_gradients_match_autograd(
    impl: ModuleType,
    hidden: list[int],
    inputs: int,
    classes: int,
    batch: int,
    layer_norm: bool,
    seed: int,
) -> None:
    sizes = (inputs, *[max(h, 2) for h in hidden], classes)  # LayerNorm over 1 feature is 0/0
    model = _random_mlp(impl, sizes, layer_norm, seed)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(batch, inputs, generator=g, dtype=torch.float64)
    labels = torch.randint(0, classes, (batch,), generator=g)
    logits = model.forward(x)
    assert_close(
        logits,
        reference_logits(model.parameters(), sizes, layer_norm, x),
        rtol=RTOL,
        atol=ATOL,
        task=3,
        what="logits",
    )
    loss, dlogits = impl.softmax_cross_entropy(logits, labels)
    grads = model.backward(dlogits)
    ref_loss, ref_grads = autograd_grads(model.parameters(), sizes, layer_norm, x, labels)
    assert_close(loss, ref_loss, rtol=RTOL, task=3, what="loss")
    assert len(grads) == len(ref_grads), f"{len(grads)} gradients for {len(ref_grads)} parameters"
    for k, (ours, theirs) in enumerate(zip(grads, ref_grads, strict=True)):
        assert_close(ours, theirs, rtol=RTOL, atol=ATOL, task=3, what=f"gradient of parameter {k}")


@pytest.mark.task(3)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    scale=st.sampled_from([1.0, 30.0, 1e4]),
    seed=st.integers(0, 2**16),
)
def test_bce_with_logits_matches_torch(
    impl: ModuleType, shape: list[int], scale: float, seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    logits = (scale * torch.randn(shape, generator=g, dtype=torch.float64)).requires_grad_()
    targets = torch.rand(shape, generator=g, dtype=torch.float64).round()  # hard labels ...
    targets[..., 0] = 0.3  # ... and a soft one
    loss, grad = impl.binary_cross_entropy_with_logits(logits.detach(), targets)
    expected = functional.binary_cross_entropy_with_logits(logits, targets)
    expected.backward()
    assert_close(
        loss, expected.detach(), rtol=RTOL, task=3, what="BCE loss (logits up to 1e4: no overflow)"
    )
    assert logits.grad is not None
    assert_close(grad, logits.grad, rtol=RTOL, atol=ATOL, task=3, what="d BCE / d logits")


@pytest.mark.task(3)
@given(
    batch=st.integers(1, 6), classes=st.integers(1, 6),
    scale=st.sampled_from([1.0, 100.0, 1e4]), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_softmax_cross_entropy_matches_torch(
    impl: ModuleType, batch: int, classes: int, scale: float, seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    logits = (
        scale * torch.randn(batch, classes, generator=g, dtype=torch.float64)
    ).requires_grad_()
    labels = torch.randint(0, classes, (batch,), generator=g)
    loss, grad = impl.softmax_cross_entropy(logits.detach(), labels)
    expected = functional.cross_entropy(logits, labels)
    expected.backward()
    assert_close(
        loss,
        expected.detach(),
        rtol=RTOL,
        atol=ATOL,
        task=3,
        what="cross-entropy (logits up to 1e4: no overflow)",
    )
    assert logits.grad is not None
    assert_close(grad, logits.grad, rtol=RTOL, atol=ATOL, task=3, what="d cross-entropy / d logits")


@pytest.mark.task(3)
def test_backward_needs_a_forward(impl: ModuleType) -> None:
    model = _random_mlp(impl, (3, 4, 2), True, seed=0)
    x = torch.ones(2, 3, dtype=torch.float64)
    model.forward(x)
    model.backward(torch.ones(2, 2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="forward"):
        model.backward(torch.ones(2, 2, dtype=torch.float64))  # the saved tensors were freed
    model.forward(x)
    with pytest.raises(ValueError, match="dlogits"):
        model.backward(torch.ones(2, 3, dtype=torch.float64))


@pytest.mark.task(3)
def test_bad_arguments_are_refused(impl: ModuleType) -> None:
    logits = torch.zeros(2, 3, dtype=torch.float64)
    impl.softmax_cross_entropy(logits, torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="labels"):
        impl.softmax_cross_entropy(logits, torch.tensor([0, 3]))
    with pytest.raises(TypeError, match="labels"):
        impl.softmax_cross_entropy(logits, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="targets"):
        impl.binary_cross_entropy_with_logits(logits, torch.zeros(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="x must have shape"):
        impl.MLP((3, 2), init=InitScheme.SMALL).forward(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="sizes"):
        impl.MLP((3,), init=InitScheme.SMALL)
