"""Known wrong: a LayerNorm backward that treats the mean and variance as constants,
``dz = gamma * dy / std``. Both depend on every element of z, so the true gradient subtracts
the mean of ``dx_hat`` and the projection on ``x_hat``; without them every weight below the
LayerNorm gets a wrong gradient (training may still move, which is why it goes unnoticed)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_14_training_from_scratch.solution")


def _backward_constant_statistics(self: object, dlogits: Tensor) -> list[Tensor]:
    model: Any = self
    if model._saved is None:
        raise RuntimeError("backward() needs a forward() first (and runs once per forward)")
    saved, model._saved = model._saved, None
    (h,) = saved[-1]
    g = dlogits.to(h.dtype)
    grads: list[Tensor] = [g.T @ h, g.sum(0)]
    g = g @ model.params[-2]
    per_layer = 4 if model.layer_norm else 2
    for k in reversed(range(len(saved) - 1)):
        w = model.params[per_layer * k]
        if model.layer_norm:
            h, x_hat, inv_std, y = saved[k]
            dy = g * (y > 0)
            dz = dy * model.params[per_layer * k + 2] * inv_std  # the bug: no mean/variance terms
            layer = [dz.T @ h, dz.sum(0), (dy * x_hat).sum(0), dy.sum(0)]
        else:
            h, y = saved[k]
            dz = g * (y > 0)
            layer = [dz.T @ h, dz.sum(0)]
        grads = layer + grads
        g = dz @ w
    return grads


_base.MLP.backward = _backward_constant_statistics
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 3  # whose tests reject it: `prep verify` runs them first
