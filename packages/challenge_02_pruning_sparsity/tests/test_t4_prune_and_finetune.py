"""Task 4: gradual magnitude pruning with short fine-tuning on the digits CNN."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_02_pruning_sparsity import digits
from challenge_02_pruning_sparsity.config import GradualSchedule
from challenge_02_pruning_sparsity.layers import accuracy, prunable_layers, weight_sparsity

pytestmark = pytest.mark.task(4)


def weight_count(model: torch.nn.Module) -> int:
    return sum(m.weight.numel() for m in prunable_layers(model).values())


def test_pruned_weights_stay_zero_through_finetuning(
    impl: ModuleType, random_cnn: Callable[..., Any], digits_split: digits.DigitsSplit
) -> None:
    model = random_cnn(0)
    data = (digits_split.x_train, digits_split.y_train)
    schedule = GradualSchedule(0.6, rounds=3, finetune_steps=6, lr=1e-2, batch_size=64)
    steps = impl.prune_and_finetune(model, data, schedule)
    n = weight_count(model)
    for step in steps:
        assert step.sparsity == round(step.target * n) / n, (
            f"round {step.round}: {step.sparsity:.4f} of the weights are zero after "
            f"fine-tuning, the schedule asks {step.target:.4f}: pruned weights came back"
        )
    assert weight_sparsity(model) == round(0.6 * n) / n


def test_steps_follow_the_cubic_schedule(
    impl: ModuleType, random_cnn: Callable[..., Any], digits_split: digits.DigitsSplit
) -> None:
    schedule = GradualSchedule(0.75, rounds=3, finetune_steps=2, initial_sparsity=0.1)
    steps = impl.prune_and_finetune(
        random_cnn(1), (digits_split.x_train, digits_split.y_train), schedule
    )
    assert [s.round for s in steps] == [1, 2, 3]
    expected = [0.75 - 0.65 * (1 - k / 3) ** 3 for k in (1, 2, 3)]
    for step, target in zip(steps, expected, strict=True):
        assert math.isclose(step.target, target, rel_tol=1e-12), f"round {step.round}"
        assert math.isfinite(step.loss), "the mean training loss of the round"


def test_no_finetuning_equals_one_shot_pruning(
    impl: ModuleType, random_cnn: Callable[..., Any], digits_split: digits.DigitsSplit
) -> None:
    model, one_shot = random_cnn(2), random_cnn(2)
    schedule = GradualSchedule(0.7, rounds=3, finetune_steps=0)
    steps = impl.prune_and_finetune(model, (digits_split.x_train, digits_split.y_train), schedule)
    assert all(math.isnan(s.loss) for s in steps), "no fine-tuning step: the loss is nan"
    impl.magnitude_prune(one_shot, 0.7, scope="global")
    for name, layer in prunable_layers(model).items():
        assert torch.equal(layer.weight, one_shot.get_submodule(name).weight), name


def test_model_is_left_in_eval_mode(
    impl: ModuleType, random_cnn: Callable[..., Any], digits_split: digits.DigitsSplit
) -> None:
    model = random_cnn(3).train()
    schedule = GradualSchedule(0.5, rounds=1, finetune_steps=2)
    impl.prune_and_finetune(model, (digits_split.x_train, digits_split.y_train), schedule)
    assert not model.training, "BatchNorm must use its running statistics after fine-tuning"


def test_gradual_pruning_recovers_accuracy_at_90_percent(
    impl: ModuleType, cnn: digits.DigitsCNN, digits_split: digits.DigitsSplit
) -> None:
    data = digits_split
    dense = accuracy(cnn, data.x_test, data.y_test)
    one_shot = copy.deepcopy(cnn)
    impl.magnitude_prune(one_shot, 0.9, scope="global")
    schedule = GradualSchedule(0.9, rounds=3, finetune_steps=15)
    impl.prune_and_finetune(cnn, (data.x_train, data.y_train), schedule)
    gradual, once = (
        accuracy(cnn, data.x_test, data.y_test),
        accuracy(one_shot, data.x_test, data.y_test),
    )
    assert weight_sparsity(cnn) >= 0.9 - 1e-4
    assert gradual >= dense - 0.04, f"gradual 90%: {gradual:.3f} vs dense {dense:.3f}"
    assert gradual >= once + 0.2, f"gradual {gradual:.3f} vs one-shot 90% {once:.3f}"


def test_bad_arguments(impl: ModuleType, random_cnn: Callable[..., Any]) -> None:
    model, schedule = random_cnn(0), GradualSchedule(0.5)
    x, y = torch.randn(10, 1, 8, 8), torch.randint(0, 10, (10,))
    with pytest.raises(ValueError, match="data"):
        impl.prune_and_finetune(model, (x, y[:9]), schedule)
    with pytest.raises(TypeError, match="data"):
        impl.prune_and_finetune(model, x, schedule)
    with pytest.raises(TypeError, match="schedule"):
        impl.prune_and_finetune(model, (x, y), 0.5)
    with pytest.raises(TypeError, match="model"):
        impl.prune_and_finetune("model", (x, y), schedule)
