"""Task 5: binary cross-entropy (from logits and from probabilities), Linear, MLP and SGD - and
training a real classifier."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import make_moons

from prep.testing import assert_close

pytestmark = pytest.mark.task(5)

Oracle = Callable[..., None]


def test_bce_matches_torch(against_torch: Oracle, impl: ModuleType) -> None:
    rng = np.random.default_rng(1)
    probs = rng.uniform(0.02, 0.98, size=(6, 1))
    targets = (rng.uniform(size=(6, 1)) > 0.5).astype(np.float64)
    against_torch(
        lambda p: impl.binary_cross_entropy(p, targets),
        lambda p: torch.nn.functional.binary_cross_entropy(p, torch.from_numpy(targets)),
        probs,
        task=5,
    )


def test_bce_of_sigmoid_logits_matches_torch(against_torch: Oracle, impl: ModuleType) -> None:
    logits = np.linspace(-4, 4, 9)
    soft_targets = np.linspace(0, 1, 9)
    against_torch(
        lambda z: impl.binary_cross_entropy(z.sigmoid(), soft_targets),
        lambda z: torch.nn.functional.binary_cross_entropy(
            z.sigmoid(), torch.from_numpy(soft_targets)
        ),
        logits,
        task=5,
    )


def test_bce_gradient_at_zero_and_one_matches_torch(
    against_torch: Oracle, impl: ModuleType
) -> None:
    """torch divides by max(p (1 - p), 1e-12): a probability of exactly 0 or 1 that is wrong gets
    a large finite gradient (here -2e11 and 2e11), not 0 from the clamped log."""
    probs = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    targets = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    against_torch(
        lambda p: impl.binary_cross_entropy(p, targets),
        lambda p: torch.nn.functional.binary_cross_entropy(p, torch.from_numpy(targets)),
        probs,
        task=5,
        rtol=1e-8,  # torch's 1e-12 is a float32 constant (9.99999996e-13): 4e-9 relative apart
    )


@st.composite
def logits_and_targets(draw: st.DrawFn) -> tuple[Any, Any]:
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=5))
    # Logits far beyond where float64's sigmoid rounds to exactly 0 or 1 (|z| > ~37).
    logits = draw(hnp.arrays(np.float64, shape, elements=st.floats(-200.0, 200.0)))
    targets = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0)))
    return logits, targets


@given(case=logits_and_targets())
def test_bce_with_logits_matches_torch(
    against_torch: Oracle, impl: ModuleType, case: tuple[Any, Any]
) -> None:
    logits, targets = case
    against_torch(
        lambda z: impl.binary_cross_entropy_with_logits(z, targets),
        lambda z: torch.nn.functional.binary_cross_entropy_with_logits(
            z, torch.from_numpy(targets)
        ),
        logits,
        task=5,
    )


def test_bce_with_logits_keeps_the_gradient_of_a_confident_mistake(impl: ModuleType) -> None:
    """sigmoid(50) rounds to 1.0 in float64: through probabilities the loss of this mistake
    saturates; from the logits it is 50 and its gradient (sigmoid(z) - t) / n about +-1/2."""
    z = impl.Tensor([50.0, -50.0], requires_grad=True)
    loss = impl.binary_cross_entropy_with_logits(z, [0.0, 1.0])
    loss.backward()
    assert_close(loss.data, 50.0, rtol=1e-12, task=5, what="loss of two confident mistakes")
    assert_close(z.grad, [0.5, -0.5], rtol=1e-12, task=5, what="their gradient")


@pytest.mark.parametrize(
    ("logits", "targets", "match"),
    [
        ([0.5, 0.5], [1.0], "shape"),
        ([0.5, 0.5], [2.0, 0.0], r"\[0, 1\]"),
        ([np.nan, 0.5], [1.0, 0.0], "finite"),
        ([np.inf, 0.5], [1.0, 0.0], "finite"),
    ],
)
def test_bce_with_logits_rejects_bad_input(
    impl: ModuleType, logits: list[float], targets: list[float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        impl.binary_cross_entropy_with_logits(impl.Tensor(logits, requires_grad=True), targets)


def test_bce_with_logits_needs_a_tensor(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="logits"):
        impl.binary_cross_entropy_with_logits([0.5], [1.0])


@pytest.mark.parametrize(
    ("probs", "targets", "match"),
    [
        ([0.5, 0.5], [1.0], "shape"),
        ([1.5, 0.5], [1.0, 0.0], r"\[0, 1\]"),
        ([0.5, 0.5], [2.0, 0.0], r"\[0, 1\]"),
        ([np.nan, 0.5], [1.0, 0.0], r"\[0, 1\]"),
    ],
)
def test_bce_rejects_bad_input(
    impl: ModuleType, probs: list[float], targets: list[float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        impl.binary_cross_entropy(impl.Tensor(probs, requires_grad=True), targets)


def test_linear_matches_torch(impl: ModuleType) -> None:
    layer = impl.Linear(3, 2, seed=4)
    x = np.linspace(-1, 1, 12).reshape(4, 3)
    y = layer(impl.Tensor(x))
    ref = torch.nn.functional.linear(
        torch.from_numpy(x),
        torch.from_numpy(layer.weight.data.T.copy()),
        torch.from_numpy(layer.bias.data),
    )
    assert_close(y.data, ref, rtol=1e-12, task=5, what="Linear forward")
    assert [p.shape for p in layer.parameters()] == [(3, 2), (2,)]
    assert [p.shape for p in impl.Linear(3, 2, bias=False).parameters()] == [(3, 2)]


def test_mlp_layers_and_parameters(impl: ModuleType) -> None:
    net = impl.MLP([2, 5, 3, 1], seed=0)
    assert [p.shape for p in net.parameters()] == [(2, 5), (5,), (5, 3), (3,), (3, 1), (1,)]
    out = net(impl.Tensor(np.ones((7, 2))))
    assert out.shape == (7, 1)


def test_mlp_matches_torch_forward_and_backward(impl: ModuleType) -> None:
    net = impl.MLP([3, 4, 1], seed=2)
    x = np.random.default_rng(0).standard_normal((5, 3))
    loss = (net(impl.Tensor(x)) ** 2).mean()
    loss.backward()
    w1, b1, w2, b2 = (torch.tensor(p.data, requires_grad=True) for p in net.parameters())
    ref = ((torch.relu(torch.from_numpy(x) @ w1 + b1) @ w2 + b2) ** 2).mean()
    ref.backward()
    assert_close(loss.data, ref.detach(), rtol=1e-12, task=5, what="MLP loss")
    for k, (mine, theirs) in enumerate(zip(net.parameters(), (w1, b1, w2, b2), strict=True)):
        assert_close(
            mine.grad, theirs.grad, rtol=1e-10, atol=1e-14, task=5, what=f"grad of parameter {k}"
        )


def test_mlp_needs_two_sizes(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="sizes"):
        impl.MLP([3])


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch_optim(impl: ModuleType, momentum: float) -> None:
    start = np.array([1.0, -2.0, 0.5])
    p = impl.Tensor(start, requires_grad=True)
    q = torch.tensor(start, requires_grad=True)
    ours, theirs = (
        impl.SGD([p], lr=0.1, momentum=momentum),
        torch.optim.SGD([q], lr=0.1, momentum=momentum),
    )
    for _ in range(3):
        ours.zero_grad()
        theirs.zero_grad()
        (p * p * p).sum().backward()
        (q * q * q).sum().backward()
        ours.step()
        theirs.step()
    assert_close(
        p.data,
        q.detach(),
        rtol=1e-12,
        task=5,
        what=f"parameters after 3 SGD steps (momentum {momentum})",
    )


def test_backward_after_sgd_step_raises_like_torch(impl: ModuleType) -> None:
    """step() updates the weights in place: a graph built before it saved the old weights, and
    its gradient would silently mix old and new values. torch refuses (version counters)."""
    w = impl.Tensor([1.0, -2.0], requires_grad=True)
    x = impl.Tensor([3.0, 4.0])
    opt = impl.SGD([w], lr=0.1)
    loss = (w * x).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="in place"):
        loss.backward()
    fresh = (w * x).sum()  # a graph built after the step is fine
    opt.zero_grad()
    fresh.backward()
    assert_close(w.grad, [3.0, 4.0], task=5, what="grad after rebuilding the graph")


def test_sgd_skips_parameters_without_grad(impl: ModuleType) -> None:
    p = impl.Tensor([1.0], requires_grad=True)
    impl.SGD([p], lr=0.1).step()
    assert_close(p.data, [1.0], task=5, what="untouched parameter")


def test_training_an_mlp_on_make_moons_reaches_97_percent(impl: ModuleType) -> None:
    """The point of it all: full-batch training of a 2-8-8-1 MLP separates the two moons."""
    X, y = make_moons(n_samples=64, noise=0.1, random_state=0)
    net = impl.MLP([2, 8, 8, 1], seed=0)
    opt = impl.SGD(net.parameters(), lr=0.3, momentum=0.9)
    inputs = impl.Tensor(X)
    losses = []
    for _ in range(60):
        logits = net(inputs).reshape(-1)  # (64,)
        loss = impl.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    accuracy = float(((net(inputs).data.reshape(-1) > 0) == y).mean())
    assert losses[-1] < 0.5 * losses[0], f"loss did not fall: {losses[0]:.3f} -> {losses[-1]:.3f}"
    assert accuracy >= 0.97, (
        f"training accuracy {accuracy:.2%} < 97% (losses {losses[0]:.3f} -> {losses[-1]:.3f})"
    )
