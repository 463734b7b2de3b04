"""Known wrong: He init that takes ``shape[0]`` as the fan. For torch's ``(out, in)`` weight
layout that is fan_out, so a layer that widens (64 -> 256) starts with weights 2x too small and
a narrowing one 2x too large: the ReLU forward pass no longer keeps the activations' variance."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from challenge_14_training_from_scratch.schemes import Distribution, FanMode
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_14_training_from_scratch.solution")


def _he_init_first_dim(
    shape: Sequence[int],
    distribution: Distribution = Distribution.NORMAL,
    mode: FanMode = FanMode.FAN_IN,
    negative_slope: float = 0.0,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    dims = _base.checks.shape(shape)
    _base.checks.member(mode, FanMode, "mode")
    receptive = math.prod(dims[2:])
    fan = dims[0] * receptive  # the bug: "fan_in = shape[0]", whatever the mode asks
    gain = math.sqrt(2.0 / (1.0 + negative_slope**2))
    sample: Tensor = _base._sample(dims, distribution, gain / math.sqrt(fan), generator, dtype)
    return sample


vars(_base).update(he_init=_he_init_first_dim)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
