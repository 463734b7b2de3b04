"""Known wrong: softmax without subtracting the row maximum - exp(1e4) overflows to inf and
the probabilities become NaN (log_softmax, cross_entropy and attention inherit it)."""

from __future__ import annotations

import torch

from prep.impl import patched


def _no_shift(x: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.zeros_like(x.sum(dim=dim, keepdim=True))


IMPLEMENTATION = patched("challenge_13_dl_primitives.solution", _row_max=_no_shift)


TASK = 3  # whose tests reject it: `prep verify` runs them first
