"""Known wrong: merge() adds B @ A to the base weight without the alpha / r scaling (and
unmerge subtracts the same), so the merged model computes something else than the adapted one."""

from __future__ import annotations

from typing import Any

import torch

from prep.impl import fresh_copy

_base = fresh_copy("challenge_16_lora.solution")


@torch.no_grad()
def _merge_unscaled(self: Any) -> None:
    if self.merged:
        raise RuntimeError("merge: the adapter is already merged")
    self.base.weight += self.lora_B @ self.lora_A  # the bug: no * self.scaling
    self.merged = True


@torch.no_grad()
def _unmerge_unscaled(self: Any) -> None:
    if not self.merged:
        raise RuntimeError("unmerge: the adapter is not merged")
    self.base.weight -= self.lora_B @ self.lora_A
    self.merged = False


_base.LoRALinear.merge = _merge_unscaled
_base.LoRALinear.unmerge = _unmerge_unscaled

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 1  # whose tests reject it: `prep verify` runs them first
