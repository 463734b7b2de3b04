"""Training from scratch, the production way: in-place updates and torch's multi-tensor
``_foreach_*`` kernels for the optimizers (one kernel launch per operation for *all* parameters,
what ``torch.optim``'s ``foreach=True`` path does), fused ``addmm`` in the MLP, and a loss
scaler that keeps its scale in float32 as ``torch.amp.GradScaler`` does.

The full contract (shapes, modes, raise conditions) is in ``starter.py``'s docstrings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import pairwise

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
    receptive = math.prod(dims[2:])  # a conv kernel's kh * kw (1 for a Linear)
    return dims[1] * receptive, dims[0] * receptive  # weight is (out, in, *kernel)


def _sample(
    dims: tuple[int, ...],
    distribution: Distribution,
    std: float,
    generator: torch.Generator | None,
    dtype: torch.dtype,
) -> Tensor:
    out = torch.empty(dims, dtype=dtype)
    if distribution is Distribution.UNIFORM:
        bound = math.sqrt(3.0) * std  # Var U(-a, a) = a^2 / 3
        return out.uniform_(-bound, bound, generator=generator)
    return out.normal_(0.0, std, generator=generator)


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
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
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
    gain = math.sqrt(2.0 / (1.0 + negative_slope**2))  # (leaky) ReLU keeps half the variance
    return _sample(dims, distribution, gain / math.sqrt(fan), generator, dtype)


# ----------------------------------------------------------------------------- task 2


class SGD:
    """SGD with momentum, dampening, Nesterov and L2 weight decay, as ``torch.optim.SGD``."""

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
        self.buffers: list[Tensor] | None = None  # momentum buffers, made on the first step

    @torch.no_grad()
    def step(self, grads: Sequence[Tensor]) -> None:
        grads = checks.grads(grads, self.params)
        if self.weight_decay:
            grads = torch._foreach_add(grads, self.params, alpha=self.weight_decay)
        if self.momentum:
            if self.buffers is None:  # the first step takes the gradient undamped
                self.buffers = [g.detach().clone() for g in grads]
            else:
                torch._foreach_mul_(self.buffers, self.momentum)
                torch._foreach_add_(self.buffers, grads, alpha=1.0 - self.dampening)
            if self.nesterov:
                grads = torch._foreach_add(grads, self.buffers, alpha=self.momentum)
            else:
                grads = self.buffers
        torch._foreach_add_(self.params, grads, alpha=-self.lr)


class Adam:
    """Adam with bias correction, L2 weight decay (through the gradient) and AMSGrad."""

    decoupled = False  # AdamW sets it: decay the weights directly, not through the gradient

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
        self.exp_avg = [torch.zeros_like(p) for p in self.params]  # m: mean of g
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]  # v: mean of g^2
        self.max_exp_avg_sq = [torch.zeros_like(p) for p in self.params] if amsgrad else []

    @torch.no_grad()
    def step(self, grads: Sequence[Tensor]) -> None:
        grads = checks.grads(grads, self.params)
        beta1, beta2 = self.betas
        self.steps += 1
        if self.weight_decay and self.decoupled:
            torch._foreach_mul_(self.params, 1.0 - self.lr * self.weight_decay)
        elif self.weight_decay:
            grads = torch._foreach_add(grads, self.params, alpha=self.weight_decay)
        torch._foreach_lerp_(self.exp_avg, grads, 1.0 - beta1)  # m += (1 - b1) (g - m)
        torch._foreach_mul_(self.exp_avg_sq, beta2)
        torch._foreach_addcmul_(self.exp_avg_sq, grads, grads, 1.0 - beta2)
        second = self.exp_avg_sq
        if self.amsgrad:  # the running max of v: a step size that never grows back
            torch._foreach_maximum_(self.max_exp_avg_sq, self.exp_avg_sq)
            second = self.max_exp_avg_sq
        # Early steps: m and v start at 0, so both are biased towards 0 by (1 - beta^t).
        step_size = self.lr / (1.0 - beta1**self.steps)
        denom = torch._foreach_sqrt(second)
        torch._foreach_div_(denom, math.sqrt(1.0 - beta2**self.steps))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.exp_avg, denom, -step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step."""

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
    # max(z, 0) - z t + log(1 + e^-|z|): only ever exponentiates a non-positive number.
    losses = logits.clamp(min=0) - logits * targets + torch.log1p(torch.exp(-logits.abs()))
    grad = (torch.sigmoid(logits) - targets) / logits.numel()
    return losses.mean(), grad


