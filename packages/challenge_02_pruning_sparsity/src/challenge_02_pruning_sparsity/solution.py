"""Reference solution: pruning that matches torch.nn.utils.prune, channel removal planned on a
torch.fx graph, 2:4 masks with cuSPARSELt on CUDA, and gradual magnitude pruning.

What is special here: task 1 ranks with one ``topk`` over the concatenated magnitudes (no full
sort); task 2 reads the model's data flow from a ``torch.fx`` trace, so it follows ``forward``
rather than module order and sees every residual add and concatenation; task 3 picks the two
kept entries of every group of four with one ``topk`` on a ``(groups, 4)`` view and hands the
masked weight to ``to_sparse_semi_structured`` where the hardware has sparse tensor cores.
The starter's docstrings are the specification.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Sequence
from typing import Any, TypeVar

import torch
from torch import Tensor, fx, nn
from torch.nn import functional

from challenge_02_pruning_sparsity.config import Criterion, GradualSchedule, PruneStep, Scope
from challenge_02_pruning_sparsity.layers import Prunable, prunable_layers, weight_sparsity

__all__ = [
    "SparseLinear",
    "magnitude_prune",
    "prune_and_finetune",
    "prune_channels",
    "semi_structured_24",
]


# ------------------------------------------------------------------------------ validation


def _check_model(model: object) -> dict[str, Prunable]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = prunable_layers(model)
    if not layers:
        raise ValueError("model has no Linear or Conv layer to prune")
    return layers


def _check_amount(amount: object, *, below_one: bool) -> float:
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise TypeError(f"amount must be a float fraction, got {type(amount).__name__}")
    value = float(amount)
    upper_ok = value < 1.0 if below_one else value <= 1.0
    if not (math.isfinite(value) and value >= 0.0 and upper_ok):
        interval = "[0, 1)" if below_one else "[0, 1]"
        raise ValueError(f"amount must be in {interval}, got {amount!r}")
    return value


_E = TypeVar("_E", Scope, Criterion)


def _enum(kind: type[_E], value: object, name: str) -> _E:
    try:
        return kind(str(value))
    except ValueError:
        valid = ", ".join(repr(v.value) for v in kind)
        raise ValueError(f"{name} must be one of {valid}, got {value!r}") from None


# ------------------------------------------------------------------------------ task 1


def _prune_count(amount: float, n: int) -> int:
    """How many of ``n`` weights ``amount`` removes: Python's round (half to even), as
    ``torch.nn.utils.prune`` computes it."""
    return round(amount * n)


def _keep_mask(magnitude: Tensor, n_prune: int) -> Tensor:
    """True everywhere except at the ``n_prune`` smallest entries of a flat tensor."""
    keep = torch.ones_like(magnitude, dtype=torch.bool)
    if n_prune > 0:
        keep[torch.topk(magnitude, n_prune, largest=False).indices] = False
    return keep


@torch.no_grad()
def magnitude_prune(
    model: nn.Module, amount: float, *, scope: Scope | str = Scope.LAYER
) -> dict[str, Tensor]:
    layers = _check_model(model)
    amount = _check_amount(amount, below_one=False)
    scope = _enum(Scope, scope, "scope")
    weights = {f"{name}.weight": module.weight for name, module in layers.items()}
    masks: dict[str, Tensor] = {}
    if scope is Scope.LAYER:
        for name, w in weights.items():
            flat = w.detach().abs().flatten()
            masks[name] = _keep_mask(flat, _prune_count(amount, flat.numel())).view_as(w)
    else:
        # One ranking over every weight: the concatenation order (named_modules) is the one
        # torch's global_unstructured uses for the parameters it is given.
        flat = torch.cat([w.detach().abs().flatten() for w in weights.values()])
        keep = _keep_mask(flat, _prune_count(amount, flat.numel()))
        for (name, w), part in zip(
            weights.items(), keep.split([w.numel() for w in weights.values()]), strict=True
        ):
            masks[name] = part.view_as(w)
    for name, w in weights.items():
        w.mul_(masks[name])
    return masks


# ------------------------------------------------------------------------------ task 2

# Ops that act on each channel on its own: channels may be removed straight through them.
_CHANNELWISE_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
    nn.Dropout, nn.Dropout2d, nn.Identity, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
    nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d,
)  # fmt: skip
_CHANNELWISE_FUNCTIONS = {
    torch.relu, functional.relu, functional.relu6, functional.leaky_relu, functional.gelu,
    functional.silu, torch.sigmoid, torch.tanh, functional.dropout, functional.max_pool2d,
    functional.avg_pool2d, functional.adaptive_avg_pool2d,
}  # fmt: skip
_CHANNELWISE_METHODS = {"relu", "sigmoid", "tanh", "contiguous"}
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


class _Link:
    """The path from one layer's output to the next layer that reads those channels."""

    def __init__(self) -> None:
        self.norms: list[str] = []  # BatchNorms on the way, to shrink too
        self.consumer = ""  # the next Conv/Linear
        self.flattened = False  # a flatten lies between (a Conv feeding a Linear)


