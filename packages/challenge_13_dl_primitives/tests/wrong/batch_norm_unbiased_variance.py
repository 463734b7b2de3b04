"""Known wrong: batch norm normalises with the unbiased batch variance (divided by n - 1);
torch normalises with the biased one and keeps the unbiased one for the running estimate."""

from __future__ import annotations

import torch

from prep.impl import patched


def _unbiased(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    return x.var(dim=dims, correction=1)


IMPLEMENTATION = patched("challenge_13_dl_primitives.solution", _normalising_variance=_unbiased)


TASK = 4  # whose tests reject it: `prep verify` runs them first
