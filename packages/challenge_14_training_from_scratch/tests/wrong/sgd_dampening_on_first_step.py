"""Known wrong: SGD momentum whose buffer starts at zero, so the first step is
``buf = (1 - dampening) * g`` instead of torch's ``buf = g``. With dampening > 0 every later
step differs too (the buffer carries the shortfall); without dampening it is harmless."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_14_training_from_scratch.solution")


@torch.no_grad()
def _step_zero_buffer(self: object, grads: Sequence[Tensor]) -> None:
    opt: Any = self
    grad_list: list[Tensor] = _base.checks.grads(grads, opt.params)
    if opt.weight_decay:
        grad_list = list(torch._foreach_add(grad_list, opt.params, alpha=opt.weight_decay))
    if opt.momentum:
        if opt.buffers is None:
            opt.buffers = [torch.zeros_like(g) for g in grad_list]  # the bug: damped from step 1
        torch._foreach_mul_(opt.buffers, opt.momentum)
        torch._foreach_add_(opt.buffers, grad_list, alpha=1.0 - opt.dampening)
        if opt.nesterov:
            grad_list = list(torch._foreach_add(grad_list, opt.buffers, alpha=opt.momentum))
        else:
            grad_list = opt.buffers
    torch._foreach_add_(opt.params, grad_list, alpha=-opt.lr)


_base.SGD.step = _step_zero_buffer
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 2  # whose tests reject it: `prep verify` runs them first
