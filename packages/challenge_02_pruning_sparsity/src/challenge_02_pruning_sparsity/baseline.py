"""Baseline: the obvious version where there is one - a stable sort of every magnitude for
task 1 (one layer at a time, or all of them concatenated), and a Python loop over the rows of
the 2:4 mask for task 3 - slower where sizes grow, with the same results (ties aside). Its
``SparseLinear`` takes the plain route on a GPU: ``functional.linear`` on the
``to_sparse_semi_structured`` weight, which torch's tensor subclass dispatches in Python.

Channel pruning (task 2) has no simpler way that is still safe than the solution's walk of the
torch.fx data flow, and the pruning schedule (task 4) has no simpler form worth the name:
those, and the sparse layer's construction, are the solution's, imported, not copied.
The starter's docstrings are the specification.
"""

import math
from typing import TypeVar

import torch
from torch import Tensor, nn

from challenge_02_pruning_sparsity import solution as _solution
from challenge_02_pruning_sparsity.config import Criterion, Scope
from challenge_02_pruning_sparsity.layers import Prunable, prunable_layers

__all__ = [
    "SparseLinear",
    "magnitude_prune",
    "prune_and_finetune",
    "prune_channels",
    "semi_structured_24",
]


# ------------------------------------------------------------------------------ validation


def _check_model(model: object) -> dict[str, Prunable]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = prunable_layers(model)
    if not layers:
        raise ValueError("model has no Linear or Conv layer to prune")
    return layers


def _check_amount(amount: object, *, below_one: bool) -> float:
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise TypeError(f"amount must be a float fraction, got {type(amount).__name__}")
    value = float(amount)
    upper_ok = value < 1.0 if below_one else value <= 1.0
    if not (math.isfinite(value) and value >= 0.0 and upper_ok):
        interval = "[0, 1)" if below_one else "[0, 1]"
        raise ValueError(f"amount must be in {interval}, got {amount!r}")
    return value


_E = TypeVar("_E", Scope, Criterion)


def _enum(kind: type[_E], value: object, name: str) -> _E:
    try:
        return kind(str(value))
    except ValueError:
        valid = ", ".join(repr(v.value) for v in kind)
        raise ValueError(f"{name} must be one of {valid}, got {value!r}") from None


# ------------------------------------------------------------------------------ task 1


def _prune_count(amount: float, n: int) -> int:
    """How many of ``n`` weights ``amount`` removes: Python's round (half to even), as
    ``torch.nn.utils.prune`` computes it."""
    return round(amount * n)


def _keep_mask(magnitude: Tensor, n_prune: int) -> Tensor:
    """True everywhere except at the ``n_prune`` smallest entries of a flat tensor."""
    order = torch.argsort(magnitude, stable=True)  # ascending; ties: lower index pruned first
    keep = torch.ones_like(magnitude, dtype=torch.bool)
    keep[order[:n_prune]] = False
    return keep


@torch.no_grad()
def magnitude_prune(
    model: nn.Module, amount: float, *, scope: Scope | str = Scope.LAYER
) -> dict[str, Tensor]:
    layers = _check_model(model)
    amount = _check_amount(amount, below_one=False)
    scope = _enum(Scope, scope, "scope")
    weights = {f"{name}.weight": module.weight for name, module in layers.items()}
    masks: dict[str, Tensor] = {}
    if scope is Scope.LAYER:
        for name, w in weights.items():
            flat = w.detach().abs().flatten()
            masks[name] = _keep_mask(flat, _prune_count(amount, flat.numel())).view_as(w)
    else:
        # One ranking over every weight: the concatenation order (named_modules) is the one
        # torch's global_unstructured uses for the parameters it is given.
        flat = torch.cat([w.detach().abs().flatten() for w in weights.values()])
        keep = _keep_mask(flat, _prune_count(amount, flat.numel()))
        for (name, w), part in zip(
            weights.items(), keep.split([w.numel() for w in weights.values()]), strict=True
        ):
            masks[name] = part.view_as(w)
    for name, w in weights.items():
        w.mul_(masks[name])
    return masks


# ------------------------------------------------------------------------------ task 2


# ------------------------------------------------------------------------------ task 3


def _check_weight(weight: object) -> Tensor:
    if not isinstance(weight, Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if not weight.is_floating_point():
        raise TypeError(f"weight must be a floating-point tensor, got {weight.dtype}")
    if weight.dim() != 2 or weight.shape[1] % 4:
        raise ValueError(
            f"weight must be 2-d (out_features, in_features) with in_features a multiple of "
            f"4, got shape {tuple(weight.shape)}"
        )
    if not bool(torch.isfinite(weight).all()):
        raise ValueError("weight holds NaN or inf")
    return weight


def semi_structured_24(weight: Tensor) -> Tensor:
    weight = _check_weight(weight)
    keep = torch.zeros(weight.shape, dtype=torch.bool, device=weight.device)
    for row in range(weight.shape[0]):
        groups = weight[row].detach().abs().reshape(-1, 4)  # (in / 4, 4)
        largest = torch.argsort(groups, dim=1, descending=True, stable=True)[:, :2]  # (in / 4, 2)
        keep[row].view(-1, 4).scatter_(1, largest, True)
    return keep


# ------------------------------------------------------------------------------ tasks 2-4


class SparseLinear(_solution.SparseLinear):
    """The solution's layer with the plain forward: ``functional.linear`` on the compressed
    weight (about a millisecond of subclass dispatch on the host per call)."""

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have {self.in_features} features, got shape {tuple(x.shape)}")
        rows = x.reshape(-1, self.in_features)  # the subclass takes 2-d input
        out: Tensor = nn.functional.linear(rows, self.weight, self.bias)
        return out.view(*x.shape[:-1], self.out_features)


# The solution's, imported (see the module docstring): one implementation, not two copies.
prune_and_finetune = _solution.prune_and_finetune
prune_channels = _solution.prune_channels
