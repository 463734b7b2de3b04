"""Shared fixtures: seeded float64 tensors and a torch.autograd oracle for forward and backward."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import pytest
import torch


class Make(Protocol):
    def __call__(self, *shape: int, scale: float = 1.0) -> torch.Tensor: ...


class Oracle(Protocol):
    def __call__(
        self,
        fn: Callable[..., torch.Tensor],
        inputs: Sequence[torch.Tensor | None],
        grad_out: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]: ...


@pytest.fixture
def make() -> Make:
    """``make(*shape)``: standard-normal float64 tensors from a generator seeded once per test."""
    generator = torch.Generator().manual_seed(0)

    def build(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return scale * torch.randn(shape, generator=generator, dtype=torch.float64)

    return build


@pytest.fixture
def oracle() -> Oracle:
    """``oracle(fn, inputs, grad_out)``: torch's output of ``fn(*inputs)`` and, after
    backpropagating ``grad_out`` (default: ones), the gradient of each floating input
    (``None`` for a ``None`` input or one that received no gradient)."""

    def run(
        fn: Callable[..., torch.Tensor],
        inputs: Sequence[torch.Tensor | None],
        grad_out: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        leaves = [
            t.detach().clone().requires_grad_(t.dtype.is_floating_point) if t is not None else None
            for t in inputs
        ]
        out = fn(*leaves)
        out.backward(torch.ones_like(out) if grad_out is None else grad_out)
        grads = [t.grad if t is not None else None for t in leaves]
        return out.detach(), grads

    return run
