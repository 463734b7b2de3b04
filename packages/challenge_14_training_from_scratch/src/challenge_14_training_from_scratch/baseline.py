"""Training from scratch, straight from the textbook formulas: one parameter at a time in a
Python loop, out-of-place tensor arithmetic written as the papers write it (``m_hat = m / (1 -
beta1^t)``), separate matmul and add in the MLP. Easy to check line by line against the
equations; the solution does the same arithmetic with in-place multi-tensor kernels.

The full contract (shapes, modes, raise conditions) is in ``starter.py``'s docstrings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from challenge_14_training_from_scratch import checks
from challenge_14_training_from_scratch.schemes import (
    LARGE_STD,
    SMALL_STD,
    Distribution,
    FanMode,
    InitScheme,
)

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "DynamicLossScaler",
    "accuracy",
    "binary_cross_entropy_with_logits",
    "fan_in_and_fan_out",
    "he_init",
    "layer_gradient_norms",
    "softmax_cross_entropy",
    "train",
    "train_float16",
    "warmup_cosine_lr",
    "xavier_init",
]

LN_EPS = 1e-5  # torch.nn.LayerNorm's default

# ----------------------------------------------------------------------------- task 1


def fan_in_and_fan_out(shape: Sequence[int]) -> tuple[int, int]:
    dims = checks.shape(shape)
    out_features, in_features = dims[0], dims[1]
    receptive = 1
    for k in dims[2:]:  # a conv weight (out, in, kh, kw): each output sees in * kh * kw inputs
        receptive *= k
    return in_features * receptive, out_features * receptive


def _sample(
    dims: tuple[int, ...],
    distribution: Distribution,
    std: float,
    generator: torch.Generator | None,
    dtype: torch.dtype,
) -> Tensor:
    if distribution is Distribution.UNIFORM:
        bound = math.sqrt(3.0) * std  # U(-a, a) has variance a^2 / 3
        unit = torch.rand(dims, generator=generator, dtype=dtype)  # U(0, 1)
        return (2.0 * unit - 1.0) * bound
    return torch.randn(dims, generator=generator, dtype=dtype) * std


def xavier_init(
    shape: Sequence[int],
    distribution: Distribution = Distribution.UNIFORM,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    dims = checks.shape(shape)
    checks.member(distribution, Distribution, "distribution")
    checks.number(gain, "gain", low=0.0, low_open=True)
    checks.float_dtype(dtype)
    fan_in, fan_out = fan_in_and_fan_out(dims)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))  # the forward and backward compromise
    return _sample(dims, distribution, std, generator, dtype)


def he_init(
    shape: Sequence[int],
    distribution: Distribution = Distribution.NORMAL,
    mode: FanMode = FanMode.FAN_IN,
    negative_slope: float = 0.0,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    dims = checks.shape(shape)
    checks.member(distribution, Distribution, "distribution")
    checks.member(mode, FanMode, "mode")
    checks.number(negative_slope, "negative_slope", low=0.0)
    checks.float_dtype(dtype)
    fan_in, fan_out = fan_in_and_fan_out(dims)
    fan = fan_in if mode is FanMode.FAN_IN else fan_out
    std = math.sqrt(2.0 / ((1.0 + negative_slope**2) * fan))
    return _sample(dims, distribution, std, generator, dtype)


# ----------------------------------------------------------------------------- task 2


class SGD:
    """SGD with momentum, dampening, Nesterov and L2 weight decay, one parameter at a time."""

    def __init__(
        self,
        params: Sequence[Tensor],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        self.params = checks.params(params)
        self.lr = checks.number(lr, "lr", low=0.0)
        self.momentum = checks.number(momentum, "momentum", low=0.0)
        self.dampening = checks.number(dampening, "dampening", low=0.0, high=1.0)
        self.weight_decay = checks.number(weight_decay, "weight_decay", low=0.0)
        if nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov needs momentum > 0 and dampening = 0")
        self.nesterov = nesterov
        self.buffers: list[Tensor] | None = None

    @torch.no_grad()
    def step(self, grads: Sequence[Tensor]) -> None:
        grads = checks.grads(grads, self.params)
        first = self.buffers is None
        if self.buffers is None:
            self.buffers = [torch.zeros_like(p) for p in self.params]
        for k, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            d = g + self.weight_decay * p
            if self.momentum:
                # buf = d on the first step (no dampening), then a damped running sum
                buf = d if first else self.momentum * self.buffers[k] + (1 - self.dampening) * d
                self.buffers[k] = buf
                d = d + self.momentum * buf if self.nesterov else buf
            p.copy_(p - self.lr * d)


class Adam:
    """Adam, one parameter at a time, with the paper's bias-corrected ``m_hat`` and ``v_hat``."""

    decoupled = False  # AdamW sets it

    def __init__(
        self,
        params: Sequence[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        self.params = checks.params(params)
        self.lr = checks.number(lr, "lr", low=0.0)
        self.betas = checks.betas(betas)
        self.eps = checks.number(eps, "eps", low=0.0)
        self.weight_decay = checks.number(weight_decay, "weight_decay", low=0.0)
        self.amsgrad = amsgrad
        self.steps = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.max_exp_avg_sq = [torch.zeros_like(p) for p in self.params] if amsgrad else []

    @torch.no_grad()
    def step(self, grads: Sequence[Tensor]) -> None:
        grads = checks.grads(grads, self.params)
        beta1, beta2 = self.betas
        self.steps += 1
        t = self.steps
        for k, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if self.decoupled:
                p.copy_(p * (1 - self.lr * self.weight_decay))
            else:
                g = g + self.weight_decay * p
            self.exp_avg[k] = beta1 * self.exp_avg[k] + (1 - beta1) * g
            self.exp_avg_sq[k] = beta2 * self.exp_avg_sq[k] + (1 - beta2) * g * g
            v = self.exp_avg_sq[k]
            if self.amsgrad:
                self.max_exp_avg_sq[k] = torch.maximum(self.max_exp_avg_sq[k], v)
                v = self.max_exp_avg_sq[k]
            m_hat = self.exp_avg[k] / (1 - beta1**t)
            v_hat = v / (1 - beta2**t)
            p.copy_(p - self.lr * m_hat / (torch.sqrt(v_hat) + self.eps))


class AdamW(Adam):
    """Adam with decoupled weight decay (the weights shrink; the gradient is left alone)."""

    decoupled = True

    def __init__(
        self,
        params: Sequence[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


# ----------------------------------------------------------------------------- task 3


def binary_cross_entropy_with_logits(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    checks.logits_and_targets(logits, targets)
    # -[t log s(z) + (1 - t) log(1 - s(z))] with log s(z) = -softplus(-z), written stably
    softplus_neg = torch.where(
        logits > 0,
        torch.log1p(torch.exp(-logits)),
        -logits + torch.log1p(torch.exp(logits)),
    )  # log(1 + e^-z)
    losses = softplus_neg + (1 - targets) * logits
    grad = (1 / (1 + torch.exp(-logits)) - targets) / logits.numel()
    return losses.mean(), grad


def softmax_cross_entropy(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    checks.logits_and_labels(logits, labels)
    n, classes = logits.shape
    shifted = logits - logits.max(dim=1, keepdim=True).values  # exp() cannot overflow
    exp = torch.exp(shifted)
    total = exp.sum(dim=1, keepdim=True)
    probs = exp / total  # (N, C)
    one_hot = torch.nn.functional.one_hot(labels, classes).to(logits.dtype)
    loss = (torch.log(total).squeeze(1) - (shifted * one_hot).sum(1)).mean()
    return loss, (probs - one_hot) / n


class MLP:
    """Linear -> [LayerNorm] -> ReLU hidden layers, then a Linear to the logits."""

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        layer_norm: bool = True,
        init: InitScheme = InitScheme.HE,
        seed: int = 0,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        self.sizes = _check_sizes(sizes)
        checks.member(init, InitScheme, "init")
        self.layer_norm = layer_norm
        generator = torch.Generator().manual_seed(seed)
        self.params: list[Tensor] = []
        last = len(self.sizes) - 2
        for k in range(len(self.sizes) - 1):
            fan_in, fan_out = self.sizes[k], self.sizes[k + 1]
            weight = _init_weight((fan_out, fan_in), init, generator).to(checks.float_dtype(dtype))
            self.params += [weight, torch.zeros(fan_out, dtype=dtype)]
            if layer_norm and k < last:
                self.params += [torch.ones(fan_out, dtype=dtype), torch.zeros(fan_out, dtype=dtype)]
        self._saved: list[dict[str, Tensor]] | None = None

    def parameters(self) -> list[Tensor]:
        return self.params

    def to(self, device: torch.device | str) -> MLP:
        """A copy with every parameter on ``device`` (an optimizer takes its parameters)."""
        copy = self.cast(self.params[0].dtype)
        copy.params = [p.to(device) for p in copy.params]
        return copy

    def cast(self, dtype: torch.dtype) -> MLP:
        copy = MLP.__new__(MLP)
        copy.sizes, copy.layer_norm, copy._saved = self.sizes, self.layer_norm, None
        copy.params = [p.to(checks.float_dtype(dtype)) for p in self.params]
        return copy

    def _layers(self) -> list[list[Tensor]]:
        """The parameters grouped per layer: [W, b, gamma, beta] hidden, [W, b] last."""
        per = 4 if self.layer_norm else 2
        hidden = len(self.sizes) - 2
        groups = [self.params[per * k : per * (k + 1)] for k in range(hidden)]
        return [*groups, self.params[per * hidden :]]

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.sizes[0]:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (N, {self.sizes[0]}), got {got}")
        layers = self._layers()
        saved: list[dict[str, Tensor]] = []
        h = x.to(self.params[0].dtype)
        for layer in layers[:-1]:
            z = h @ layer[0].T + layer[1]  # (N, out)
            record = {"h": h}
            if self.layer_norm:
                mean = z.mean(dim=1, keepdim=True)
                var = ((z - mean) ** 2).mean(dim=1, keepdim=True)  # biased, as LayerNorm
                std = torch.sqrt(var + LN_EPS)
                x_hat = (z - mean) / std
                z = x_hat * layer[2] + layer[3]
                record.update(x_hat=x_hat, std=std)
            record["pre"] = z
            saved.append(record)
            h = torch.clamp(z, min=0)
        saved.append({"h": h})
        self._saved = saved
        return h @ layers[-1][0].T + layers[-1][1]

    def backward(self, dlogits: Tensor) -> list[Tensor]:
        if self._saved is None:
            raise RuntimeError("backward() needs a forward() first (and runs once per forward)")
        saved, self._saved = self._saved, None
        h = saved[-1]["h"]
        if not isinstance(dlogits, Tensor) or dlogits.shape != (h.shape[0], self.sizes[-1]):
            raise ValueError(
                f"dlogits must have the logits' shape {(h.shape[0], self.sizes[-1])}, got "
                f"{tuple(dlogits.shape) if isinstance(dlogits, Tensor) else dlogits!r}"
            )
        layers = self._layers()
        g = dlogits.to(h.dtype)
        grads = [g.T @ h, g.sum(dim=0)]
        g = g @ layers[-1][0]
        for k in range(len(layers) - 2, -1, -1):
            record, layer = saved[k], layers[k]
            d = g * (record["pre"] > 0).to(g.dtype)  # ReLU passes the gradient where it fired
            if self.layer_norm:
                x_hat, std = record["x_hat"], record["std"]
                dgamma, dbeta = (d * x_hat).sum(dim=0), d.sum(dim=0)
                dx_hat = d * layer[2]
                width = x_hat.shape[1]
                dz = (
                    width * dx_hat
                    - dx_hat.sum(dim=1, keepdim=True)
                    - x_hat * (dx_hat * x_hat).sum(dim=1, keepdim=True)
                ) / (width * std)
                grads = [dz.T @ record["h"], dz.sum(dim=0), dgamma, dbeta, *grads]
            else:
                dz = d
                grads = [dz.T @ record["h"], dz.sum(dim=0), *grads]
            g = dz @ layer[0]
        return grads


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    found = tuple(sizes) if isinstance(sizes, Sequence) else ()
    if len(found) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in found):
        raise ValueError(
            f"sizes must be 2+ positive ints (inputs, hidden..., outputs), got {sizes!r}"
        )
    return found


def _init_weight(shape: tuple[int, int], init: InitScheme, generator: torch.Generator) -> Tensor:
    """A weight matrix of ``shape`` = (out, in) drawn for ``init``."""
    if init is InitScheme.XAVIER:
        return xavier_init(shape, Distribution.NORMAL, generator=generator)
    if init is InitScheme.HE:
        return he_init(shape, Distribution.NORMAL, FanMode.FAN_IN, generator=generator)
    std = {InitScheme.ZERO: 0.0, InitScheme.SMALL: SMALL_STD, InitScheme.LARGE: LARGE_STD}[init]
    return torch.randn(shape, generator=generator) * std


# ----------------------------------------------------------------------------- task 4


def warmup_cosine_lr(
    step: int,
    *,
    base_lr: float,
    total_steps: int,
    warmup_steps: int = 0,
    start_factor: float = 0.1,
    min_lr: float = 0.0,
) -> float:
    checks.count(step, "step", low=0)
    checks.number(base_lr, "base_lr", low=0.0)
    checks.count(total_steps, "total_steps")
    checks.count(warmup_steps, "warmup_steps", low=0)
    if warmup_steps >= total_steps:
        raise ValueError(f"warmup_steps ({warmup_steps}) must be < total_steps ({total_steps})")
    checks.number(start_factor, "start_factor", low=0.0, high=1.0, low_open=True)
    checks.number(min_lr, "min_lr", low=0.0, high=base_lr)
    if step < warmup_steps:
        fraction = step / warmup_steps
        return base_lr * start_factor + (base_lr - base_lr * start_factor) * fraction
    t = min(step, total_steps) - warmup_steps
    period = total_steps - warmup_steps
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * t / period))


def _check_data(x: Tensor, y: Tensor, epochs: int, batch_size: int, loss_weight: float) -> None:
    if not isinstance(x, Tensor) or x.ndim != 2:
        raise ValueError(f"x must be an (N, features) tensor, got {getattr(x, 'shape', x)!r}")
    if not isinstance(y, Tensor) or y.shape != x.shape[:1]:
        raise ValueError(f"y must have shape ({x.shape[0]},), got {getattr(y, 'shape', y)!r}")
    checks.count(epochs, "epochs")
    checks.count(batch_size, "batch_size")
    checks.number(loss_weight, "loss_weight", low=0.0, low_open=True)


def _batches(n: int, batch_size: int, epochs: int, seed: int) -> list[Tensor]:
    generator = torch.Generator().manual_seed(seed)
    batches: list[Tensor] = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            batches.append(order[start : start + batch_size])
    return batches


def train(
    model: MLP,
    optimizer: SGD | Adam,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    schedule: Callable[[int], float] | None = None,
    loss_weight: float = 1.0,
) -> list[float]:
    _check_data(x, y, epochs, batch_size, loss_weight)
    losses = []
    for step, rows in enumerate(_batches(len(x), batch_size, epochs, seed)):
        if schedule is not None:
            optimizer.lr = schedule(step)
        loss, dlogits = softmax_cross_entropy(model.forward(x[rows]), y[rows])
        grads = model.backward(loss_weight * dlogits)
        optimizer.step(grads)
        losses.append(loss.item())
    return losses


def accuracy(model: MLP, x: Tensor, y: Tensor) -> float:
    predictions = model.forward(x).argmax(dim=1)
    return (predictions == y).sum().item() / len(y)


# ----------------------------------------------------------------------------- task 5


class DynamicLossScaler:
    """Dynamic loss scaling: back off on inf/NaN, grow after ``growth_interval`` clean steps."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ) -> None:
        self._scale = checks.number(init_scale, "init_scale", low=0.0, low_open=True)
        self.growth_factor = checks.number(growth_factor, "growth_factor", low=1.0, low_open=True)
        self.backoff_factor = checks.number(
            backoff_factor, "backoff_factor", low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.growth_interval = checks.count(growth_interval, "growth_interval")
        self._good_steps = 0
        self._found_inf: bool | None = None

    @property
    def scale(self) -> float:
        return self._scale

    def scale_loss(self, loss: Tensor) -> Tensor:
        return loss * self._scale

    @torch.no_grad()
    def unscale_(self, grads: Sequence[Tensor]) -> bool:
        if self._found_inf is not None:
            raise RuntimeError("unscale_() was already called since the last update()")
        found_inf = False
        for k, g in enumerate(grads):
            if not g.is_floating_point() or g.dtype == torch.float16:
                raise TypeError(f"grads[{k}] must be float32 master gradients, got {g.dtype}")
            if not bool(torch.isfinite(g).all()):
                found_inf = True
            g.mul_(1.0 / self._scale)
        self._found_inf = found_inf
        return found_inf

    def step(self, optimizer: SGD | Adam, grads: Sequence[Tensor]) -> bool:
        if self._found_inf is None:
            self.unscale_(grads)
        if self._found_inf:
            return False
        optimizer.step(grads)
        return True

    def update(self) -> None:
        if self._found_inf is None:
            raise RuntimeError("update() needs a step() (or unscale_()) since the last update()")
        if self._found_inf:
            self._scale = self._scale * self.backoff_factor
            self._good_steps = 0
        else:
            self._good_steps += 1
            if self._good_steps == self.growth_interval:
                if math.isfinite(self._scale * self.growth_factor):
                    self._scale = self._scale * self.growth_factor
                self._good_steps = 0
        self._found_inf = None


def train_float16(
    model: MLP,
    optimizer: SGD | Adam,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    scaler: DynamicLossScaler | None = None,
    loss_weight: float = 1.0,
) -> list[float]:
    _check_data(x, y, epochs, batch_size, loss_weight)
    if model.params[0].dtype != torch.float32:
        raise ValueError(f"model must hold float32 master weights, got {model.params[0].dtype}")
    losses = []
    for rows in _batches(len(x), batch_size, epochs, seed):
        half = model.cast(torch.float16)
        logits = half.forward(x[rows].to(torch.float16)).to(torch.float32)
        loss, dlogits = softmax_cross_entropy(logits, y[rows])
        dlogits = loss_weight * dlogits
        if scaler is not None:
            dlogits = scaler.scale_loss(dlogits)
        grads16 = half.backward(dlogits.to(torch.float16))
        grads = [g.to(torch.float32) for g in grads16]
        if scaler is None:
            optimizer.step(grads)
        else:
            scaler.step(optimizer, grads)
            scaler.update()
        losses.append(loss.item())
    return losses


# ----------------------------------------------------------------------------- task 6


def layer_gradient_norms(model: MLP, x: Tensor, labels: Tensor) -> list[float]:
    _, dlogits = softmax_cross_entropy(model.forward(x), labels)
    grads = model.backward(dlogits)
    per = 4 if model.layer_norm else 2
    norms = []
    for k in range(len(model.sizes) - 1):
        weight_grad = grads[per * k] if k < len(model.sizes) - 2 else grads[-2]
        norms.append(torch.sqrt((weight_grad**2).sum()).item())
    return norms
