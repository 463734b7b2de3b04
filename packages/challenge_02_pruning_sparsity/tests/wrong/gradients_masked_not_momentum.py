"""Known wrong: fine-tuning masks the gradients of pruned weights (a hook per weight) instead
of the weights. Adam still carries momentum for weights pruned in a later round - they were
trained before - so its steps move them off zero although their gradient is zero."""

from __future__ import annotations

from typing import Any

import torch
from challenge_02_pruning_sparsity.config import GradualSchedule, PruneStep
from challenge_02_pruning_sparsity.layers import weight_sparsity
from torch import Tensor, nn
from torch.nn import functional

from prep.impl import fresh_copy

_base = fresh_copy("challenge_02_pruning_sparsity.solution")


def _mask_gradients(model: nn.Module, data: Any, schedule: GradualSchedule) -> list[PruneStep]:
    _base._check_model(model)
    x, y = _base._check_data(data)
    if not isinstance(schedule, GradualSchedule):
        raise TypeError(f"schedule must be a GradualSchedule, got {type(schedule).__name__}")
    generator = torch.Generator().manual_seed(schedule.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=schedule.lr)
    params = dict(model.named_parameters())
    steps = []
    for k in range(1, schedule.rounds + 1):
        target = schedule.sparsity_at(k)
        masks = _base.magnitude_prune(model, target, scope=schedule.scope)
        model.train()
        losses = []
        for _ in range(schedule.finetune_steps):
            rows = torch.randperm(len(x), generator=generator)[: schedule.batch_size]
            optimizer.zero_grad()
            loss = functional.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            for name, mask in masks.items():
                grad: Tensor | None = params[name].grad
                if grad is not None:
                    grad.mul_(mask)  # the bug: Adam's momentum still moves the weight
            optimizer.step()
            losses.append(float(loss.detach()))
        model.eval()
        mean = sum(losses) / len(losses) if losses else float("nan")
        steps.append(PruneStep(k, target, weight_sparsity(model), mean))
    return steps


vars(_base)["prune_and_finetune"] = _mask_gradients

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 4  # whose tests reject it: `prep verify` runs them first
