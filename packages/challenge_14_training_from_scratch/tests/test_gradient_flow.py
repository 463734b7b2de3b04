"""Task 6: per-layer gradient norms, against torch.autograd, and what they show for a 20-layer
ReLU MLP under each initialisation: only He keeps the gradients at a usable size."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from challenge_14_training_from_scratch.oracles import autograd_grads
from challenge_14_training_from_scratch.schemes import InitScheme
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

DEPTH, WIDTH, BATCH = 20, 64, 128


@pytest.mark.task(6)
@settings(max_examples=8)
@given(depth=st.integers(1, 5), layer_norm=st.booleans(), seed=st.integers(0, 2**16))
def test_norms_match_autograd(impl: ModuleType, depth: int, layer_norm: bool, seed: int) -> None:
    sizes = (5, *[7] * depth, 3)
    model = impl.MLP(sizes, layer_norm=layer_norm, init=InitScheme.SMALL, seed=seed)
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    x, labels = (
        torch.randn(6, 5, generator=g, dtype=torch.float64),
        torch.randint(0, 3, (6,), generator=g),
    )
    _, grads = autograd_grads(model.parameters(), sizes, layer_norm, x, labels)
    per = 4 if layer_norm else 2
    weights = [grads[per * k] for k in range(depth)] + [grads[-2]]
    expected = [float(torch.linalg.vector_norm(w)) for w in weights]
    ours = impl.layer_gradient_norms(model, x, labels)
    assert_close(
        ours,
        expected,
        rtol=1e-10,
        task=6,
        what="per-layer weight-gradient norms (first layer first)",
    )


def _deep_norms(impl: ModuleType, init: InitScheme) -> list[float]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, WIDTH, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 10, (BATCH,), generator=g)
    model = impl.MLP((*[WIDTH] * DEPTH, 10), layer_norm=False, init=init, seed=0)
    norms: list[float] = impl.layer_gradient_norms(model, x, labels)
    assert len(norms) == DEPTH, f"{len(norms)} norms for {DEPTH} layers"
    return norms


@pytest.mark.task(6)
def test_deep_relu_net_gradients_by_init(impl: ModuleType) -> None:
    """Bounds with orders of magnitude of margin (measured: zero 0, small ~1e-24, Xavier ~1e-3,
    He ~1-4, large ~1e15 in every layer)."""
    zero, small = _deep_norms(impl, InitScheme.ZERO), _deep_norms(impl, InitScheme.SMALL)
    xavier, he = _deep_norms(impl, InitScheme.XAVIER), _deep_norms(impl, InitScheme.HE)
    large = _deep_norms(impl, InitScheme.LARGE)
    assert max(zero) == 0.0, (
        f"all-zero weights pass no signal, so every weight gradient is 0: {zero}"
    )
    assert max(small) < 1e-15, (
        f"std 0.01 weights: the gradients should vanish, got {max(small):.2e}"
    )
    assert min(xavier) > 1e-6, f"Xavier: small but alive gradients, got {xavier}"
    assert max(xavier) < 1e-1, f"Xavier under ReLU halves the variance per layer: {xavier}"
    assert min(he) > 0.1, f"He keeps the gradients O(1) in every layer: {he}"
    assert max(he) < 100, f"He keeps the gradients O(1) in every layer: {he}"
    assert min(large) > 1e10, f"std 1 weights: the gradients should explode, got {min(large):.2e}"
