"""Known wrong: the sensitivity of a layer is its own output error (what the report's
``rel_error`` already measures), not the error it causes at the model's output. A layer with a
large local error that the rest of the network damps gets kept in float, while the one whose
small error is amplified downstream stays INT8."""

from __future__ import annotations

from typing import Any

import torch
from challenge_01_quantization.tracing import relative_error
from torch import nn

from prep.impl import patched


def _layer_error_sensitivity(
    model: nn.Module, floats: dict[str, Any], quantized: dict[str, Any], batches: list[Any]
) -> dict[str, float]:
    inputs: dict[str, list[torch.Tensor]] = {name: [] for name in floats}
    handles = [
        layer.register_forward_pre_hook(
            lambda _m, args, name=name: inputs[name].append(args[0].detach())
        )
        for name, layer in floats.items()
    ]
    try:
        with torch.no_grad():
            for batch in batches:
                model(batch)
    finally:
        for handle in handles:
            handle.remove()
    with torch.no_grad():
        return {
            name: sum(relative_error(quantized[name](x), layer(x)) for x in inputs[name])
            / len(inputs[name])
            for name, layer in floats.items()
        }


IMPLEMENTATION = patched(
    "challenge_01_quantization.solution", _sensitivity=_layer_error_sensitivity
)  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 5  # whose tests reject it: `prep verify` runs them first
