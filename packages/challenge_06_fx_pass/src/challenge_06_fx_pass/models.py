"""The models the passes are tested and benchmarked on (given, not a task).

Each model is small, seeded and in eval mode, and each exists to exercise one pass - or to trip
a plausible bug in it:

- ``SmallCNN``: Conv-BN-ReLU blocks and a linear head (``fold_conv_bn``; the bench's CNN). Its
  BatchNorms carry non-trivial running statistics and ``eps=1e-3``, so folding that forgets
  ``eps`` is visibly wrong.
- ``MLP``: Linear + ReLU/GELU layers (``fuse_linear_activation``; the bench's MLP).
- ``ActivationFormsNet``: every way FX records an activation (module, function, method,
  ``approximate="tanh"``), plus a linear whose output is used twice and must not be fused.
- ``DeadCodeNet``: dead module calls and chains next to in-place ops whose results are unused
  but whose effects are not (``eliminate_dead_code``).
- ``ConstantNet``: parameter-only arithmetic that can be precomputed (``fold_constants``).
- ``CommonSubexpressionNet``, ``MutationNet``, ``DtypeLiteralNet``: repeated work to merge and
  look-alikes that must not be merged (``eliminate_common_subexpressions``).
- ``MutatedClonesNet``: equal-looking ``clone`` calls changed differently afterwards (CSE must
  not merge values that are later written, directly or through a view).
- ``InputMutationNet``: writes to its input (the pass manager must clone inputs per run).
- ``SharedBatchNormNet``: one BatchNorm on two branches; in training mode every run updates
  its statistics (verification must not run the user's modules).
- ``RandomOpsNet``: random ops, which no pass may drop, merge or fold.
- ``KitchenSinkNet``: a little of everything, so each pass of a pipeline has work to do.

``make_case(name)`` returns a model with example inputs; ``trace(model)`` is
``torch.fx.symbolic_trace``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.fx as fx
import torch.nn.functional as F  # noqa: N812 - the universal spelling
from torch import nn


def trace(model: nn.Module) -> fx.GraphModule:
    """``torch.fx.symbolic_trace(model)``: a module-level graph (``call_module`` nodes for
    ``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.Linear`` ...), the form the passes work on."""
    return fx.symbolic_trace(model)


def randomize_batchnorm(model: nn.Module, generator: torch.Generator) -> None:
    """Give every BatchNorm in ``model`` running statistics and affine parameters far from the
    identity (a freshly built BN is mean 0, var 1, weight 1, bias 0, and folds trivially)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                if module.running_mean is not None and module.running_var is not None:
                    module.running_mean.copy_(0.5 * torch.randn(n, generator=generator))
                    # small variances make eps matter: eps/var is up to 2% at eps=1e-3
                    module.running_var.copy_(0.05 + 0.95 * torch.rand(n, generator=generator))
                if module.affine:
                    module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                    module.bias.copy_(0.2 * torch.randn(n, generator=generator))


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias: BN's shift makes it redundant) -> BatchNorm2d -> ReLU."""

    def __init__(self, c_in: int, c_out: int, *, stride: int = 1, eps: float = 1e-3) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out, eps=eps),
            nn.ReLU(),
        )


