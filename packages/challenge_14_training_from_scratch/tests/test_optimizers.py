"""Task 2: SGD, Adam and AdamW against ``torch.optim``, parameter by parameter, over 200 steps.

Each step's gradient depends on the current parameters (a quadratic bowl plus seeded noise), so
any difference in an update changes every later gradient and compounds. float64 on both sides;
the tolerance allows for a different association order in the arithmetic (about 1e-16 per
step), nothing more.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from prep.testing import assert_close

STEPS = 200
RTOL, ATOL = 1e-9, 1e-12
CHECKED = {1, 2, 3, 10, 50}  # steps after which every parameter is compared (and the last)


def _start() -> list[Tensor]:
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(shape, generator=g, dtype=torch.float64) for shape in ((5, 3), (3,), (2, 2, 2))
    ]


def _run_both(ours_cls: Any, torch_cls: Any, steps: int = STEPS, **hyper: Any) -> None:
    ours_params = [p.clone() for p in _start()]
    ref_params = [p.clone().requires_grad_() for p in _start()]
    ours, ref = ours_cls(ours_params, **hyper), torch_cls(ref_params, **hyper)
    noise = torch.Generator().manual_seed(1)
    # a bowl centred on 0.5, steeper along some coordinates
    curvatures = [
        torch.linspace(0.5, 3.0, p.numel(), dtype=torch.float64).reshape(p.shape)
        for p in ours_params
    ]
    for step in range(steps):
        grads = []
        for p, curvature in zip(ref_params, curvatures, strict=True):
            g = curvature * (p.detach() - 0.5) + 0.3 * torch.randn(
                p.shape, generator=noise, dtype=torch.float64
            )
            if step % 7 == 3:  # a sparse-ish gradient now and then: zeros in places
                g[..., 0] = 0.0
            grads.append(g)
            p.grad = g.clone()
        ours.step(grads)
        ref.step()
        if step + 1 not in CHECKED and step + 1 != steps:
            continue
        for k, (mine, theirs) in enumerate(zip(ours_params, ref_params, strict=True)):
            assert_close(mine, theirs.detach(), rtol=RTOL, atol=ATOL, task=2,
                         what=f"param {k} after step {step + 1} with {hyper}")  # fmt: skip


@pytest.mark.task(2)
def test_adam_first_step_is_lr_sized(impl: ModuleType) -> None:
    """With bias correction the first step moves every coordinate by about ``lr``."""
    _run_both(impl.Adam, torch.optim.Adam, steps=3, lr=0.1)


@pytest.mark.task(2)
def test_adamw_decays_the_weights_not_the_gradient(impl: ModuleType) -> None:
    _run_both(impl.AdamW, torch.optim.AdamW, steps=5, lr=0.01, weight_decay=0.5)


@pytest.mark.task(2)
@settings(max_examples=6)
@given(
    lr=st.sampled_from([1e-3, 0.01, 0.05]),
    betas=st.sampled_from([(0.9, 0.999), (0.8, 0.9), (0.0, 0.99)]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    amsgrad=st.booleans(),
    eps=st.sampled_from([1e-8, 1e-3]),
)
def test_adam_matches_torch(
    impl: ModuleType,
    lr: float,
    betas: tuple[float, float],
    weight_decay: float,
    amsgrad: bool,
    eps: float,
) -> None:
    _run_both(
        impl.Adam,
        torch.optim.Adam,
        lr=lr,
        betas=betas,
        eps=eps,
        weight_decay=weight_decay,
        amsgrad=amsgrad,
    )


@pytest.mark.task(2)
@settings(max_examples=4)
@given(
    lr=st.sampled_from([1e-3, 0.01, 0.05]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.3]),
    amsgrad=st.booleans(),
)
def test_adamw_matches_torch(
    impl: ModuleType, lr: float, weight_decay: float, amsgrad: bool
) -> None:
    _run_both(impl.AdamW, torch.optim.AdamW, lr=lr, weight_decay=weight_decay, amsgrad=amsgrad)


@pytest.mark.task(2)
@settings(max_examples=6)
@given(
    lr=st.sampled_from([0.01, 0.05]),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    dampening=st.sampled_from([0.0, 0.3]),
    weight_decay=st.sampled_from([0.0, 0.1]),
    nesterov=st.booleans(),
)
def test_sgd_matches_torch(
    impl: ModuleType,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
) -> None:
    if nesterov and (momentum == 0.0 or dampening != 0.0):
        nesterov = False  # torch refuses that combination; tested below
    _run_both(impl.SGD, torch.optim.SGD, lr=lr, momentum=momentum, dampening=dampening,
              weight_decay=weight_decay, nesterov=nesterov)  # fmt: skip


@pytest.mark.task(2)
def test_schedule_may_change_lr_between_steps(impl: ModuleType) -> None:
    ours_p, ref_p = (
        [torch.ones(4, dtype=torch.float64)],
        [torch.ones(4, dtype=torch.float64, requires_grad=True)],
    )
    ours, ref = impl.Adam(ours_p, lr=0.1), torch.optim.Adam(ref_p, lr=0.1)
    for step, lr in enumerate([0.1, 0.05, 0.2]):
        ours.lr = ref.param_groups[0]["lr"] = lr
        grad = torch.full((4,), float(step + 1), dtype=torch.float64)
        ref_p[0].grad = grad.clone()
        ours.step([grad])
        ref.step()
    assert_close(
        ours_p[0], ref_p[0].detach(), rtol=RTOL, task=2, what="Adam param after lr changes"
    )


@pytest.mark.task(2)
def test_bad_arguments_are_refused(impl: ModuleType) -> None:
    params = [torch.zeros(3, dtype=torch.float64)]
    impl.SGD(params, lr=0.1).step([torch.ones(3, dtype=torch.float64)])
    assert torch.equal(params[0], torch.full((3,), -0.1, dtype=torch.float64))
    with pytest.raises(ValueError, match="lr"):
        impl.Adam(params, lr=-1.0)
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        impl.AdamW(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="nesterov"):
        impl.SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="params"):
        impl.Adam([])
    with pytest.raises(ValueError, match="grads"):
        impl.Adam(params).step([torch.ones(4, dtype=torch.float64)])
    with pytest.raises(ValueError, match="grads"):
        impl.SGD(params, lr=0.1).step([])
