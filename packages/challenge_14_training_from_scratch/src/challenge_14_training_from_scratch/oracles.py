"""The reference the tests and the benchmark compare against: the MLP of ``starter.MLP``'s
docstring rebuilt from ``torch.nn.functional``, with torch.autograd for its gradients.
Not a TODO."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional

LN_EPS = 1e-5  # torch.nn.LayerNorm's default


def reference_logits(
    params: list[Tensor], sizes: tuple[int, ...], layer_norm: bool, x: Tensor
) -> Tensor:
    """Logits ``(N, sizes[-1])`` of the MLP whose ``parameters()`` are ``params``."""
    per = 4 if layer_norm else 2
    h = x
    for k in range(len(sizes) - 2):
        w, b = params[per * k], params[per * k + 1]
        z = functional.linear(h, w, b)  # (N, out)
        if layer_norm:
            z = functional.layer_norm(
                z, (w.shape[0],), params[per * k + 2], params[per * k + 3], LN_EPS
            )
        h = functional.relu(z)
    return functional.linear(h, params[-2], params[-1])


def autograd_grads(
    params: list[Tensor], sizes: tuple[int, ...], layer_norm: bool, x: Tensor, labels: Tensor
) -> tuple[Tensor, list[Tensor]]:
    """Mean softmax cross-entropy of the reference MLP and its gradients (torch.autograd),
    in ``parameters()`` order."""
    leaves = [p.detach().clone().requires_grad_() for p in params]
    loss = functional.cross_entropy(reference_logits(leaves, sizes, layer_norm, x), labels)
    grads = torch.autograd.grad(loss, leaves)
    return loss.detach(), list(grads)
