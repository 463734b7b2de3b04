"""``prep bench 14``: the optimizer step and the training step against torch, the float16 step
against the float32 one on a GPU, and (``report``/``--plot``) the two demos: per-layer gradient
norms of a 20-layer MLP by initialisation, and a float16 run with and without loss scaling.

Every implementation steps the same seeded model on the same batch. Each timed call is one
optimizer or training step; the check re-verifies what the step returned (finite parameters or
loss of the right size), while the tests hold the exact comparisons with torch.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

from challenge_14_training_from_scratch.digits import load_digits_split
from challenge_14_training_from_scratch.schemes import InitScheme
from prep.bench import Precision, Row, Workload, implementations, lazy

PACKAGE = "challenge_14_training_from_scratch"
DEMO_DEPTH, DEMO_WIDTH = 20, 64
DEMO_SCHEMES = [
    InitScheme.ZERO,
    InitScheme.SMALL,
    InitScheme.XAVIER,
    InitScheme.HE,
    InitScheme.LARGE,
]


# ----------------------------------------------------------------------------- optimizer step


def _grads(shapes: list[tuple[int, ...]], device: str) -> list[Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.randn(s, generator=g).to(device) for s in shapes]


def _optimizer_step(module: ModuleType, shapes: list[tuple[int, ...]]) -> Callable[[], Any]:
    def build() -> Callable[[], Any]:
        params, grads = _grads(shapes, "cpu"), _grads(shapes, "cpu")
        optimizer = module.Adam(params, lr=1e-3)
        return lambda: (optimizer.step(grads), params)[1]

    return lazy(build)


def _torch_optimizer_step(shapes: list[tuple[int, ...]], foreach: bool) -> Callable[[], Any]:
    params = [p.requires_grad_() for p in _grads(shapes, "cpu")]
    for p, g in zip(params, _grads(shapes, "cpu"), strict=True):
        p.grad = g
    optimizer = torch.optim.Adam(params, lr=1e-3, foreach=foreach)

    def step() -> list[Tensor]:
        optimizer.step()
        return [p.detach() for p in params]

    return step


def _check_finite(name: str, value: object) -> None:
    tensors = value if isinstance(value, list) else [value]
    for t in tensors:
        assert isinstance(t, Tensor), f"{name} returned {type(t).__name__}"
        assert bool(torch.isfinite(t).all()), f"{name}: non-finite result"


def _optimizer_workload(impls: dict[str, ModuleType], quick: bool) -> Workload:
    count, side = (16, 128) if quick else (64, 256)
    shapes: list[tuple[int, ...]] = [(side, side)] * count
    elements = count * side * side
    candidates: dict[str, Callable[[], Any]] = {
        name: _optimizer_step(module, shapes) for name, module in impls.items()
    }
    candidates["torch.optim.Adam (for-loop)"] = _torch_optimizer_step(shapes, foreach=False)
    candidates["torch.optim.Adam (foreach)"] = _torch_optimizer_step(shapes, foreach=True)
    return Workload(
        name=f"Adam step, {count} tensors of {side}x{side} float32",
        candidates=candidates,
        check=_check_finite,
        bytes_moved=7 * 4 * elements,  # read p, g, m, v; write p, m, v
        device="cpu",
        library="torch.optim.Adam (foreach)",
        notes="one step per call; the tests compare every implementation with torch.optim "
        "parameter by parameter over 200 steps",
    )


# ----------------------------------------------------------------------------- training step


def _batch(sizes: list[int], batch: int, device: str) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(batch, sizes[0], generator=g)
    y = torch.randint(0, sizes[-1], (batch,), generator=g)
    return x.to(device), y.to(device)


def _train_step(
    module: ModuleType, sizes: list[int], batch: int, device: str, dtype: torch.dtype, float16: bool
) -> Callable[[], Any]:
    def build() -> Callable[[], Any]:
        x, y = _batch(sizes, batch, device)
        model = module.MLP(sizes, seed=0, dtype=dtype).to(device)
        optimizer = module.Adam(model.parameters(), lr=1e-4)
        if not float16:
            return lambda: module.train(model, optimizer, x, y, epochs=1, batch_size=batch)[0]
        scaler = module.DynamicLossScaler()
        return lambda: module.train_float16(
            model, optimizer, x, y, epochs=1, batch_size=batch, scaler=scaler
        )[0]

    return lazy(build)


def _torch_model(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k, (fan_in, fan_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if k < len(sizes) - 2:
            layers += [nn.LayerNorm(fan_out), nn.ReLU()]
    return nn.Sequential(*layers)


def _torch_train_step(
    sizes: list[int], batch: int, device: str, dtype: torch.dtype, float16: bool
) -> Callable[[], Any]:
    x, y = _batch(sizes, batch, device)
    model = _torch_model(sizes).to(device=device, dtype=dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device) if float16 else None

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.float16, enabled=float16):
            loss = functional.cross_entropy(model(x.to(dtype)), y)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        return float(loss.detach())

    return step


def _check_loss(classes: int) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        assert isinstance(value, float), f"{name} returned {type(value).__name__}"
        # random labels: the loss starts near ln(classes) and cannot go far from it in a few steps
        assert 0.0 < value < 3.0 * torch.log(torch.tensor(float(classes))).item(), (
            f"{name}: loss {value} of a {classes}-class step is not plausible"
        )

    return check


def _flops(sizes: list[int], batch: int) -> float:
    forward = 2.0 * batch * sum(i * o for i, o in pairwise(sizes))
    return 3.0 * forward  # the backward pass: two matmuls per forward one


def _cpu_train_workload(impls: dict[str, ModuleType], quick: bool) -> Workload:
    sizes, batch = ([64, 128, 128, 10], 128) if quick else ([64, 256, 256, 10], 256)
    candidates = {
        name: _train_step(module, sizes, batch, "cpu", torch.float32, False)
        for name, module in impls.items()
    }
    candidates["torch autograd + torch.optim"] = _torch_train_step(
        sizes, batch, "cpu", torch.float32, False
    )
    return Workload(
        name=f"MLP {'-'.join(map(str, sizes))} training step (LayerNorm, Adam), batch {batch}",
        candidates=candidates,
        check=_check_loss(sizes[-1]),
        flops=_flops(sizes, batch),
        device="cpu",
        library="torch autograd + torch.optim",
        notes="forward, softmax cross-entropy, backward and an Adam step per call, float32",
    )


def _gpu_train_workload(solution: ModuleType, quick: bool) -> Workload:
    sizes, batch = ([1024, 2048, 2048, 1024], 2048) if quick else ([1024, 4096, 4096, 1024], 8192)
    rows: dict[str, Callable[[], Any]] = {
        "solution float32": _train_step(solution, sizes, batch, "cuda", torch.float32, False),
        "solution float16 + loss scaling": _train_step(
            solution, sizes, batch, "cuda", torch.float32, True
        ),
        "torch float32": _torch_train_step(sizes, batch, "cuda", torch.float32, False),
        "torch autocast float16 + GradScaler": _torch_train_step(
            sizes, batch, "cuda", torch.float32, True
        ),
    }
    return Workload(
        name=f"MLP {'-'.join(map(str, sizes))} training step, batch {batch}, float16 vs float32",
        candidates=rows,
        check=_check_loss(sizes[-1]),
        flops=_flops(sizes, batch),
        reference="solution float32",
        device="cuda",
        precision=Precision.FP16,
        library="torch autocast float16 + GradScaler",
        notes="float32 matmuls run in true fp32 (TF32 off, torch's default); the datasheet "
        "share is of the fp16 tensor-core peak for every row",
    )


def workloads(quick: bool = False) -> list[Workload]:
    impls = implementations(PACKAGE)
    out = [_optimizer_workload(impls, quick), _cpu_train_workload(impls, quick)]
    if torch.cuda.is_available():
        out.append(_gpu_train_workload(impls["solution"], quick))
    return out


# ----------------------------------------------------------------------------- demos


def gradient_norm_demo(module: ModuleType) -> dict[str, list[float]]:
    """Per-layer weight-gradient norms of a 20-layer, 64-wide ReLU MLP (no LayerNorm) for
    each initialisation, on one seeded batch of 128."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, DEMO_WIDTH, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 10, (128,), generator=g)
    out = {}
    for scheme in DEMO_SCHEMES:
        sizes = (*[DEMO_WIDTH] * DEMO_DEPTH, 10)
        model = module.MLP(sizes, layer_norm=False, init=scheme, seed=0)
        out[scheme.value] = module.layer_gradient_norms(model, x, labels)
    return out


