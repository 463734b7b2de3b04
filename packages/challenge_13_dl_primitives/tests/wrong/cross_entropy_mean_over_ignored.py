"""Known wrong: cross-entropy's mean divides by the batch size, ignored (padding) targets
included, instead of by the number of targets that count."""

from __future__ import annotations

import torch

from prep.impl import patched


def _count_every_row(counted: torch.Tensor) -> torch.Tensor:
    return torch.tensor(counted.numel())


IMPLEMENTATION = patched("challenge_13_dl_primitives.solution", _count_targets=_count_every_row)


TASK = 3  # whose tests reject it: `prep verify` runs them first
