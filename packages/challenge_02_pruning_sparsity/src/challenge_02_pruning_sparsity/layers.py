"""Which layers pruning touches, and how sparse a model is (given, not a task)."""

from __future__ import annotations

import torch
from torch import nn

Prunable = nn.Linear | nn.modules.conv._ConvNd  # the layers whose weight pruning touches


def prunable_layers(model: nn.Module) -> dict[str, Prunable]:
    """Every ``nn.Linear`` and convolution of ``model`` by qualified name, in
    ``named_modules`` order: the layers whose ``weight`` the tasks prune (biases are kept)."""
    return {name: module for name, module in model.named_modules() if isinstance(module, Prunable)}


def weight_sparsity(model: nn.Module) -> float:
    """Fraction of exactly-zero entries over the weights of ``prunable_layers(model)``."""
    weights = [m.weight for m in prunable_layers(model).values()]
    if not weights:
        raise ValueError("model has no Linear or Conv layer")
    zeros = sum(int(w.eq(0).sum()) for w in weights)
    return zeros / sum(int(w.numel()) for w in weights)


def parameter_count(model: nn.Module) -> int:
    """Number of parameters (what channel pruning shrinks; masks leave it unchanged)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of rows of ``x`` whose arg-max logit equals the label in ``y``."""
    return float((model(x).argmax(-1) == y).float().mean())
