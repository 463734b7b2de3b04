"""Known wrong: SmoothQuant's exponents swapped, s = max|X|^(1 - a) / max|W|^a. At a = 0.5 it
is the right formula, so a suite that only tries 0.5 cannot tell; at a = 0.75 it moves the
difficulty the wrong way (back into the activations)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from prep.impl import patched


def _smooth_scale_swapped(act_absmax: Tensor, weights: Sequence[Tensor], alpha: float) -> Tensor:
    weight_absmax = torch.stack([w.detach().abs().amax(0) for w in weights]).amax(0)
    s = act_absmax.clamp_min(1e-5).pow(1.0 - alpha) / weight_absmax.clamp_min(1e-5).pow(alpha)
    dead = (act_absmax <= 0) | (weight_absmax <= 0)
    return torch.where(dead, torch.ones_like(s), s).clamp(1e-5, 1e5)


IMPLEMENTATION = patched(
    "challenge_01_quantization.solution", _smooth_scale=_smooth_scale_swapped
)  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 5  # whose tests reject it: `prep verify` runs them first
