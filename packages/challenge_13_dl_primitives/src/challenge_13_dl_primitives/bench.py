"""``prep bench 13``: the im2col convolution against the loop baseline and ``F.conv2d``.

The layer is ResNet-18/34's workhorse: 64 -> 64 channels, 3x3, stride 1, padding 1, on a
56x56 feature map, float32 on the CPU. Every row runs under the same thread limit
(``--threads``). The backward (input, weight and bias gradients) is timed against ATen's
``convolution_backward``, the kernel autograd calls. Each timed result is re-checked against
torch.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch
from torch.nn import functional as F  # noqa: N812 - the field's name for it

from prep.bench import Precision, Workload, implementations, lazy
from prep.testing import assert_close

PACKAGE = "challenge_13_dl_primitives"

# float32 dot products of 576 terms: ~1e-6 relative rounding each, summed in another order
RTOL, ATOL = 1e-3, 1e-3


def _layer(channels: int, size: int, batch: int) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=gen)
    w = torch.randn(channels, channels, 3, 3, generator=gen) / (3 * channels**0.5)
    b = torch.randn(channels, generator=gen)
    g = torch.randn(batch, channels, size, size, generator=gen)
    return x, w, b, g


def _forward(
    impl: ModuleType, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> Callable[[], Any]:
    return lazy(lambda: lambda: impl.conv2d(x, w, b, 1, 1, 1, 1))


def _backward(
    impl: ModuleType, g: torch.Tensor, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> Callable[[], Any]:
    return lazy(lambda: lambda: tuple(impl.conv2d_backward(g, x, w, b, 1, 1, 1, 1)))


def _torch_backward(
    g: torch.Tensor, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> Callable[[], Any]:
    def call() -> tuple[torch.Tensor, ...]:
        return tuple(
            torch.ops.aten.convolution_backward(
                g, x, w, [b.shape[0]], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, True]
            )
        )

    return call


def workloads(quick: bool = False) -> list[Workload]:
    channels, size, batch = (16, 28, 1) if quick else (64, 56, 1)
    x, w, b, g = _layer(channels, size, batch)
    impls = implementations(PACKAGE)
    flops = 2.0 * batch * channels * size * size * channels * 9  # one multiply-add per tap
    label = f"{channels}ch 3x3 pad 1, {size}x{size}, batch {batch}"
    with torch.no_grad():
        expected_out = F.conv2d(x, w, b, padding=1)
        expected_grads = _torch_backward(g, x, w, b)()

    def check_forward(name: str, value: object) -> None:
        assert_close(value, expected_out, rtol=RTOL, atol=ATOL, task=1, what=f"{name} output")

    def check_backward(name: str, value: object) -> None:
        assert isinstance(value, tuple), f"{name} returned {type(value).__name__}"
        for what, mine, theirs in zip(
            ("input", "weight", "bias"), value, expected_grads, strict=True
        ):
            # the weight gradient sums 3136 products per entry: float32 needs more slack
            assert_close(mine, theirs, rtol=RTOL, atol=1e-2, task=1, what=f"{name} grad of {what}")

    forward = {name: _forward(module, x, w, b) for name, module in impls.items()}
    forward["torch"] = lambda: F.conv2d(x, w, b, padding=1)
    backward = {name: _backward(module, g, x, w, b) for name, module in impls.items()}
    backward["torch"] = _torch_backward(g, x, w, b)
    common: dict[str, Any] = {"device": "cpu", "precision": Precision.FP32, "library": "torch"}
    return [
        Workload(
            name=f"conv2d forward {label}",
            candidates=forward,
            check=check_forward,
            flops=flops,
            reference="baseline",
            notes="target: the solution within 3x of torch (F.conv2d, oneDNN) on the same threads",
            **common,
        ),
        Workload(
            name=f"conv2d backward {label}",
            candidates=backward,
            check=check_backward,
            flops=2 * flops,  # grad of input and grad of weight: one GEMM each
            reference="baseline",
            notes="torch row: aten.convolution_backward, the kernel autograd calls",
            **common,
        ),
    ]
