"""Argument checks the three implementations share, so every one rejects bad input with the
same clear message. Not a TODO."""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import Enum

import torch
from torch import Tensor


def shape(value: Sequence[int], name: str = "shape") -> tuple[int, ...]:
    """A weight shape ``(out_features, in_features, *kernel)``: two or more positive ints."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of ints, got {type(value).__name__}")
    dims = tuple(value)
    if len(dims) < 2:
        raise ValueError(
            f"{name} must have at least 2 dimensions (out_features, in_features, *kernel) "
            f"to define fan_in and fan_out, got {dims}"
        )
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"{name} must hold positive ints, got {dims}")
    return dims


def member(value: object, enum: type[Enum], name: str) -> None:
    """``value`` is a member of ``enum`` (a plain string is refused: use the enum)."""
    if not isinstance(value, enum):
        options = ", ".join(f"{enum.__name__}.{m.name}" for m in enum)
        raise TypeError(f"{name} must be one of {options}, got {value!r}")


def number(value: object, name: str, *, low: float, high: float = math.inf,
           low_open: bool = False, high_open: bool = False) -> float:  # fmt: skip
    """A real number in ``[low, high]`` (ends open where asked)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    x = float(value)
    below = x <= low if low_open else x < low
    above = x >= high if high_open else x > high
    if math.isnan(x) or below or above:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {value!r}")
    return x


def count(value: object, name: str, *, low: int = 1) -> int:
    """An int >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


def float_dtype(dtype: object, name: str = "dtype") -> torch.dtype:
    """A floating-point torch dtype."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.dtype, got {dtype!r}")
    return dtype


def params(values: Sequence[Tensor]) -> list[Tensor]:
    """An optimizer's parameters: a non-empty sequence of floating-point tensors."""
    found = list(values)
    if not found:
        raise ValueError("params is empty: pass the tensors to optimise")
    for k, p in enumerate(found):
        if not isinstance(p, Tensor) or not p.is_floating_point():
            raise TypeError(f"params[{k}] must be a floating-point tensor, got {p!r:.60}")
    return found


def grads(values: Sequence[Tensor], like: Sequence[Tensor]) -> list[Tensor]:
    """One gradient per parameter, each of its parameter's shape."""
    found = list(values)
    if len(found) != len(like):
        raise ValueError(f"grads has {len(found)} tensors for {len(like)} params")
    for k, (g, p) in enumerate(zip(found, like, strict=True)):
        if not isinstance(g, Tensor) or g.shape != p.shape:
            got = tuple(g.shape) if isinstance(g, Tensor) else type(g).__name__
            raise ValueError(f"grads[{k}] must have its param's shape {tuple(p.shape)}, got {got}")
    return found


def betas(value: tuple[float, float]) -> tuple[float, float]:
    """Adam's ``(beta1, beta2)``, each in [0, 1)."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise TypeError(f"betas must be a tuple (beta1, beta2), got {value!r}")
    b1 = number(value[0], "betas[0]", low=0.0, high=1.0, high_open=True)
    b2 = number(value[1], "betas[1]", low=0.0, high=1.0, high_open=True)
    return b1, b2


def logits_and_labels(logits: Tensor, labels: Tensor) -> None:
    """``logits`` (N, C) floating, ``labels`` (N,) integer class indices in [0, C)."""
    if not isinstance(logits, Tensor) or logits.ndim != 2 or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating (N, C) tensor, got {_describe(logits)}")
    if not isinstance(labels, Tensor) or labels.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"labels must be an int64 tensor of class indices, got {_describe(labels)}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"labels must have shape ({logits.shape[0]},), got {tuple(labels.shape)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= logits.shape[1]):
        raise ValueError(
            f"labels must lie in [0, {logits.shape[1]}), got {labels.min()}..{labels.max()}"
        )


def logits_and_targets(logits: Tensor, targets: Tensor) -> None:
    """Floating ``logits`` and ``targets`` of one shape, targets in [0, 1]."""
    for name, t in (("logits", logits), ("targets", targets)):
        if not isinstance(t, Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating tensor, got {_describe(t)}")
    if logits.shape != targets.shape:
        raise ValueError(
            f"targets must have the logits' shape {tuple(logits.shape)}, got {tuple(targets.shape)}"
        )
    if targets.numel() and (float(targets.min()) < 0 or float(targets.max()) > 1):
        raise ValueError("targets must lie in [0, 1]")


def _describe(value: object) -> str:
    if isinstance(value, Tensor):
        return f"{value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__