def float16_demo(module: ModuleType, epochs: int = 4) -> dict[str, list[float]]:
    """Batch losses of a 64-32-32-10 digits MLP whose loss is weighted by 1e-6: float32,
    float16 without scaling, float16 with dynamic loss scaling."""
    digits = load_digits_split(seed=0)
    x, y = digits.x_train[:512], digits.y_train[:512]
    out: dict[str, list[float]] = {}
    for mode in ("float32", "float16", "float16 + loss scaling"):
        model = module.MLP((64, 32, 32, 10), seed=0, dtype=torch.float32)
        optimizer = module.Adam(model.parameters(), lr=1e-2)
        kwargs: dict[str, Any] = {"epochs": epochs, "batch_size": 64, "loss_weight": 1e-6}
        if mode == "float32":
            out[mode] = module.train(model, optimizer, x, y, **kwargs)
        else:
            scaler = module.DynamicLossScaler(growth_interval=5) if "scaling" in mode else None
            out[mode] = module.train_float16(model, optimizer, x, y, scaler=scaler, **kwargs)
    return out


def report(rows: list[Row], quick: bool = False) -> dict[str, Any]:
    """Print the two demos' tables (solution) and return them for ``--json``."""
    solution = implementations(PACKAGE)["solution"]
    norms = gradient_norm_demo(solution)
    shown = [1, 2, 5, 10, 15, 20]
    print(f"\nWeight-gradient norm per layer, {DEMO_DEPTH}-layer {DEMO_WIDTH}-wide ReLU MLP:\n")
    print("| init | " + " | ".join(f"layer {k}" for k in shown) + " |")
    print("|---|" + "---|" * len(shown))
    for scheme, values in norms.items():
        print(f"| {scheme} | " + " | ".join(f"{values[k - 1]:.2g}" for k in shown) + " |")
    losses = float16_demo(solution, epochs=2 if quick else 4)
    print("\nDigits MLP, loss weighted by 1e-6, Adam: mean batch loss per epoch\n")
    epochs = len(next(iter(losses.values()))) // 8
    print("| run | " + " | ".join(f"epoch {e + 1}" for e in range(epochs)) + " |")
    print("|---|" + "---|" * epochs)
    for mode, values in losses.items():
        means = [sum(values[8 * e : 8 * e + 8]) / 8 for e in range(epochs)]
        print(f"| {mode} | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    return {"gradient_norms": norms, "float16_losses": losses}


def plot(rows: list[Row], path: Path, quick: bool = False) -> None:
    """Per-layer gradient norms by init (log scale) beside the float16 loss curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    solution = implementations(PACKAGE)["solution"]
    norms = gradient_norm_demo(solution)
    losses = float16_demo(solution, epochs=2 if quick else 4)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for scheme, values in norms.items():
        shown = [max(v, 1e-30) for v in values]  # zero init: drawn at the floor
        left.semilogy(range(1, len(values) + 1), shown, marker="o", label=scheme)
    left.set(xlabel="layer", ylabel="||dL/dW||", title=f"{DEMO_DEPTH}-layer ReLU MLP by init")
    left.legend()
    for mode, values in losses.items():  # float32 dashed: the scaled float16 run lies on it
        right.plot(values, label=mode, linestyle="--" if mode == "float32" else "-")
    right.set(xlabel="step", ylabel="batch loss", title="digits, loss weight 1e-6, Adam")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
