"""Task 5: dynamic loss scaling against ``torch.amp.GradScaler``, and a float16 run rescued by it.

The scale-sequence test drives both scalers in lockstep on a float16 model: at every step the
same float16 gradients of ``scale * loss`` (computed in float16 with autograd, at the current
scale, which both sides must agree on) go to both; overflow to inf at a too-large scale makes
them back off, ``growth_interval`` clean steps make them grow.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_14_training_from_scratch.digits import DigitsSplit
from challenge_14_training_from_scratch.schemes import InitScheme
from torch.nn import functional

from prep.testing import assert_close


def _float16_grads(
    weights: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, scale: float
) -> list[torch.Tensor]:
    """Gradients of ``scale * cross_entropy`` of a 2-layer float16 net, cast to float32."""
    leaves = [w.detach().half().requires_grad_() for w in weights]
    logits = torch.relu(x.half() @ leaves[0]) @ leaves[1]
    loss = functional.cross_entropy(logits.float(), y) * scale
    loss.backward()
    return [leaf.grad.float() for leaf in leaves if leaf.grad is not None]


@pytest.mark.task(5)
@pytest.mark.parametrize(
    ("init_scale", "growth_factor", "backoff_factor", "growth_interval"),
    [(2.0**24, 2.0, 0.5, 3), (2.0**20, 4.0, 0.25, 2), (2.0**10, 2.0, 0.5, 1)],
)
def test_scale_sequence_matches_grad_scaler(
    impl: ModuleType,
    init_scale: float,
    growth_factor: float,
    backoff_factor: float,
    growth_interval: int,
) -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 8, generator=g) * 4, torch.randint(0, 4, (32,), generator=g)
    start = [torch.randn(8, 16, generator=g), torch.randn(16, 4, generator=g)]
    ref_params = [w.clone().requires_grad_() for w in start]
    ours_params = [w.clone() for w in start]
    hyper: dict[str, Any] = {
        "init_scale": init_scale,
        "growth_factor": growth_factor,
        "backoff_factor": backoff_factor,
        "growth_interval": growth_interval,
    }
    ref = torch.amp.GradScaler("cpu", **hyper)
    ours = impl.DynamicLossScaler(**hyper)
    ref_opt, ours_opt = torch.optim.SGD(ref_params, lr=1e-3), impl.SGD(ours_params, lr=1e-3)
    scales: list[float] = []
    skipped = 0
    for step in range(40):
        assert ours.scale == ref.get_scale(), (
            f"step {step}: scale {ours.scale} != GradScaler's {ref.get_scale()} (scales so far "
            f"{scales}) - revisit README task 5"
        )
        scales.append(ours.scale)
        grads = _float16_grads(ref_params, x, y, ours.scale)
        for p, grad in zip(ref_params, grads, strict=True):
            p.grad = grad.clone()
        finite = all(bool(torch.isfinite(grad).all()) for grad in grads)
        ref.scale(torch.ones(()))  # GradScaler creates its scale tensor on the first scale()
        ref.step(ref_opt)
        ref.update()
        stepped = ours.step(ours_opt, grads)
        ours.update()
        assert stepped == finite, (
            f"step {step}: step() returned {stepped} with {'finite' if finite else 'inf/NaN'} gradients"
        )
        skipped += not finite
        for k, (mine, theirs) in enumerate(zip(ours_params, ref_params, strict=True)):
            assert_close(
                mine,
                theirs.detach(),
                rtol=1e-6,
                atol=1e-7,
                task=5,
                what=f"weight {k} after step {step}",
            )
    assert skipped > 0, f"the run should overflow and back off at least once: {scales}"
    assert len(set(scales)) > 2, f"the run should both back off and grow: {scales}"


@pytest.mark.task(5)
def test_unscale_and_skip(impl: ModuleType) -> None:
    scaler = impl.DynamicLossScaler(init_scale=8.0, growth_interval=2)
    assert float(scaler.scale_loss(torch.tensor(1.5))) == 12.0
    params = [torch.ones(3)]
    optimizer = impl.SGD(params, lr=1.0)
    grads = [torch.tensor([8.0, 16.0, float("nan")])]
    assert scaler.unscale_(grads) is True, "NaN must count as overflow"
    assert_close(grads[0][:2], torch.tensor([1.0, 2.0]), task=5, what="unscaled gradients")
    assert scaler.step(optimizer, grads) is False, "a step with NaN gradients must be skipped"
    assert torch.equal(params[0], torch.ones(3)), "a skipped step must leave the weights alone"
    scaler.update()
    assert scaler.scale == 4.0, "after an overflow the scale backs off"
    for _ in range(2):
        assert scaler.step(optimizer, [torch.full((3,), 4.0)]) is True
        scaler.update()
    assert scaler.scale == 8.0, "after growth_interval clean steps the scale grows"
    assert_close(params[0], torch.full((3,), -1.0), task=5, what="weights after two unscaled steps")
    with pytest.raises(RuntimeError, match="update"):
        scaler.update()
    scaler.unscale_([torch.ones(1)])
    with pytest.raises(RuntimeError, match="unscale_"):
        scaler.unscale_([torch.ones(1)])
    scaler.update()
    with pytest.raises(TypeError, match="float32"):
        scaler.unscale_([torch.ones(1, dtype=torch.float16)])
    with pytest.raises(ValueError, match="backoff_factor"):
        impl.DynamicLossScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match="growth_interval"):
        impl.DynamicLossScaler(growth_interval=0)


@pytest.mark.task(5)
def test_loss_scaling_rescues_a_float16_run(impl: ModuleType, digits: DigitsSplit) -> None:
    """A loss weighted by 1e-6 (a small auxiliary loss; or a mean over a million tokens) has
    gradients below float16's smallest subnormal (6e-8): without scaling they flush to zero and
    Adam stands still; scaled, the float16 run follows the float32 one."""
    x, y = digits.x_train[:512], digits.y_train[:512]
    sizes, weight, epochs, batch = (64, 32, 32, 10), 1e-6, 4, 64

    def run(mode: str) -> tuple[list[float], Any]:
        model = impl.MLP(sizes, seed=0, dtype=torch.float32)
        optimizer = impl.Adam(model.parameters(), lr=1e-2)
        kwargs: dict[str, Any] = {"epochs": epochs, "batch_size": batch, "loss_weight": weight}
        if mode == "float32":
            return impl.train(model, optimizer, x, y, **kwargs), None
        scaler = impl.DynamicLossScaler(growth_interval=5) if mode == "scaled" else None
        return impl.train_float16(model, optimizer, x, y, scaler=scaler, **kwargs), scaler

    full, _ = run("float32")
    unscaled, _ = run("float16")
    scaled, scaler = run("scaled")

    def tail(losses: list[float]) -> float:
        return sum(losses[-8:]) / 8  # the last epoch's mean loss

    assert tail(full) < 1.0, f"the float32 run should learn: last-epoch loss {tail(full):.3f}"
    assert tail(unscaled) > 2.0, (
        f"without scaling the float16 gradients underflow and the loss should stall near "
        f"ln(10) = 2.3; it reached {tail(unscaled):.3f}: the gradients were not computed in float16?"
    )
    assert abs(tail(scaled) - tail(full)) < 0.05, (
        f"with dynamic loss scaling the float16 run should track float32: last-epoch loss "
        f"{tail(scaled):.3f} vs {tail(full):.3f} - revisit README task 5"
    )
    assert scaler is not None
    assert scaler.scale > 2.0**16, f"the scale should have grown from 2^16, it is {scaler.scale}"


@pytest.mark.task(5)
def test_float16_run_needs_float32_master_weights(impl: ModuleType) -> None:
    model = impl.MLP((2, 2), init=InitScheme.ZERO, dtype=torch.float32)
    x, y = torch.zeros(2, 2), torch.zeros(2, dtype=torch.int64)
    losses = impl.train_float16(
        model, impl.SGD(model.parameters(), lr=0.1), x, y, epochs=1, batch_size=2
    )
    assert len(losses) == 1
    half = model.cast(torch.float16)
    with pytest.raises(ValueError, match="float32"):
        impl.train_float16(half, impl.SGD(half.parameters(), lr=0.1), x, y, epochs=1, batch_size=2)
