"""Known wrong: each round prunes, then fine-tunes without re-applying the masks, so every
optimizer step moves the pruned weights off zero again: the reported sparsity is never reached
and the "pruned" model is dense."""

from __future__ import annotations

from typing import Any

import torch
from challenge_02_pruning_sparsity.config import GradualSchedule, PruneStep
from challenge_02_pruning_sparsity.layers import weight_sparsity
from torch import nn
from torch.nn import functional

from prep.impl import fresh_copy

_base = fresh_copy("challenge_02_pruning_sparsity.solution")


def _prune_then_train(model: nn.Module, data: Any, schedule: GradualSchedule) -> list[PruneStep]:
    _base._check_model(model)
    x, y = _base._check_data(data)
    if not isinstance(schedule, GradualSchedule):
        raise TypeError(f"schedule must be a GradualSchedule, got {type(schedule).__name__}")
    generator = torch.Generator().manual_seed(schedule.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=schedule.lr)
    steps = []
    for k in range(1, schedule.rounds + 1):
        target = schedule.sparsity_at(k)
        _base.magnitude_prune(model, target, scope=schedule.scope)  # masks applied once
        model.train()
        losses = []
        for _ in range(schedule.finetune_steps):
            rows = torch.randperm(len(x), generator=generator)[: schedule.batch_size]
            optimizer.zero_grad()
            loss = functional.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()  # the bug: nothing puts the pruned weights back to zero
            losses.append(float(loss.detach()))
        model.eval()
        mean = sum(losses) / len(losses) if losses else float("nan")
        steps.append(PruneStep(k, target, weight_sparsity(model), mean))
    return steps


vars(_base)["prune_and_finetune"] = _prune_then_train

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 4  # whose tests reject it: `prep verify` runs them first