def softmax_cross_entropy(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    checks.logits_and_labels(logits, labels)
    n = logits.shape[0]
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)  # (N, C)
    rows = torch.arange(n, device=logits.device)
    loss = -log_probs[rows, labels].mean()
    grad = torch.exp(log_probs)  # softmax (N, C)
    grad[rows, labels] -= 1.0
    return loss, grad.div_(n)


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
        for k, (fan_in, fan_out) in enumerate(pairwise(self.sizes)):
            weight = _init_weight((fan_out, fan_in), init, generator).to(checks.float_dtype(dtype))
            self.params += [weight, torch.zeros(fan_out, dtype=dtype)]
            if layer_norm and k < last:
                self.params += [torch.ones(fan_out, dtype=dtype), torch.zeros(fan_out, dtype=dtype)]
        self._saved: list[tuple[Tensor, ...]] | None = None

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

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.sizes[0]:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (N, {self.sizes[0]}), got {got}")
        saved: list[tuple[Tensor, ...]] = []
        h = x.to(self.params[0].dtype)
        per_layer = 4 if self.layer_norm else 2
        hidden = len(self.sizes) - 2
        for k in range(hidden):
            w, b = self.params[per_layer * k], self.params[per_layer * k + 1]
            z = torch.addmm(b, h, w.T)  # (N, out)
            if self.layer_norm:
                gamma, beta = self.params[per_layer * k + 2], self.params[per_layer * k + 3]
                var, mean = torch.var_mean(z, dim=1, keepdim=True, correction=0)
                inv_std = torch.rsqrt(var + LN_EPS)  # (N, 1)
                x_hat = (z - mean) * inv_std
                y = torch.addcmul(beta, x_hat, gamma)
                saved.append((h, x_hat, inv_std, y))
            else:
                y = z
                saved.append((h, y))
            h = torch.relu(y)
        w, b = self.params[-2], self.params[-1]
        saved.append((h,))
        self._saved = saved
        return torch.addmm(b, h, w.T)  # (N, sizes[-1])

    def backward(self, dlogits: Tensor) -> list[Tensor]:
        if self._saved is None:
            raise RuntimeError("backward() needs a forward() first (and runs once per forward)")
        saved, self._saved = self._saved, None
        (h,) = saved[-1]
        if not isinstance(dlogits, Tensor) or dlogits.shape != (h.shape[0], self.sizes[-1]):
            raise ValueError(
                f"dlogits must have the logits' shape {(h.shape[0], self.sizes[-1])}, got "
                f"{tuple(dlogits.shape) if isinstance(dlogits, Tensor) else dlogits!r}"
            )
        g = dlogits.to(h.dtype)
        grads: list[Tensor] = [g.T @ h, g.sum(0)]  # last layer: dW (out, in), db
        g = g @ self.params[-2]  # (N, in)
        per_layer = 4 if self.layer_norm else 2
        for k in reversed(range(len(saved) - 1)):
            w = self.params[per_layer * k]
            if self.layer_norm:
                h, x_hat, inv_std, y = saved[k]
                gamma = self.params[per_layer * k + 2]
                dy = g * (y > 0)  # through the ReLU
                dgamma, dbeta = (dy * x_hat).sum(0), dy.sum(0)
                dx_hat = dy * gamma
                # d/dz of (z - mean) / std, both depending on z: the classic LayerNorm backward.
                dz = inv_std * (
                    dx_hat
                    - dx_hat.mean(1, keepdim=True)
                    - x_hat * (dx_hat * x_hat).mean(1, keepdim=True)
                )
                layer = [dz.T @ h, dz.sum(0), dgamma, dbeta]
            else:
                h, y = saved[k]
                dz = g * (y > 0)
                layer = [dz.T @ h, dz.sum(0)]
            grads = layer + grads
            g = dz @ w
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
    if step < warmup_steps:  # linear from start_factor * base_lr up to base_lr
        return base_lr * (start_factor + (1.0 - start_factor) * step / warmup_steps)
    decay = total_steps - warmup_steps
    progress = min(step - warmup_steps, decay) / decay
    return min_lr + (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress)) / 2.0