class _RefusedError(ValueError):
    """A layer whose channels cannot be removed safely (message names it and the reason)."""


class _FeedsOutputError(_RefusedError):
    """The layer's channels are the model's outputs (the classifier): never pruned."""


def _is_flatten(node: fx.Node, modules: dict[str, Any]) -> bool:
    if node.op == "call_module":
        module = modules[str(node.target)]
        return isinstance(module, nn.Flatten) and module.start_dim == 1 and module.end_dim == -1
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    is_call = (node.op == "call_function" and node.target is torch.flatten) or (
        node.op == "call_method" and node.target == "flatten"
    )
    return bool(is_call and start == 1 and end == -1)


def _describe(node: fx.Node) -> str:
    if node.op == "call_module":
        return f"module {node.target!r}"
    if node.target in (operator.add, torch.add, operator.iadd) or node.target == "add":
        return "an add (a residual connection)"
    if node.target in (torch.cat, torch.concat, torch.stack):
        return "a concatenation"
    name = getattr(node.target, "__name__", str(node.target))
    return f"{node.op} {name!r}"


def _follow(name: str, graph: fx.Graph, modules: dict[str, Any]) -> _Link:
    """Walk from ``name``'s output to the next Conv/Linear, through channel-wise ops only."""
    calls = [n for n in graph.nodes if n.op == "call_module" and n.target == name]
    if len(calls) != 1:
        raise _RefusedError(f"cannot prune {name!r}: forward calls it {len(calls)} times, not once")
    producer = modules[name]
    link, node = _Link(), calls[0]
    while True:
        users = list(node.users)
        if len(users) != 1:
            reads = ", ".join(_describe(u) for u in users) or "nothing"
            raise _RefusedError(
                f"cannot prune output channels of {name!r}: its output is read by "
                f"{len(users)} ops ({reads}); every branch would have to drop the same channels"
            )
        (user,) = users
        if user.op == "output":
            raise _FeedsOutputError(f"cannot prune {name!r}: its channels are the model's outputs")
        if user.args[:1] != (node,):
            raise _RefusedError(
                f"cannot prune {name!r}: its output is not the input of {_describe(user)}"
            )
        module = modules.get(str(user.target)) if user.op == "call_module" else None
        if isinstance(module, nn.Linear | nn.modules.conv._ConvNd):
            _check_consumer(name, producer, str(user.target), module, link.flattened)
            link.consumer = str(user.target)
            return link
        if isinstance(module, _NORMS) and not link.flattened:
            link.norms.append(str(user.target))
        elif _is_flatten(user, modules) and isinstance(producer, nn.modules.conv._ConvNd):
            link.flattened = True
        elif not (
            isinstance(module, _CHANNELWISE_MODULES)
            or (user.op == "call_function" and user.target in _CHANNELWISE_FUNCTIONS)
            or (user.op == "call_method" and user.target in _CHANNELWISE_METHODS)
        ):
            raise _RefusedError(
                f"cannot prune output channels of {name!r}: they reach {_describe(user)}, which "
                "may mix, add or concatenate channels; only BatchNorm, activations, pooling, "
                "dropout and flatten may lie between it and the next Conv/Linear"
            )
        node = user


