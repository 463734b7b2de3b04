"""Known wrong: the update is scaled by alpha instead of alpha / r, so a larger rank also
means a larger step (and the outputs differ from peft's for every r > 1)."""

from __future__ import annotations

from typing import Any

from torch import nn

from prep.impl import fresh_copy

_base = fresh_copy("challenge_16_lora.solution")
_original_init: Any = _base.LoRALinear.__init__


def _scale_by_alpha(self: Any, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0) -> None:
    _original_init(self, base, r, alpha, dropout)
    self.scaling = float(alpha)  # the bug: should be alpha / r


_base.LoRALinear.__init__ = _scale_by_alpha

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
