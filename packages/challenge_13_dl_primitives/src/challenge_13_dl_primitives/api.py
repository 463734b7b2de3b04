"""Types the starter, baseline and solution share: option enums and gradient tuples."""

from __future__ import annotations

import enum
from typing import NamedTuple

import torch

__all__ = ["Approximate", "AttentionGrads", "ConvGrads", "NormGrads", "Reduction"]


class Approximate(enum.StrEnum):
    """Which GELU: the exact ``x * Phi(x)`` or the tanh approximation (GPT-2, BERT's original)."""

    NONE = "none"
    TANH = "tanh"


class Reduction(enum.StrEnum):
    """How a loss reduces its per-sample values, as ``torch.nn.functional``'s ``reduction``."""

    MEAN = "mean"  # sum over the non-ignored samples / their count
    SUM = "sum"
    NONE = "none"  # one value per sample (0 for an ignored one)


class ConvGrads(NamedTuple):
    """Gradients of a convolution's loss with respect to its three inputs."""

    input: torch.Tensor  # (N, C_in, H, W)
    weight: torch.Tensor  # (C_out, C_in / groups, kH, kW)
    bias: torch.Tensor | None  # (C_out,); None when the forward had no bias


class NormGrads(NamedTuple):
    """Gradients of a normalisation layer's loss.

    ``weight`` and ``bias`` are always returned: when the forward had none they are the
    gradients of a weight of ones and a bias of zeros (what an affine layer would receive).
    """

    input: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor


class AttentionGrads(NamedTuple):
    """Gradients of multi-head self-attention's loss (bias gradients always returned)."""

    input: torch.Tensor  # (B, T, E)
    in_proj_weight: torch.Tensor  # (3E, E)
    in_proj_bias: torch.Tensor  # (3E,)
    out_proj_weight: torch.Tensor  # (E, E)
    out_proj_bias: torch.Tensor  # (E,)