def _check_consumer(
    name: str, producer: Any, consumer_name: str, consumer: Any, flattened: bool
) -> None:
    grouped = [
        n
        for n, m in ((name, producer), (consumer_name, consumer))
        if isinstance(m, nn.modules.conv._ConvNd) and m.groups != 1
    ]
    if grouped:
        raise _RefusedError(f"cannot prune {name!r}: {grouped[0]!r} is a grouped convolution")
    conv_to_linear = isinstance(producer, nn.modules.conv._ConvNd) and isinstance(
        consumer, nn.Linear
    )
    if conv_to_linear != flattened or (
        isinstance(producer, nn.Linear) and not isinstance(consumer, nn.Linear)
    ):
        raise _RefusedError(
            f"cannot prune {name!r}: {consumer_name!r} does not read its channels as input "
            "channels (a Conv feeds a Linear only through flatten(1))"
        )
    channels = _out_channels(producer)
    inputs = consumer.in_features if isinstance(consumer, nn.Linear) else consumer.in_channels
    if inputs % channels:
        raise _RefusedError(f"cannot prune {name!r}: {consumer_name!r} has {inputs} inputs, not a "
                       f"multiple of its {channels} channels")  # fmt: skip


def _out_channels(layer: Any) -> int:
    return int(layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels)


def _scores(layer: Any, criterion: Criterion, norm: Any, name: str) -> Tensor:
    """One score per output channel; the lowest go."""
    if criterion is Criterion.BN_GAMMA:
        if not isinstance(norm, _NORMS) or norm.weight is None:
            raise ValueError(
                f"criterion 'bn_gamma' needs an affine BatchNorm after {name!r}, which has none"
            )
        gamma: Tensor = norm.weight.detach().abs()
        return gamma
    rows: Tensor = layer.weight.detach().flatten(1)  # (C_out, everything else)
    return rows.abs().sum(1) if criterion is Criterion.L1 else rows.norm(dim=1)


def _kept(scores: Tensor, amount: float) -> Tensor:
    """Sorted indices of the channels that stay: all but the round(amount * C) lowest scores,
    at least one."""
    channels = scores.numel()
    keep = max(1, channels - round(amount * channels))
    order = torch.sort(scores, descending=True, stable=True).indices  # ties: lower index first
    return order[:keep].sort().values


def _shrink_layer(layer: Any, out_idx: Tensor | None, in_idx: Tensor | None) -> Any:
    """A copy of a Conv/Linear with only the given output rows and input columns."""
    weight, bias = layer.weight.detach(), layer.bias
    if out_idx is not None:
        weight = weight[out_idx]
        bias = bias[out_idx] if bias is not None else None
    if in_idx is not None:
        weight = weight[:, in_idx]
    new: Any = copy.deepcopy(layer)
    new.weight = nn.Parameter(weight.clone(), requires_grad=layer.weight.requires_grad)
    if bias is not None:
        new.bias = nn.Parameter(bias.detach().clone(), requires_grad=layer.bias.requires_grad)
    if isinstance(new, nn.Linear):
        new.out_features, new.in_features = weight.shape
    else:
        new.out_channels, new.in_channels = weight.shape[0], weight.shape[1] * new.groups
    return new


def _shrink_norm(norm: Any, idx: Tensor) -> Any:
    new: Any = copy.deepcopy(norm)
    new.num_features = idx.numel()
    for name in ("weight", "bias"):
        if getattr(norm, name) is not None:
            setattr(new, name, nn.Parameter(getattr(norm, name).detach()[idx].clone()))
    for name in ("running_mean", "running_var"):
        if getattr(norm, name) is not None:
            setattr(new, name, getattr(norm, name)[idx].clone())
    return new


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


