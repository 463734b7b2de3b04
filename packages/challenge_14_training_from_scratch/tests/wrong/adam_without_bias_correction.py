"""Known wrong: Adam without bias correction, ``p -= lr * m / (sqrt(v) + eps)``. m and v start
at 0 and v (beta2 = 0.999) warms up far slower than m (0.9): the first step moves ~3.2 lr, the
tenth ~6.5 lr, and steps stay too large for about a thousand steps. Adam and AdamW inherit it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_14_training_from_scratch.solution")


@torch.no_grad()
def _step_without_bias_correction(self: object, grads: Sequence[Tensor]) -> None:
    opt: Any = self
    grad_list: list[Tensor] = _base.checks.grads(grads, opt.params)
    beta1, beta2 = opt.betas
    opt.steps += 1
    if opt.weight_decay and opt.decoupled:
        torch._foreach_mul_(opt.params, 1.0 - opt.lr * opt.weight_decay)
    elif opt.weight_decay:
        grad_list = list(torch._foreach_add(grad_list, opt.params, alpha=opt.weight_decay))
    torch._foreach_lerp_(opt.exp_avg, grad_list, 1.0 - beta1)
    torch._foreach_mul_(opt.exp_avg_sq, beta2)
    torch._foreach_addcmul_(opt.exp_avg_sq, grad_list, grad_list, 1.0 - beta2)
    second = opt.exp_avg_sq
    if opt.amsgrad:
        torch._foreach_maximum_(opt.max_exp_avg_sq, opt.exp_avg_sq)
        second = opt.max_exp_avg_sq
    denom = torch._foreach_sqrt(second)  # the bug: neither m nor v is divided by (1 - beta^t)
    torch._foreach_add_(denom, opt.eps)
    torch._foreach_addcdiv_(opt.params, opt.exp_avg, denom, -opt.lr)


_base.Adam.step = _step_without_bias_correction
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 2  # whose tests reject it: `prep verify` runs them first
