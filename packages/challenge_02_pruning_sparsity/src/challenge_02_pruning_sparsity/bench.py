"""``prep bench 02``: what pruning buys in speed, and what it costs in accuracy.

Timed workloads:
1. CPU: the digits CNN (channels 32-64-64) on a batch of 512 images - dense, the same model
   with torch.nn.utils.prune's channel masks (zeros, same dense compute), unstructured 50%
   masks, and each implementation's ``prune_channels`` at 50% (a smaller dense model).
2. CUDA (compute capability 8.0+): a fp16 Linear with a 2:4 weight against dense cuBLAS, at
   4096x4096 (batch 4096 and 16384) and 8192x8192 (batch 8192): torch's own
   ``to_sparse_semi_structured`` and each implementation's ``SparseLinear``; and a transformer
   MLP block (4096 -> 16384 -> GELU -> 4096, batch 8192) with both Linears sparse.

``report`` trains the CNN once and prints test accuracy against sparsity for unstructured
(one-shot and gradual with fine-tuning), channel (one-shot and fine-tuned) and 2:4 pruning;
``plot`` draws those curves.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.utils.prune as torch_prune
from torch import Tensor, nn
from torch.nn import functional

from challenge_02_pruning_sparsity import digits
from challenge_02_pruning_sparsity import solution as reference_impl
from challenge_02_pruning_sparsity.config import GradualSchedule
from challenge_02_pruning_sparsity.layers import (
    accuracy,
    parameter_count,
    prunable_layers,
    weight_sparsity,
)
from prep.bench import Precision, Row, Workload, implementations, lazy

PACKAGE = "challenge_02_pruning_sparsity"
BENCH_CHANNELS = (32, 64, 64)  # wide enough that the convolutions dominate the CPU time
BENCH_HIDDEN = 64
DENSE = "dense (unpruned)"
TORCH_MASKS = "torch.nn.utils.prune 50% channels (masks)"
UNSTRUCTURED = "unstructured 50% (masks)"
DENSE_FP16 = "dense fp16 (cuBLAS)"
TORCH_24 = "torch to_sparse_semi_structured"


@functools.cache
def _data() -> digits.DigitsSplit:
    return digits.load_digits_split()


@functools.cache
def _bench_cnn() -> digits.DigitsCNN:
    return digits.train_digits_cnn(_data(), channels=BENCH_CHANNELS, hidden=BENCH_HIDDEN)


def _forward(model: nn.Module, x: Tensor) -> Callable[[], Tensor]:
    def call() -> Tensor:
        with torch.no_grad():
            out: Tensor = model(x)
            return out

    return call


def _cnn_workload(impls: dict[str, ModuleType], quick: bool) -> Workload:
    model = _bench_cnn()
    batch = 128 if quick else 512
    x = _data().x_train[:batch].contiguous()  # (B, 1, 8, 8)
    masked = copy.deepcopy(model)
    for layer in list(prunable_layers(masked).values())[:-1]:  # not the class logits
        torch_prune.ln_structured(layer, "weight", amount=0.5, n=1, dim=0)
    unstructured = copy.deepcopy(model)
    reference_impl.magnitude_prune(unstructured, 0.5, scope="global")
    expected = reference_impl.prune_channels(model, 0.5)(x).detach()

    def build(module: ModuleType) -> Callable[[], Callable[[], Tensor]]:
        return lambda: _forward(module.prune_channels(model, 0.5), x)

    candidates: dict[str, Callable[[], object]] = {
        DENSE: _forward(model, x),
        TORCH_MASKS: _forward(masked, x),
        UNSTRUCTURED: _forward(unstructured, x),
    }
    candidates |= {name: lazy(build(module)) for name, module in impls.items()}

    def check(name: str, value: object) -> None:
        if name in impls:  # the same channels as the solution: the same logits
            assert isinstance(value, Tensor)
            torch.testing.assert_close(value, expected, rtol=1e-4, atol=1e-4)

    flops = _cnn_flops(model, batch)
    return Workload(
        name=f"DigitsCNN {BENCH_CHANNELS} forward, batch {batch}",
        candidates=candidates,
        check=check,
        flops=flops,
        reference=DENSE,
        device="cpu",
        precision=Precision.FP32,
        notes="prune_channels rows run a model with half the channels (dense, smaller); masks "
        "leave the dense compute unchanged. GFLOP/s counts the dense model's FLOPs.",
    )


def _cnn_flops(model: nn.Module, batch: int) -> float:
    """Multiply-adds x 2 of the dense model's Conv and Linear layers on 8x8 inputs."""
    sizes = {"features.0": 64, "features.3": 64, "features.7": 16}  # output pixels per image
    total = 0
    for name, layer in prunable_layers(model).items():
        total += 2 * layer.weight.numel() * sizes.get(name, 1)
    return float(total * batch)


