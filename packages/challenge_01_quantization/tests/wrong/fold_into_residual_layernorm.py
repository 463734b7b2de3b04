"""Known wrong: SmoothQuant's 1/s is folded into every LayerNorm whose output a Linear reads,
without checking that nothing else reads it. In a post-LN model (BERT) that output is also the
residual stream, so the fold silently rescales the residual and the model changes."""

from __future__ import annotations

from typing import Any

from challenge_01_quantization import tracing
from torch import nn

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")


def _feeds_unchecked(model: nn.Module, batch: Any, linears: Any) -> dict[str, tuple[str, ...]]:
    found = tracing._direct_consumers(model, tracing.first_rows(batch, 2), linears)
    return {norm: tuple(names) for norm, names in found.items()}


vars(_base)["layernorm_feeds"] = _feeds_unchecked

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 5  # whose tests reject it: `prep verify` runs them first