@torch.no_grad()
def prune_channels(
    model: nn.Module,
    amount: float,
    *,
    criterion: Criterion | str = Criterion.L1,
    layers: Sequence[str] | None = None,
) -> nn.Module:
    candidates = _check_model(model)
    amount = _check_amount(amount, below_one=True)
    criterion = _enum(Criterion, criterion, "criterion")
    if layers is not None:
        if isinstance(layers, str) or not all(isinstance(n, str) for n in layers):
            raise TypeError("layers must be a sequence of layer names")
        unknown = [n for n in layers if n not in candidates]
        if unknown:
            raise ValueError(
                f"layers names {unknown} that are not Linear/Conv layers of the model "
                f"(known: {list(candidates)})"
            )
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception as exc:  # data-dependent control flow, untraceable ops
        raise ValueError(
            f"cannot trace model with torch.fx to find its channel dependencies: {exc}"
        ) from exc
    modules: dict[str, Any] = dict(model.named_modules())
    links: dict[str, _Link] = {}
    for name in candidates if layers is None else layers:
        try:
            links[name] = _follow(name, graph, modules)
        except _FeedsOutputError:
            if layers is not None:
                raise
        # Other refusals propagate: the message names the layer and what blocks it.
    kept = {
        name: _kept(
            _scores(modules[name], criterion, modules[link.norms[0]] if link.norms else None, name),
            amount,
        )
        for name, link in links.items()
    }
    inputs: dict[str, Tensor] = {}
    for name, link in links.items():
        idx = kept[name]
        if link.flattened:  # flatten(1) lays each channel out as a block of H*W features
            block = modules[link.consumer].in_features // _out_channels(modules[name])
            idx = (idx[:, None] * block + torch.arange(block)).flatten()
        inputs[link.consumer] = idx
    pruned = copy.deepcopy(model)
    for name in {*kept, *inputs}:
        layer = _shrink_layer(modules[name], kept.get(name), inputs.get(name))
        _replace(pruned, name, layer)
    for name, link in links.items():
        for norm in link.norms:
            _replace(pruned, norm, _shrink_norm(modules[norm], kept[name]))
    return pruned


# ------------------------------------------------------------------------------ task 3


def _check_weight(weight: object) -> Tensor:
    if not isinstance(weight, Tensor):
        raise TypeError(f"weight must be a torch.Tensor, got {type(weight).__name__}")
    if not weight.is_floating_point():
        raise TypeError(f"weight must be a floating-point tensor, got {weight.dtype}")
    if weight.dim() != 2 or weight.shape[1] % 4:
        raise ValueError(
            f"weight must be 2-d (out_features, in_features) with in_features a multiple of "
            f"4, got shape {tuple(weight.shape)}"
        )
    if not bool(torch.isfinite(weight).all()):
        raise ValueError("weight holds NaN or inf")
    return weight


def semi_structured_24(weight: Tensor) -> Tensor:
    weight = _check_weight(weight)
    groups = weight.detach().abs().reshape(-1, 4)  # (out * in / 4, 4): one group per row
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(1, torch.topk(groups, 2, dim=1).indices, True)
    return keep.view_as(weight)


def _sparse_kernel_fits(weight: Tensor) -> bool:
    """cuSPARSELt/CUTLASS: sparse tensor cores (compute capability 8.0+), fp16/bf16, and both
    dimensions multiples of 64 (CUTLASS wants rows of 32 and columns of 64)."""
    if not (weight.is_cuda and weight.dtype in (torch.float16, torch.bfloat16)):
        return False
    if torch.cuda.get_device_capability(weight.device) < (8, 0):
        return False
    rows, cols = weight.shape
    return rows % 64 == 0 and cols % 64 == 0