def _sparse_kernel_available() -> bool:
    return torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 0)


def _linear_workload(impls: dict[str, ModuleType], n: int, k: int, m: int) -> Workload:
    """y = x W^T, x (m, k), W (n, k) fp16 pruned 2:4: dense cuBLAS vs the sparse kernel."""
    from torch.sparse import to_sparse_semi_structured

    gen = torch.Generator(device="cuda").manual_seed(0)
    weight = torch.randn(n, k, device="cuda", generator=gen, dtype=torch.float16)
    weight = weight * reference_impl.semi_structured_24(weight)
    x = torch.randn(m, k, device="cuda", generator=gen, dtype=torch.float16)
    sparse = to_sparse_semi_structured(weight)

    def build(module: ModuleType) -> Callable[[], Callable[[], Tensor]]:
        return lambda: _forward(module.SparseLinear(weight), x)

    candidates: dict[str, Callable[[], object]] = {
        DENSE_FP16: lambda: functional.linear(x, weight),
        TORCH_24: lambda: functional.linear(x, sparse),
    }
    candidates |= {name: lazy(build(module)) for name, module in impls.items()}
    expected = functional.linear(x, weight).float()

    def check(name: str, value: object) -> None:
        assert isinstance(value, Tensor)
        # fp16 outputs of k-term dot products: compare at fp16 resolution of their size
        torch.testing.assert_close(value.float(), expected, rtol=2e-2, atol=0.5)

    return Workload(
        name=f"2:4 Linear {n}x{k}, batch {m}",
        candidates=candidates,
        check=check,
        flops=2.0 * m * n * k,
        reference=DENSE_FP16,
        library=TORCH_24,
        device="cuda",
        precision=Precision.FP16,
        notes="TFLOP/s count the dense-equivalent 2*M*N*K, so a 2:4 row above the dense one "
        "is a real speed-up; % of datasheet is against the dense fp16 peak.",
    )


class _MLPBlock(nn.Module):
    """A transformer feed-forward block: Linear -> GELU -> Linear."""

    def __init__(self, up: nn.Module, down: nn.Module) -> None:
        super().__init__()
        self.up, self.down = up, down

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.down(functional.gelu(self.up(x)))  # (M, d) -> (M, 4d) -> (M, d)
        return out


def _mlp_workload(impls: dict[str, ModuleType], d: int, m: int) -> Workload:
    torch.manual_seed(0)
    up = nn.Linear(d, 4 * d).to("cuda", torch.float16)
    down = nn.Linear(4 * d, d).to("cuda", torch.float16)
    x = torch.randn(m, d, device="cuda", dtype=torch.float16)
    with torch.no_grad():  # the dense row runs the same 2:4-pruned weights
        for layer in (up, down):
            layer.weight.mul_(reference_impl.semi_structured_24(layer.weight))
    dense = _MLPBlock(up, down)

    def build(module: ModuleType) -> Callable[[], Callable[[], Tensor]]:
        return lambda: _forward(
            _MLPBlock(module.SparseLinear.from_dense(up), module.SparseLinear.from_dense(down)), x
        )

    candidates: dict[str, Callable[[], object]] = {DENSE_FP16: _forward(dense, x)}
    candidates |= {name: lazy(build(module)) for name, module in impls.items()}
    expected = dense(x).detach().float()

    def check(name: str, value: object) -> None:
        assert isinstance(value, Tensor)
        torch.testing.assert_close(value.float(), expected, rtol=2e-2, atol=0.1)

    return Workload(
        name=f"MLP block {d}->{4 * d}->GELU->{d}, batch {m}",
        candidates=candidates,
        check=check,
        flops=2.0 * m * d * 4 * d * 2,
        reference=DENSE_FP16,
        device="cuda",
        precision=Precision.FP16,
        notes="end to end: both Linears 2:4 sparse, bias and GELU included.",
    )


def workloads(quick: bool = False) -> list[Workload]:
    impls = implementations(PACKAGE)
    found = [_cnn_workload(impls, quick)]
    if _sparse_kernel_available():
        shapes = [(4096, 4096, 4096)] if quick else [
            (4096, 4096, 4096), (4096, 4096, 16384), (8192, 8192, 8192)
        ]  # fmt: skip
        found += [_linear_workload(impls, n, k, m) for n, k, m in shapes]
        found.append(_mlp_workload(impls, 4096, 4096 if quick else 8192))
    return found


