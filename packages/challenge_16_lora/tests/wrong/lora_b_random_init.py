"""Known wrong: lora_B starts Kaiming-uniform like lora_A instead of at zero, so the model
changes the moment the adapters are injected, before any training."""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from prep.impl import fresh_copy

_base = fresh_copy("challenge_16_lora.solution")
_original_init: Any = _base.LoRALinear.__init__


def _init_b_randomly(
    self: Any, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0
) -> None:
    _original_init(self, base, r, alpha, dropout)
    nn.init.kaiming_uniform_(self.lora_B, a=math.sqrt(5))  # the bug: B should stay zero


_base.LoRALinear.__init__ = _init_b_randomly

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
