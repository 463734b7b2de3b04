"""Task 5: binary cross-entropy, Linear, MLP and SGD - and training a real classifier."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest
import torch
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
        probs = net(inputs).sigmoid().reshape(-1)  # (64,)
        loss = impl.binary_cross_entropy(probs, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    accuracy = float(((net(inputs).data.reshape(-1) > 0) == y).mean())
    assert losses[-1] < 0.5 * losses[0], f"loss did not fall: {losses[0]:.3f} -> {losses[-1]:.3f}"
    assert accuracy >= 0.97, (
        f"training accuracy {accuracy:.2%} < 97% (losses {losses[0]:.3f} -> {losses[-1]:.3f})"
    )
