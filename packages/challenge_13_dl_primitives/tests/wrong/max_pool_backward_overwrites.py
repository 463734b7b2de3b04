"""Known wrong: max-pool backward writes each gradient with ``scatter_`` instead of adding it,
so a pixel that is the maximum of several overlapping windows keeps only one window's share."""

from __future__ import annotations

import torch

from prep.impl import patched


def _scatter_overwriting(
    grad_out: torch.Tensor, indices: torch.Tensor, input_shape: tuple[int, ...]
) -> torch.Tensor:
    n, c, h, w = input_shape
    grad = grad_out.new_zeros(n, c, h * w)
    grad.scatter_(2, indices.reshape(n, c, -1), grad_out.reshape(n, c, -1))  # last write wins
    return grad.view(n, c, h, w)


IMPLEMENTATION = patched(
    "challenge_13_dl_primitives.solution", _scatter_to_input=_scatter_overwriting
)


TASK = 2  # whose tests reject it: `prep verify` runs them first
