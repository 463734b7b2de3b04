"""The fused modules the fusion passes put in place of a layer + activation.

Given, not a task: a pass's job is the graph rewrite, these modules are what it inserts.

- ``LinearActivation`` (task 2's ``fuse_linear_activation``): one module call instead of two
  saves a node and a dispatch. Only ReLU also saves an allocation: it runs in place on the
  linear's freshly allocated output. GELU has no in-place form and allocates its output as
  before. Either way the matmul and the activation are still two kernels.
- ``ConvActivation`` (the solution's extra ``fuse_conv_activation``, beyond the tasks): one
  oneDNN convolution with the activation as a post-op, on a channels_last weight - one kernel,
  and the layout oneDNN's CPU convolutions are fastest in.
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


# oneDNN's fused convolution, the op Inductor's CPU fusions use under freezing. Private to
# torch (no stability promise), and absent from builds without oneDNN: checked once here, and
# ``ConvActivation`` falls back to conv2d + activation where it is missing.
_CONV_POINTWISE = getattr(torch.ops.mkldnn, "_convolution_pointwise", None)
ONEDNN_CONV = torch.backends.mkldnn.is_available() and _CONV_POINTWISE is not None

# The post-op name and algorithm oneDNN expects for each activation.
_POST_OP: dict[Activation, tuple[str, str]] = {
    Activation.RELU: ("relu", ""),
    Activation.GELU: ("gelu", "none"),
    Activation.GELU_TANH: ("gelu", "tanh"),
}


class ConvActivation(nn.Module):
    """``activation(conv2d(x))`` as one oneDNN call with the activation fused as a post-op.

    Args:
        conv: an ``nn.Conv2d`` with ``padding_mode="zeros"`` and numeric padding; its weight
            (C_out, C_in / groups, kH, kW) is copied in channels_last layout, the bias as is.
        activation: which activation follows.

    Shapes: (B, C_in, H, W) -> (B, C_out, H', W'). On the oneDNN path (a float32 CPU input, no
    autograd) the output is channels_last: same values, NHWC strides. Anywhere else (CUDA,
    other dtypes, a graph being differentiated, a torch without oneDNN) it runs ``conv2d`` and
    then the activation, with the same result.

    Raises:
        TypeError: ``conv`` is not an ``nn.Conv2d`` or ``activation`` not an ``Activation``.
        ValueError: ``conv`` pads with another mode or with a string (``"same"``).
    """

    def __init__(self, conv: nn.Conv2d, activation: Activation) -> None:
        super().__init__()
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"conv must be an nn.Conv2d, got {type(conv).__name__}")
        if not isinstance(activation, Activation):
            raise TypeError(f"activation must be an Activation, got {type(activation).__name__}")
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(
                f"conv must zero-pad by explicit sizes, got padding={conv.padding!r}, "
                f"padding_mode={conv.padding_mode!r}"
            )
        self.stride = list(conv.stride)
        self.padding = [int(p) for p in conv.padding]
        self.dilation = list(conv.dilation)
        self.groups = conv.groups
        with torch.no_grad():  # (C_out, C_in / groups, kH, kW), NHWC strides
            weight = conv.weight.detach().clone(memory_format=torch.channels_last)
        self.weight = nn.Parameter(weight, requires_grad=conv.weight.requires_grad)
        self.bias = (
            None
            if conv.bias is None
            else nn.Parameter(conv.bias.detach().clone(), requires_grad=conv.bias.requires_grad)
        )
        self.activation = activation

    def _onednn(self, x: torch.Tensor) -> bool:
        needs_grad = torch.is_grad_enabled() and (
            x.requires_grad or any(p.requires_grad for p in self.parameters())
        )  # the fused op has no backward
        float32 = x.dtype == self.weight.dtype == torch.float32
        return ONEDNN_CONV and float32 and x.device.type == "cpu" and not needs_grad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        op = _CONV_POINTWISE
        if op is not None and self._onednn(x):
            attr, algorithm = _POST_OP[self.activation]
            out: torch.Tensor = op(  # (B, C_out, H', W'), channels_last
                x, self.weight, self.bias, self.padding, self.stride, self.dilation,
                self.groups, attr, [], algorithm,
            )  # fmt: skip
            return out
        y = F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )
        if self.activation is Activation.RELU:
            return torch.relu_(y)  # y is a fresh tensor nobody else sees
        approximate = "tanh" if self.activation is Activation.GELU_TANH else "none"
        return F.gelu(y, approximate=approximate)

    def extra_repr(self) -> str:
        c_out, c_in_per_group, kh, kw = self.weight.shape
        return (
            f"{c_in_per_group * self.groups}, {c_out}, kernel_size=({kh}, {kw}), "
            f"stride={tuple(self.stride)}, padding={tuple(self.padding)}, "
            f"dilation={tuple(self.dilation)}, groups={self.groups}, "
            f"bias={self.bias is not None}, activation={self.activation.value}"
        )
