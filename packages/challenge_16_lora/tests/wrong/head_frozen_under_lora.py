"""Known wrong: LoRA fine-tuning freezes the new classification head along with the encoder
(inject_lora without modules_to_save), so the randomly initialised head never trains."""

from __future__ import annotations

from typing import Any

import torch
from challenge_16_lora.config import FinetuneMethod, TrainConfig
from torch import nn

from prep.impl import fresh_copy

_base = fresh_copy("challenge_16_lora.solution")
_original: Any = _base.prepare_for_finetuning
_inject: Any = _base.inject_lora


def _prepare_without_head(
    model: nn.Module, method: FinetuneMethod, config: TrainConfig
) -> nn.Module:
    if method is not FinetuneMethod.LORA:
        prepared: nn.Module = _original(model, method, config)
        return prepared
    torch.manual_seed(config.seed)
    # the bug: no modules_to_save=[config.head]
    adapted: nn.Module = _inject(
        model, list(config.target_modules), config.r, config.alpha, config.dropout
    )
    return adapted


setattr(_base, "prepare_for_finetuning", _prepare_without_head)  # noqa: B010

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = (2, 3)  # whose tests reject it: `prep verify` runs them first
