"""Task 5 on a GPU: the float16 run rescued by loss scaling, with float16 matmuls on CUDA.

Imports nothing beyond torch and pytest, so it also runs where hypothesis is not installed.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_14_training_from_scratch.digits import DigitsSplit


@pytest.mark.gpu
@pytest.mark.task(5)
def test_float16_run_on_gpu_tracks_float32(impl: ModuleType, digits: DigitsSplit) -> None:
    x, y = digits.x_train[:512].cuda(), digits.y_train[:512].cuda()
    kwargs: dict[str, Any] = {"epochs": 4, "batch_size": 64, "loss_weight": 1e-6}

    def run(mode: str) -> list[float]:
        model = impl.MLP((64, 32, 32, 10), seed=0, dtype=torch.float32).to("cuda")
        optimizer = impl.Adam(model.parameters(), lr=1e-2)
        if mode == "float32":
            losses: list[float] = impl.train(model, optimizer, x, y, **kwargs)
            return losses
        scaler = impl.DynamicLossScaler(growth_interval=5) if mode == "scaled" else None
        losses = impl.train_float16(model, optimizer, x, y, scaler=scaler, **kwargs)
        assert model.parameters()[0].is_cuda, "the master weights should stay on the GPU"
        return losses

    def tail(losses: list[float]) -> float:
        return sum(losses[-8:]) / 8

    full, unscaled, scaled = run("float32"), run("float16"), run("scaled")
    assert tail(unscaled) > 2.0, f"unscaled float16 should stall, reached {tail(unscaled):.3f}"
    assert abs(tail(scaled) - tail(full)) < 0.05, (
        f"scaled float16 {tail(scaled):.3f} should track float32 {tail(full):.3f}"
    )