class SmallCNN(nn.Module):
    """Conv-BN-ReLU blocks, global average pooling and a two-layer head.

    Args:
        channels: (3, c1, c2, ...): one block per step; every other block has stride 2.
        num_classes: logits per image.
        eps: the BatchNorms' eps.

    Shapes: (B, channels[0], H, W) -> (B, num_classes).
    """

    def __init__(
        self, channels: Sequence[int] = (3, 16, 32), num_classes: int = 10, eps: float = 1e-3
    ) -> None:
        super().__init__()
        blocks = [
            ConvBNReLU(c_in, c_out, stride=1 + (k % 2), eps=eps)
            for k, (c_in, c_out) in enumerate(itertools.pairwise(channels))
        ]
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(
            nn.Linear(channels[-1], 64), nn.ReLU(), nn.Linear(64, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, C, H', W')
        x = torch.flatten(self.pool(x), 1)  # (B, C)
        out: torch.Tensor = self.head(x)  # (B, num_classes)
        return out


class MLP(nn.Module):
    """Linear layers with ReLU and exact GELU alternating between them.

    Shapes: (B, sizes[0]) -> (B, sizes[-1]).
    """

    def __init__(self, sizes: Sequence[int] = (64, 128, 128, 10)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for k, (d_in, d_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(d_in, d_out))
            if k < len(sizes) - 2:
                layers.append(nn.ReLU() if k % 2 == 0 else nn.GELU())
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.layers(x)  # (B, sizes[-1])
        return out


class ActivationFormsNet(nn.Module):
    """Linear followed by each form of activation FX can record. Five pairs are fusable; the
    last linear feeds both a ReLU and the residual add, so it must stay unfused.

    Shapes: (B, 16) -> (B, 16).
    """

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.fc = nn.ModuleList(nn.Linear(d, d) for _ in range(6))
        self.relu = nn.ReLU()
        self.gelu = nn.GELU()  # exact

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu(self.fc[0](x))  # call_module ReLU
        b = F.gelu(self.fc[1](a), approximate="tanh")  # call_function, tanh GELU
        c = torch.relu(self.fc[2](b))  # call_function torch.relu
        d = self.fc[3](c).relu()  # call_method relu
        e = self.gelu(self.fc[4](d))  # call_module GELU (exact)
        f = self.fc[5](e)
        out: torch.Tensor = F.relu(f) + f  # f has two users: not fusable
        return out


class DeadCodeNet(nn.Module):
    """Dead computations beside in-place ops whose return values are unused but whose effects
    reach the output. Shapes: (B, 16) -> (B, 16)."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.used = nn.Linear(d, d)
        self.unused = nn.Linear(d, d)
        self.relu_inplace = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.used(x)
        self.unused(x)  # dead: a module call nobody reads
        torch.sin(x).mul(2.0).sum()  # dead: a three-node chain
        z = y.clone()
        z.add_(1.0)  # call_method add_, no users, but z changed
        w = y * 1.0
        F.relu(w, inplace=True)  # call_function with inplace=True, no users
        v = y - 0.5
        self.relu_inplace(v)  # call_module ReLU(inplace=True), no users
        out: torch.Tensor = z + w + v
        return out


class ConstantNet(nn.Module):
    """Arithmetic on parameters and buffers only, which a pass can precompute.

    Shapes: (B, 16) -> (B, 16).
    """

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d, d) / math.sqrt(d))
        self.log_scale = nn.Parameter(0.1 * torch.randn(d))
        # a frozen Parameter, not a buffer: symbolic_trace records get_attr for parameters but
        # runs arithmetic on plain buffers at trace time (baking it into a _tensor_constant)
        self.offset = nn.Parameter(torch.randn(d), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.log_scale.exp().unsqueeze(1)  # (16, 16): constant
        b = self.offset.mul(0.5).add(1.0)  # (16,): constant
        return F.linear(x, w, b).tanh()  # (B, 16)


class CommonSubexpressionNet(nn.Module):
    """Repeated computations (merge them) beside look-alikes that differ only in kwargs (keep
    them apart). Shapes: (8, 8) -> (8, 8); the input is square so dim=0 and dim=1 agree in
    shape but not in value."""

    def __init__(self, d: int = 8) -> None:
        super().__init__()
        self.proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.sin(x) + torch.sin(x)  # same call twice: merge
        b = self.proj(x) * self.proj(x)  # same (pure) module call twice: merge
        c = torch.cumsum(x, dim=0) - torch.cumsum(x, dim=1)  # kwargs differ: keep both
        d = F.gelu(x) - F.gelu(x, approximate="tanh")  # kwargs differ: keep both
        e = x.sum(dim=1, keepdim=True) + x.sum(dim=1, keepdim=True)  # method twice: merge
        out: torch.Tensor = a + b + c + 1000.0 * d + e
        return out


class MutationNet(nn.Module):
    """The same expression before and after an in-place op: not the same value.

    Shapes: (B, D) -> (B,).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        a = y.sum(dim=1)
        y.mul_(2.0)
        b = y.sum(dim=1)  # looks like `a`, is 2 * a
        return a + b


class DtypeLiteralNet(nn.Module):
    """``x + 1`` and ``x + 1.0`` hash and compare equal as Python tuples, but on an integer
    tensor one stays int64 and the other becomes float32. Shapes: (B, D) int64 -> two (B, D)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x + 1, x + 1.0


class RandomOpsNet(nn.Module):
    """Random ops: no pass may drop, merge or precompute them (compare outputs under one seed).

    Shapes: (B, 16) -> (B, 16).
    """

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.noise_scale = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.rand_like(x)  # unused, but it advances the generator: DCE must keep it
        a = torch.rand_like(x)  # two draws, two values: CSE must not merge them
        b = torch.rand_like(x)
        c = torch.randn_like(self.noise_scale)  # constant input, fresh value per call
        return x + a - b + c


class MutatedClonesNet(nn.Module):
    """Three equal ``x.clone()`` calls, each changed differently afterwards (one through a
    view): three different values, however alike the calls look. Shapes: (B, D) -> three
    (B, D)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a = x.clone()
        b = x.clone()
        c = x.clone()
        a.add_(1.0)
        b.mul_(2.0)
        c.view(-1).sub_(3.0)  # written through a view: c changes too
        return a, b, c


class InputMutationNet(nn.Module):
    """Writes to its input in place: whoever runs it twice on the same tensor sees x + 1, then
    x + 2. Shapes: (B, D) -> (B, D)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.add_(1.0)
        out: torch.Tensor = x * 2.0
        return out


class SharedBatchNormNet(nn.Module):
    """One BatchNorm called on two branches (a shared leaf module). Built in eval mode like
    every case; in training mode each call updates the running statistics, so the statistics
    after a forward depend on how many times the graph ran. Shapes: (B, 8) -> (B, 8)."""

    def __init__(self, d: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.bn = nn.BatchNorm1d(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.bn(x)
        b = self.bn(torch.relu(self.fc(x)))
        out: torch.Tensor = a + b
        return out


class KitchenSinkNet(nn.Module):
    """Conv-BN, linear+ReLU, a constant subexpression, a repeated product and a dead branch: each
    pass of the full pipeline has at least one node to remove. Shapes: (B, 3, 8, 8) -> (B, 16)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8, eps=1e-3)
        self.fc = nn.Linear(8, 16)
        self.unused = nn.Linear(16, 16)
        self.log_scale = nn.Parameter(0.1 * torch.randn(16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.conv(x)))  # (B, 8, 8, 8)
        h = F.relu(self.fc(y.mean(dim=(2, 3))))  # (B, 16)
        scale = self.log_scale.exp()  # (16,): constant
        self.unused(h)  # dead
        return h * scale + h * scale  # the product twice


@dataclass(frozen=True)
class Case:
    """A model in eval mode and example inputs for it."""

    model: nn.Module
    inputs: tuple[torch.Tensor, ...]


def _float(*shape: int) -> Inputs:
    return lambda g: (torch.randn(*shape, generator=g),)


Inputs = Callable[[torch.Generator], tuple[torch.Tensor, ...]]
_CASES: dict[str, tuple[Callable[[], nn.Module], Inputs]] = {
    "cnn": (SmallCNN, _float(2, 3, 16, 16)),
    "mlp": (MLP, _float(4, 64)),
    "activation_forms": (ActivationFormsNet, _float(4, 16)),
    "dead_code": (DeadCodeNet, _float(4, 16)),
    "constants": (ConstantNet, _float(4, 16)),
    "common_subexpressions": (CommonSubexpressionNet, _float(8, 8)),
    "mutation": (MutationNet, _float(4, 8)),
    "dtype_literal": (DtypeLiteralNet, lambda g: (torch.randint(-5, 5, (4, 8), generator=g),)),
    "random_ops": (RandomOpsNet, _float(4, 16)),
    "mutated_clones": (MutatedClonesNet, _float(4, 8)),
    "input_mutation": (InputMutationNet, _float(4, 8)),
    "shared_batchnorm": (SharedBatchNormNet, _float(6, 8)),
    "kitchen_sink": (KitchenSinkNet, _float(2, 3, 8, 8)),
}
CASE_NAMES = tuple(_CASES)


def build(factory: Callable[[], nn.Module], seed: int = 0) -> nn.Module:
    """``factory()`` built under ``seed`` (the global RNG is restored), BatchNorm statistics
    randomized, in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = factory()
        randomize_batchnorm(model, torch.Generator().manual_seed(seed + 1))
    return model.eval()


def make_case(name: str, seed: int = 0) -> Case:
    """The named model (see ``CASE_NAMES``), seeded, in eval mode, with example inputs.

    Raises:
        KeyError: unknown ``name``.
    """
    if name not in _CASES:
        raise KeyError(f"unknown case {name!r}; the cases are {', '.join(CASE_NAMES)}")
    factory, inputs = _CASES[name]
    return Case(build(factory, seed), inputs(torch.Generator().manual_seed(seed + 2)))
