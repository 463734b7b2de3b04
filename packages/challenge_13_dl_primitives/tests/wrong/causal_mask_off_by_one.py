"""Known wrong: the causal mask starts one diagonal too late (``triu(diagonal=2)``), so each
query also attends to the very next token: training would leak the label it must predict."""

from __future__ import annotations

import torch

from prep.impl import patched


def _mask_from_two_ahead(t: int, device: torch.device) -> torch.Tensor:
    return torch.ones(t, t, dtype=torch.bool, device=device).triu(diagonal=2)


IMPLEMENTATION = patched("challenge_13_dl_primitives.solution", _causal_mask=_mask_from_two_ahead)


TASK = 6  # whose tests reject it: `prep verify` runs them first