# ---------------------------------------------------------------------------------------------
# Accuracy against sparsity (report and plot): one trained CNN, every method on a copy of it.


def _train_masked(model: nn.Module, masks: dict[str, Tensor], steps: int) -> None:
    """Adam steps on the digits training set, re-applying ``masks`` after each step."""
    data, params = _data(), dict(model.named_parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(1)
    model.train()
    for _ in range(steps):
        rows = torch.randperm(len(data.x_train), generator=generator)[:128]
        optimizer.zero_grad()
        functional.cross_entropy(model(data.x_train[rows]), data.y_train[rows]).backward()
        optimizer.step()
        with torch.no_grad():
            for name, mask in masks.items():
                params[name].mul_(mask)
    model.eval()


def _mask_24(model: nn.Module) -> dict[str, Tensor]:
    """2:4 masks on every layer whose flattened input size is a multiple of 4, applied."""
    masks = {}
    with torch.no_grad():
        for name, layer in prunable_layers(model).items():
            rows = layer.weight.flatten(1)  # (C_out, C_in * kh * kw): 2:4 along the inputs
            if rows.shape[1] % 4 == 0:
                mask = reference_impl.semi_structured_24(rows).view_as(layer.weight)
                layer.weight.mul_(mask)
                masks[f"{name}.weight"] = mask
    return masks


@functools.cache
def _curves(quick: bool) -> dict[str, list[tuple[float, float]]]:
    """{method: [(sparsity, test accuracy)]}, all from the same trained CNN."""
    data, base = _data(), _bench_cnn()
    test = (data.x_test, data.y_test)
    amounts = [0.5, 0.8, 0.9] if quick else [0.5, 0.7, 0.8, 0.9, 0.95]
    steps = 50 if quick else 150  # fine-tuning budget, the same for every method
    curves: dict[str, list[tuple[float, float]]] = {"dense": [(0.0, accuracy(base, *test))]}
    for amount in amounts:
        one_shot = copy.deepcopy(base)
        reference_impl.magnitude_prune(one_shot, amount, scope="global")
        curves.setdefault("unstructured, one-shot", []).append((amount, accuracy(one_shot, *test)))
        gradual = copy.deepcopy(base)
        schedule = GradualSchedule(amount, rounds=3, finetune_steps=steps // 3)
        reference_impl.prune_and_finetune(gradual, (data.x_train, data.y_train), schedule)
        curves.setdefault("unstructured, gradual + fine-tune", []).append(
            (weight_sparsity(gradual), accuracy(gradual, *test))
        )
    dense_params = parameter_count(base)
    for amount in [0.25, 0.5, 0.75] if not quick else [0.5]:
        pruned = reference_impl.prune_channels(base, amount)
        removed = 1 - parameter_count(pruned) / dense_params  # share of parameters removed
        curves.setdefault("channels, one-shot", []).append((removed, accuracy(pruned, *test)))
        digits.train(pruned, data.x_train, data.y_train, epochs=2, seed=1)
        curves.setdefault("channels + fine-tune", []).append((removed, accuracy(pruned, *test)))
    sparse = copy.deepcopy(base)
    masks = _mask_24(sparse)
    curves["2:4, one-shot"] = [(weight_sparsity(sparse), accuracy(sparse, *test))]
    _train_masked(sparse, masks, steps)
    curves["2:4 + fine-tune"] = [(weight_sparsity(sparse), accuracy(sparse, *test))]
    return curves


def report(rows: list[Row], *, quick: bool = False) -> dict[str, Any]:
    """Print test accuracy against sparsity for each method; return it for ``--json``."""
    from rich.console import Console
    from rich.table import Table

    curves = _curves(quick)
    table = Table(
        title=f"DigitsCNN {BENCH_CHANNELS}: test accuracy vs sparsity (channels: share of "
        "parameters removed)",
        title_justify="left",
    )
    for column in ("method", "sparsity", "test accuracy"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method, points in curves.items():
        for sparsity, acc in points:
            table.add_row(method, f"{100 * sparsity:.1f}%", f"{100 * acc:.2f}%")
    Console().print(table)
    return {"accuracy_vs_sparsity": {k: [list(p) for p in v] for k, v in curves.items()}}


def plot(rows: list[Row], path: Path, *, quick: bool = False) -> None:
    """Test accuracy against sparsity, one curve per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for method, points in _curves(quick).items():
        xs, ys = zip(*sorted(points), strict=True)
        axes.plot([100 * x for x in xs], [100 * y for y in ys], marker="o", label=method)
    axes.set_xlabel("sparsity (% of weights zero; channels: % of parameters removed)")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title("Digits CNN: accuracy vs sparsity")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
