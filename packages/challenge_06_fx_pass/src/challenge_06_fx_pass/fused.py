"""The fused module that ``fuse_linear_activation`` (task 2) puts in place of linear + activation.

Given, not a task: the pass's job is the graph rewrite, this module is what it inserts. One
module call instead of two saves a node and a dispatch. Only ReLU also saves an allocation: it
runs in place on the linear's freshly allocated output. GELU has no in-place form and
allocates its output as before. Either way the matmul and the activation are still two kernels.
"""

from __future__ import annotations

import enum

import torch
import torch.nn.functional as F  # noqa: N812 - the universal spelling
from torch import nn


class Activation(enum.Enum):
    """The activation a ``LinearActivation`` applies after its matmul."""

    RELU = "relu"
    GELU = "gelu"  # exact (erf) GELU, torch's approximate="none"
    GELU_TANH = "gelu_tanh"  # tanh approximation, torch's approximate="tanh"

    @classmethod
    def gelu(cls, approximate: str) -> Activation:
        """The GELU variant for torch's ``approximate`` argument (``"none"`` or ``"tanh"``).

        Raises:
            ValueError: ``approximate`` is neither.
        """
        if approximate == "none":
            return cls.GELU
        if approximate == "tanh":
            return cls.GELU_TANH
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


class LinearActivation(nn.Module):
    """``activation(x @ weight.T + bias)`` as one module, sharing the linear's parameters.

    Args:
        linear: the ``nn.Linear`` whose ``weight`` (out, in) and ``bias`` (out,) are reused
            (not copied: the fused module reads the same tensors).
        activation: which activation follows.

    Shapes: input (*, in_features) -> output (*, out_features).
    """

    def __init__(self, linear: nn.Linear, activation: Activation) -> None:
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
        if not isinstance(activation, Activation):
            raise TypeError(f"activation must be an Activation, got {type(activation).__name__}")
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.weight = linear.weight  # (out, in), shared with the original linear
        self.bias = linear.bias  # (out,) or None
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)  # (*, out): a fresh tensor nobody else sees
        if self.activation is Activation.RELU:
            return torch.relu_(y)  # in place is safe: y is ours alone
        approximate = "tanh" if self.activation is Activation.GELU_TANH else "none"
        return F.gelu(y, approximate=approximate)

    def extra_repr(self) -> str:
        sizes = f"in_features={self.in_features}, out_features={self.out_features}"
        return f"{sizes}, bias={self.bias is not None}, activation={self.activation.value}"
