"""Task 4: the learning-rate schedule against ``torch.optim.lr_scheduler``, the training loop
against the same loop written with torch.autograd and ``torch.optim``, and the full run on
scikit-learn's digits."""

from __future__ import annotations

import math
from functools import partial
from types import ModuleType

import pytest
import torch
from challenge_14_training_from_scratch.digits import DigitsSplit
from challenge_14_training_from_scratch.oracles import reference_logits
from challenge_14_training_from_scratch.schemes import InitScheme
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional

from prep.testing import assert_close

TARGET_ACCURACY = 0.97


def _torch_schedule(
    base_lr: float, total: int, warmup: int, start_factor: float, min_lr: float
) -> list[float]:
    """The lr of steps 0..total from torch's LinearLR warm-up followed by CosineAnnealingLR."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=total - warmup, eta_min=min_lr
    )
    if warmup:
        linear = torch.optim.lr_scheduler.LinearLR(
            optimizer, start_factor=start_factor, total_iters=warmup
        )
        scheduler: torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler.SequentialLR(
            optimizer, [linear, cosine], milestones=[warmup]
        )
    else:
        scheduler = cosine
    lrs = []
    for _ in range(total + 1):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
    return lrs


@pytest.mark.task(4)
@settings(max_examples=10)
@given(
    total=st.integers(2, 60),
    warmup_fraction=st.sampled_from([0.0, 0.1, 0.5]),
    start_factor=st.sampled_from([0.01, 0.1, 1.0]),
    min_fraction=st.sampled_from([0.0, 0.1]),
)
def test_warmup_cosine_matches_torch(
    impl: ModuleType, total: int, warmup_fraction: float, start_factor: float, min_fraction: float
) -> None:
    base_lr = 0.3
    warmup = int(warmup_fraction * total)
    expected = _torch_schedule(base_lr, total, warmup, start_factor, min_fraction * base_lr)
    ours = [
        impl.warmup_cosine_lr(step, base_lr=base_lr, total_steps=total, warmup_steps=warmup,
                              start_factor=start_factor, min_lr=min_fraction * base_lr)
        for step in range(total + 1)
    ]  # fmt: skip
    # torch updates the cosine recursively: its rounding differs from the closed form by ~1e-16
    assert_close(
        ours,
        expected,
        rtol=1e-9,
        atol=1e-15,
        task=4,
        what=f"lr of steps 0..{total} (warm-up {warmup})",
    )
    after = impl.warmup_cosine_lr(total + 5, base_lr=base_lr, total_steps=total, warmup_steps=warmup,
                                  start_factor=start_factor, min_lr=min_fraction * base_lr)  # fmt: skip
    assert after == pytest.approx(min_fraction * base_lr, abs=1e-15), (
        "after total_steps the lr stays at min_lr"
    )


@pytest.mark.task(4)
def test_train_matches_torch_optim(impl: ModuleType, digits: DigitsSplit) -> None:
    """Three epochs of SGD with momentum and a schedule: every batch loss and the final weights
    equal the same loop run with torch.autograd and torch.optim.SGD, batch for batch."""
    sizes, epochs, batch = (64, 16, 10), 3, 100
    x, y = digits.x_train[:300].double(), digits.y_train[:300]
    model = impl.MLP(sizes, init=InitScheme.SMALL, seed=3)
    start = [p.clone() for p in model.parameters()]
    schedule = partial(impl.warmup_cosine_lr, base_lr=0.5, total_steps=9, warmup_steps=2)
    losses = impl.train(model, impl.SGD(model.parameters(), lr=0.5, momentum=0.9), x, y,
                        epochs=epochs, batch_size=batch, seed=5, schedule=schedule)  # fmt: skip

    leaves = [p.clone().requires_grad_() for p in start]
    optimizer = torch.optim.SGD(leaves, lr=0.5, momentum=0.9)
    lrs = [0.05, 0.275] + [0.5 * (1 + math.cos(math.pi * k / 7)) / 2 for k in range(7)]
    generator = torch.Generator().manual_seed(5)
    expected: list[float] = []
    for _ in range(epochs):
        for rows in torch.randperm(len(x), generator=generator).split(batch):
            optimizer.param_groups[0]["lr"] = lrs[len(expected)]
            optimizer.zero_grad()
            loss = functional.cross_entropy(reference_logits(leaves, sizes, True, x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            expected.append(loss.item())
    assert_close(
        losses, expected, rtol=1e-9, task=4, what="loss of every batch (batches from _batches)"
    )
    for k, (ours, theirs) in enumerate(zip(model.parameters(), leaves, strict=True)):
        assert_close(
            ours,
            theirs.detach(),
            rtol=1e-9,
            atol=1e-12,
            task=4,
            what=f"parameter {k} after training",
        )


@pytest.mark.task(4)
def test_digits_reach_97_percent(impl: ModuleType, digits: DigitsSplit) -> None:
    """64-128-10 with LayerNorm and ReLU, He init, Adam with warm-up and cosine decay."""
    model = impl.MLP((64, 128, 10), seed=0, dtype=torch.float32)
    epochs, batch = 12, 64
    steps = epochs * -(-len(digits.x_train) // batch)
    schedule = partial(impl.warmup_cosine_lr, base_lr=3e-3, total_steps=steps, warmup_steps=20)
    losses = impl.train(model, impl.Adam(model.parameters(), lr=3e-3), digits.x_train, digits.y_train,
                        epochs=epochs, batch_size=batch, schedule=schedule)  # fmt: skip
    assert len(losses) == steps, f"{len(losses)} losses for {steps} steps"
    acc = impl.accuracy(model, digits.x_test, digits.y_test)
    assert acc >= TARGET_ACCURACY, (
        f"test accuracy {acc:.3f} < {TARGET_ACCURACY} (first/last batch loss {losses[0]:.3f}/"
        f"{losses[-1]:.3f}) - revisit README tasks 2-4"
    )


@pytest.mark.task(4)
def test_accuracy_counts_argmax_hits(impl: ModuleType) -> None:
    model = impl.MLP((2, 3), init=InitScheme.ZERO)
    model.parameters()[-1].copy_(
        torch.tensor([0.0, 1.0, 0.5], dtype=torch.float64)
    )  # always class 1
    assert impl.accuracy(model, torch.zeros(4, 2), torch.tensor([1, 1, 0, 2])) == 0.5


@pytest.mark.task(4)
def test_bad_arguments_are_refused(impl: ModuleType) -> None:
    assert impl.warmup_cosine_lr(0, base_lr=1.0, total_steps=4) == 1.0
    with pytest.raises(ValueError, match="warmup_steps"):
        impl.warmup_cosine_lr(0, base_lr=1.0, total_steps=4, warmup_steps=4)
    with pytest.raises(ValueError, match="step"):
        impl.warmup_cosine_lr(-1, base_lr=1.0, total_steps=4)
    with pytest.raises(ValueError, match="min_lr"):
        impl.warmup_cosine_lr(0, base_lr=1.0, total_steps=4, min_lr=2.0)
    model = impl.MLP((2, 2), init=InitScheme.ZERO)
    with pytest.raises(ValueError, match="batch_size"):
        impl.train(model, impl.SGD(model.parameters(), lr=0.1), torch.zeros(3, 2), torch.zeros(3, dtype=torch.int64),
                   epochs=1, batch_size=0)  # fmt: skip
    with pytest.raises(ValueError, match="y must have shape"):
        impl.train(model, impl.SGD(model.parameters(), lr=0.1), torch.zeros(3, 2), torch.zeros(2, dtype=torch.int64),
                   epochs=1, batch_size=2)  # fmt: skip
