"""``prep bench 12``: forward + backward of an MLP with binary cross-entropy on the logits,
batch 256.

Every implementation steps the same network (same seeded weights, copied into torch), and each
timed call is re-checked against torch: the loss and every parameter's gradient. The scalar
baseline only runs the small network: at 2-256-256-1 it would build ~34 million Python objects
per call.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from types import ModuleType
from typing import Any

import numpy as np
import torch
from sklearn.datasets import make_moons

from prep.bench import Workload, implementations
from prep.testing import assert_close

PACKAGE = "challenge_12_mini_autograd"
BATCH = 256
Result = tuple[float, list[np.ndarray]]  # the loss and every parameter's gradient


def _step(impl: ModuleType, sizes: list[int], X: np.ndarray, y: np.ndarray) -> Callable[[], Result]:
    built: list[Any] = []  # built on the first call: an unfinished starter raises there

    def step() -> Result:
        if not built:
            built.extend((impl.MLP(sizes, seed=0), impl.Tensor(X)))
        net, inputs = built
        net.zero_grad()
        loss = impl.binary_cross_entropy_with_logits(net(inputs).reshape(-1), y)
        loss.backward()
        return float(loss.item()), [p.grad for p in net.parameters()]

    return step


def _torch_step(weights: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> Callable[[], Result]:
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> Result:
        for p in params:
            p.grad = None
        h = inputs
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            if k + 2 < len(params):
                h = torch.relu(h)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(h.reshape(-1), targets)
        loss.backward()
        return float(loss.item()), [p.grad.numpy() for p in params if p.grad is not None]

    return step


def _flops(sizes: list[int]) -> float:
    forward = 2.0 * BATCH * sum(i * o for i, o in pairwise(sizes))
    return 3.0 * forward  # backward costs about twice the forward's matmuls


def workloads(quick: bool = False) -> list[Workload]:
    X, labels = make_moons(n_samples=BATCH, noise=0.1, random_state=0)
    y = labels.astype(np.float64)
    impls = implementations(PACKAGE)
    out = []
    for sizes, with_baseline in (([2, 16, 16, 1], True), ([2, 256, 256, 1], False)):
        if quick and not with_baseline:
            continue
        weights = [p.data for p in impls["solution"].MLP(sizes, seed=0).parameters()]
        expected = _torch_step(weights, X, y)()
        candidates: dict[str, Callable[[], Any]] = {}
        for name, module in impls.items():
            if name != "baseline" or with_baseline:
                candidates[name] = _step(module, sizes, X, y)
        candidates["torch"] = _torch_step(weights, X, y)

        def check(name: str, value: object, expected: Result = expected) -> None:
            assert isinstance(value, tuple), f"{name} returned {type(value).__name__}"
            loss, grads = value
            assert_close(loss, expected[0], rtol=1e-9, task=5, what=f"{name} loss")
            assert len(grads) == len(expected[1]), f"{name} has {len(grads)} gradients"
            for k, (ours, theirs) in enumerate(zip(grads, expected[1], strict=True)):
                # float64 both sides; BLAS sums in another order, hence the slack
                assert_close(ours, theirs, rtol=1e-9, atol=1e-12, task=5, what=f"{name} grad {k}")

        label = "-".join(map(str, sizes))
        out.append(
            Workload(
                name=f"MLP {label} fwd+bwd, batch {BATCH}",
                candidates=candidates,
                check=check,
                flops=_flops(sizes),
                reference="baseline" if with_baseline else "solution",
            )
        )
    return out