class SparseLinear(nn.Module):
    """y = x W^T + b with W pruned 2:4; cuSPARSELt's sparse GEMM where it fits, else a dense
    matmul of the masked weight.

    The weight is stored as ``to_sparse_semi_structured`` makes it (values and 2-bit indices
    compressed by cuSPARSELt); the forward calls the compressed GEMM itself,
    ``torch._cslt_sparse_mm(W_c, x^T, b)`` = W x^T + b, and returns its transpose as a view:
    no tensor-subclass dispatch, and no transposed result requested from cuSPARSELt (a request
    that costs a slower kernel and a long set-up). A following 2:4 layer reads the transposed
    view as the contiguous ``x^T`` it wants, so an MLP block stays in that layout with no copy.
    torch's binding still sets up cuSPARSELt's plan on every call (most of a millisecond on
    the host), which only a GEMM of about that length, or queued work, hides.
    """

    # cuSPARSELt wants the dense operand's rows (here: tokens) in multiples of this
    _DENSE_ROW_MULTIPLE = 16

    def __init__(self, weight: Tensor, bias: Tensor | None = None) -> None:
        super().__init__()
        weight = _check_weight(weight).detach()
        if bias is not None and (not isinstance(bias, Tensor) or bias.shape != weight.shape[:1]):
            raise ValueError(f"bias must be a tensor of shape ({weight.shape[0]},)")
        self.out_features, self.in_features = weight.shape
        masked = (weight * semi_structured_24(weight)).contiguous()
        self.uses_sparse_kernel = _sparse_kernel_fits(masked)
        self._compressed: Tensor | None = None  # cuSPARSELt's packed values and metadata
        if self.uses_sparse_kernel:
            from torch.sparse import to_sparse_semi_structured

            masked = to_sparse_semi_structured(masked)
            self._compressed = getattr(masked, "packed", None)  # None: the CUTLASS subclass
        self.weight = nn.Parameter(masked, requires_grad=False)
        self.bias = (
            None
            if bias is None
            else nn.Parameter(bias.detach().to(weight.dtype).clone(), requires_grad=False)
        )

    @classmethod
    def from_dense(cls, linear: nn.Linear) -> SparseLinear:
        """A ``SparseLinear`` holding ``linear``'s weight pruned 2:4 (and its bias)."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
        return cls(linear.weight, linear.bias)

    def dense_weight(self) -> Tensor:
        weight: Tensor = self.weight.detach()
        return weight.to_dense() if self.uses_sparse_kernel else weight

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x must have {self.in_features} features, got shape {tuple(x.shape)}")
        if not self.uses_sparse_kernel:
            return functional.linear(x, self.weight, self.bias)
        rows = x.reshape(-1, self.in_features)  # (M, K): the sparse kernel takes 2-d input
        if self._compressed is None:
            out = functional.linear(rows, self.weight, self.bias)  # (M, N)
            return out.view(*x.shape[:-1], self.out_features)
        m = rows.shape[0]
        pad = -m % self._DENSE_ROW_MULTIPLE
        if pad:
            rows = functional.pad(rows, (0, 0, 0, pad))
        bias = None if self.bias is None else self.bias.detach()
        out_t = torch._cslt_sparse_mm(self._compressed, rows.t(), bias)  # (N, M): W x^T + b
        return out_t.t()[:m].view(*x.shape[:-1], self.out_features)


# ------------------------------------------------------------------------------ task 4


def _check_data(data: object) -> tuple[Tensor, Tensor]:
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise TypeError("data must be a pair (inputs, labels) of tensors")
    x, y = data
    if not (isinstance(x, Tensor) and isinstance(y, Tensor)):
        raise TypeError("data must be a pair (inputs, labels) of tensors")
    if y.dim() != 1 or len(x) != len(y) or len(y) == 0:
        raise ValueError(
            f"data must hold N inputs and N labels (N > 0), got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )
    return x, y


def prune_and_finetune(
    model: nn.Module, data: tuple[Tensor, Tensor], schedule: GradualSchedule
) -> list[PruneStep]:
    _check_model(model)
    x, y = _check_data(data)
    if not isinstance(schedule, GradualSchedule):
        raise TypeError(f"schedule must be a GradualSchedule, got {type(schedule).__name__}")
    generator = torch.Generator().manual_seed(schedule.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=schedule.lr)
    batches: list[Tensor] = []
    steps: list[PruneStep] = []
    for k in range(1, schedule.rounds + 1):
        target = schedule.sparsity_at(k)
        masks = magnitude_prune(model, target, scope=schedule.scope)
        params = dict(model.named_parameters())
        model.train()
        losses = []
        for _ in range(schedule.finetune_steps):
            if not batches:  # a fresh shuffle per epoch
                batches = list(
                    torch.randperm(len(x), generator=generator).split(schedule.batch_size)
                )
            rows = batches.pop()
            optimizer.zero_grad()
            loss = functional.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            optimizer.step()
            with torch.no_grad():  # the step (and Adam's momentum) revives pruned weights
                for name, mask in masks.items():
                    params[name].mul_(mask)
            losses.append(float(loss.detach()))
        model.eval()
        mean_loss = sum(losses) / len(losses) if losses else math.nan
        steps.append(PruneStep(k, target, weight_sparsity(model), mean_loss))
    return steps