def _batches(n: int, batch_size: int, epochs: int, seed: int) -> list[Tensor]:
    """Index batches of every epoch, each epoch a fresh permutation from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    out: list[Tensor] = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        out += list(order.split(batch_size))
    return out


def _check_data(x: Tensor, y: Tensor, epochs: int, batch_size: int) -> None:
    if not isinstance(x, Tensor) or x.ndim != 2:
        raise ValueError(f"x must be an (N, features) tensor, got {getattr(x, 'shape', x)!r}")
    if not isinstance(y, Tensor) or y.shape != x.shape[:1]:
        raise ValueError(f"y must have shape ({x.shape[0]},), got {getattr(y, 'shape', y)!r}")
    checks.count(epochs, "epochs")
    checks.count(batch_size, "batch_size")


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
    _check_data(x, y, epochs, batch_size)
    checks.number(loss_weight, "loss_weight", low=0.0, low_open=True)
    losses: list[float] = []
    for step, rows in enumerate(_batches(len(x), batch_size, epochs, seed)):
        if schedule is not None:
            optimizer.lr = schedule(step)
        logits = model.forward(x[rows])
        loss, dlogits = softmax_cross_entropy(logits, y[rows])
        optimizer.step(model.backward(dlogits * loss_weight))
        losses.append(float(loss))
    return losses


def accuracy(model: MLP, x: Tensor, y: Tensor) -> float:
    return float((model.forward(x).argmax(dim=1) == y).double().mean())


# ----------------------------------------------------------------------------- task 5


class DynamicLossScaler:
    """Dynamic loss scaling with ``torch.amp.GradScaler``'s rules and float32 scale."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ) -> None:
        checks.number(init_scale, "init_scale", low=0.0, low_open=True)
        self.growth_factor = checks.number(growth_factor, "growth_factor", low=1.0, low_open=True)
        self.backoff_factor = checks.number(
            backoff_factor, "backoff_factor", low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.growth_interval = checks.count(growth_interval, "growth_interval")
        self._scale = torch.tensor(init_scale, dtype=torch.float32)  # as GradScaler keeps it
        self._growth_tracker = 0  # consecutive steps without inf/NaN
        self._found_inf: bool | None = None  # this step's verdict, once unscaled

    @property
    def scale(self) -> float:
        return float(self._scale)

    def scale_loss(self, loss: Tensor) -> Tensor:
        return loss * self._scale.to(loss.dtype)

    @torch.no_grad()
    def unscale_(self, grads: Sequence[Tensor]) -> bool:
        if self._found_inf is not None:
            raise RuntimeError("unscale_() was already called since the last update()")
        for k, g in enumerate(grads):
            if not g.is_floating_point() or g.dtype == torch.float16:
                raise TypeError(f"grads[{k}] must be float32 master gradients, got {g.dtype}")
        inv_scale = self._scale.double().reciprocal().float()  # GradScaler's rounding
        finite = [torch.isfinite(g).all() for g in grads]
        torch._foreach_mul_(list(grads), inv_scale.item())
        self._found_inf = not bool(torch.stack(finite).all()) if finite else False
        return self._found_inf

    def step(self, optimizer: SGD | Adam, grads: Sequence[Tensor]) -> bool:
        if self._found_inf is None:
            self.unscale_(grads)
        if self._found_inf:
            return False  # skip: the update would write inf/NaN into the weights
        optimizer.step(grads)
        return True

    def update(self) -> None:
        if self._found_inf is None:
            raise RuntimeError("update() needs a step() (or unscale_()) since the last update()")
        if self._found_inf:
            self._scale *= self.backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self.growth_interval:
                grown = self._scale * self.growth_factor
                if torch.isfinite(grown):
                    self._scale = grown
                self._growth_tracker = 0
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
    _check_data(x, y, epochs, batch_size)
    checks.number(loss_weight, "loss_weight", low=0.0, low_open=True)
    if model.params[0].dtype != torch.float32:
        raise ValueError(f"model must hold float32 master weights, got {model.params[0].dtype}")
    x16 = x.to(torch.float16)
    losses: list[float] = []
    for rows in _batches(len(x), batch_size, epochs, seed):
        half = model.cast(torch.float16)  # the float16 working copy of the master weights
        logits = half.forward(x16[rows]).float()  # the loss in float32, as autocast does
        loss, dlogits = softmax_cross_entropy(logits, y[rows])
        dlogits = dlogits * loss_weight
        if scaler is not None:
            dlogits = scaler.scale_loss(dlogits)  # d(scale * loss) = scale * d(loss)
        grads = [g.float() for g in half.backward(dlogits.half())]
        if scaler is None:
            optimizer.step(grads)
        else:
            scaler.step(optimizer, grads)
            scaler.update()
        losses.append(float(loss))
    return losses


# ----------------------------------------------------------------------------- task 6


def layer_gradient_norms(model: MLP, x: Tensor, labels: Tensor) -> list[float]:
    _, dlogits = softmax_cross_entropy(model.forward(x), labels)
    grads = model.backward(dlogits)
    per_layer = 4 if model.layer_norm else 2
    weights = [grads[per_layer * k] for k in range(len(model.sizes) - 2)] + [grads[-2]]
    return [float(torch.linalg.vector_norm(g)) for g in weights]
