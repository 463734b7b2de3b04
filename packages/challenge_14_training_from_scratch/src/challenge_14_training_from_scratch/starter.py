"""Challenge 14: training from scratch - your file.

Fill in every ``TODO(14.k)``: initialisers, SGD/Adam/AdamW, an MLP with a hand-written
backward pass, a training loop with a learning-rate schedule, dynamic loss scaling for float16,
and per-layer gradient norms. Use torch tensor operations, never autograd (``requires_grad``,
``.backward()``, ``torch.autograd``): the tests use autograd and ``torch.optim`` as the oracle.
Argument checks and the MLP's parameter layout are given; the docstrings are the specification.

Run ``uv run prep test 14`` (``--task k`` for one task) and ``uv run prep hint 14 k``.
"""

from __future__ import annotations

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
    """``(fan_in, fan_out)`` of a weight of ``shape``, as ``torch.nn.init`` computes them.

    Args:
        shape: ``(out_features, in_features)`` for a Linear weight (torch's layout), or
            ``(out_channels, in_channels, *kernel)`` for a convolution's.

    Returns:
        ``fan_in = in * prod(kernel)`` (inputs feeding one output) and
        ``fan_out = out * prod(kernel)``.

    Raises:
        ValueError: fewer than 2 dimensions, or a dimension that is not a positive int.
    """
    checks.shape(shape)
    raise NotImplementedError("TODO(14.1): fan_in and fan_out - see README task 1")


def xavier_init(
    shape: Sequence[int],
    distribution: Distribution = Distribution.UNIFORM,
    gain: float = 1.0,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Xavier/Glorot initialisation: the same distribution as ``torch.nn.init.xavier_*_``.

    ``std = gain * sqrt(2 / (fan_in + fan_out))``; uniform samples ``U(-a, a)`` with
    ``a = sqrt(3) * std``, normal samples ``N(0, std^2)``.

    Args:
        shape: the weight's shape (see ``fan_in_and_fan_out``).
        distribution: ``Distribution.UNIFORM`` or ``Distribution.NORMAL``.
        gain: scales the standard deviation (``torch.nn.init.calculate_gain``), > 0.
        generator: the random source (``None``: torch's global one).
        dtype: a floating dtype.

    Returns:
        A new tensor of ``shape`` and ``dtype``.

    Raises:
        ValueError: a bad shape, or ``gain <= 0``.
        TypeError: ``distribution`` not a ``Distribution``, or a non-floating ``dtype``.
    """
    checks.shape(shape)
    checks.member(distribution, Distribution, "distribution")
    checks.number(gain, "gain", low=0.0, low_open=True)
    checks.float_dtype(dtype)
    raise NotImplementedError("TODO(14.1): Xavier initialisation - see README task 1")


def he_init(
    shape: Sequence[int],
    distribution: Distribution = Distribution.NORMAL,
    mode: FanMode = FanMode.FAN_IN,
    negative_slope: float = 0.0,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """He/Kaiming initialisation: the same distribution as ``torch.nn.init.kaiming_*_``.

    ``std = sqrt(2 / (1 + negative_slope^2)) / sqrt(fan)``, ``fan`` chosen by ``mode``;
    uniform samples ``U(-a, a)`` with ``a = sqrt(3) * std``, normal samples ``N(0, std^2)``.

    Args:
        shape: the weight's shape (see ``fan_in_and_fan_out``).
        distribution: ``Distribution.UNIFORM`` or ``Distribution.NORMAL``.
        mode: ``FanMode.FAN_IN`` keeps the variance of activations through a ReLU forward
            pass; ``FanMode.FAN_OUT`` that of gradients through the backward pass.
        negative_slope: the leaky ReLU's slope after this layer (0 for ReLU), >= 0.
        generator: the random source (``None``: torch's global one).
        dtype: a floating dtype.

    Returns:
        A new tensor of ``shape`` and ``dtype``.

    Raises:
        ValueError: a bad shape, or ``negative_slope < 0``.
        TypeError: ``distribution``/``mode`` not the enums, or a non-floating ``dtype``.
    """
    checks.shape(shape)
    checks.member(distribution, Distribution, "distribution")
    checks.member(mode, FanMode, "mode")
    checks.number(negative_slope, "negative_slope", low=0.0)
    checks.float_dtype(dtype)
    raise NotImplementedError("TODO(14.1): He initialisation - see README task 1")


# ----------------------------------------------------------------------------- task 2


class SGD:
    """Stochastic gradient descent, equal to ``torch.optim.SGD`` step by step.

    With ``d = g + weight_decay * p``: without momentum ``p -= lr * d``. With momentum, a
    buffer ``buf`` starts as ``d`` on the first step (no dampening then) and afterwards
    ``buf = momentum * buf + (1 - dampening) * d``; the step uses ``buf``, or with Nesterov
    ``d + momentum * buf``.

    Args:
        params: the tensors to optimise, updated in place by ``step``.
        lr: learning rate, >= 0 (a schedule may change ``self.lr`` between steps).
        momentum: >= 0. dampening: in [0, 1]. weight_decay: L2 penalty, >= 0.
        nesterov: Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.

    Raises:
        ValueError: an empty ``params`` or a hyperparameter out of range (named).
        TypeError: a parameter that is not a floating tensor.
    """

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

    def step(self, grads: Sequence[Tensor]) -> None:
        """Update every parameter in place from its gradient.

        Args:
            grads: one gradient per parameter, in ``params`` order, each of its shape.

        Raises:
            ValueError: the wrong number of gradients, or a gradient of the wrong shape.
        """
        grads = checks.grads(grads, self.params)
        raise NotImplementedError("TODO(14.2): the SGD step - see README task 2")


class Adam:
    """Adam, equal to ``torch.optim.Adam`` step by step (``t`` counts steps from 1).

    ``g += weight_decay * p`` (L2, through the gradient); ``m = b1 m + (1 - b1) g``;
    ``v = b2 v + (1 - b2) g^2``; with ``amsgrad`` use ``v_max = max(v_max, v)`` for ``v``;
    ``p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.

    Args:
        params: the tensors to optimise, updated in place by ``step``.
        lr: learning rate, >= 0. betas: ``(b1, b2)``, each in [0, 1). eps: >= 0.
        weight_decay: >= 0. amsgrad: keep the running maximum of ``v``.

    Raises:
        ValueError: an empty ``params`` or a hyperparameter out of range (named).
        TypeError: a parameter that is not a floating tensor, or ``betas`` not a pair.
    """

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

    def step(self, grads: Sequence[Tensor]) -> None:
        """Update every parameter in place; when ``self.decoupled`` (AdamW), first
        ``p *= 1 - lr * weight_decay`` and leave the gradient alone.

        Args:
            grads: one gradient per parameter, in ``params`` order, each of its shape.

        Raises:
            ValueError: the wrong number of gradients, or a gradient of the wrong shape.
        """
        grads = checks.grads(grads, self.params)
        raise NotImplementedError("TODO(14.2): the Adam and AdamW step - see README task 2")


class AdamW(Adam):
    """AdamW, equal to ``torch.optim.AdamW``: Adam with decoupled weight decay (``step`` is
    Adam's, with ``decoupled = True``). Note the default ``weight_decay=1e-2``."""

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
    """Mean binary cross-entropy on logits and its gradient, without overflow.

    Args:
        logits: any shape, floating; finite values of any size (1e4 included).
        targets: the same shape, values in [0, 1].

    Returns:
        ``(loss, dlogits)``: the mean loss as a 0-dim tensor (equal to
        ``F.binary_cross_entropy_with_logits``), and its gradient with respect to
        ``logits`` (``logits``' shape).

    Raises:
        TypeError: non-floating inputs. ValueError: shapes differ, targets outside [0, 1].
    """
    checks.logits_and_targets(logits, targets)
    raise NotImplementedError("TODO(14.3): BCE on logits and its gradient - see README task 3")


def softmax_cross_entropy(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Mean softmax cross-entropy on logits and its gradient, without overflow.

    Args:
        logits: ``(N, C)`` floating; finite values of any size.
        labels: ``(N,)`` int64 class indices in ``[0, C)``.

    Returns:
        ``(loss, dlogits)``: the mean loss as a 0-dim tensor (equal to ``F.cross_entropy``)
        and its gradient ``(N, C)`` with respect to ``logits``.

    Raises:
        ValueError: wrong shapes, labels out of range. TypeError: non-integer labels.
    """
    checks.logits_and_labels(logits, labels)
    raise NotImplementedError(
        "TODO(14.3): softmax cross-entropy and its gradient - see README task 3"
    )


class MLP:
    """A multilayer perceptron with a hand-written backward pass.

    Hidden layer ``k`` (all but the last): ``z = h @ W.T + b``; with ``layer_norm``
    ``y = gamma * (z - mean(z)) / sqrt(var(z) + LN_EPS) + beta`` over the feature axis (the
    biased variance, as ``torch.nn.LayerNorm``), else ``y = z``; then ``h = relu(y)``.
    The last layer: ``logits = h @ W.T + b``.

    ``parameters()`` lists, per hidden layer, ``W (out, in), b (out,)`` and with
    ``layer_norm`` also ``gamma (out,), beta (out,)``; then the last ``W, b``. The
    constructor (given) draws each ``W`` for ``init`` (``InitScheme.HE`` and ``XAVIER`` call
    your task-1 ``he_init``/``xavier_init``), ``b`` and ``beta`` zeros, ``gamma`` ones.

    Args:
        sizes: ``(inputs, hidden..., outputs)``, two or more positive ints.
        layer_norm: a LayerNorm after every hidden Linear.
        init: how the weights start (``InitScheme``).
        seed: seeds the weights.
        dtype: the parameters' dtype.

    Raises:
        ValueError: bad ``sizes``. TypeError: ``init`` not an ``InitScheme``.
    """

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
        self._saved: list[tuple[Tensor, ...]] | None = None  # what backward() needs

    def parameters(self) -> list[Tensor]:
        """The parameter tensors themselves (an optimizer updates them in place)."""
        return self.params

    def to(self, device: torch.device | str) -> MLP:
        """A copy with every parameter on ``device`` (an optimizer takes its parameters)."""
        copy = self.cast(self.params[0].dtype)
        copy.params = [p.to(device) for p in copy.params]
        return copy

    def cast(self, dtype: torch.dtype) -> MLP:
        """A copy with every parameter converted to ``dtype`` (float16 working weights)."""
        copy = MLP.__new__(MLP)
        copy.sizes, copy.layer_norm, copy._saved = self.sizes, self.layer_norm, None
        copy.params = [p.to(checks.float_dtype(dtype)) for p in self.params]
        return copy

    def forward(self, x: Tensor) -> Tensor:
        """The logits ``(N, sizes[-1])`` of ``x`` ``(N, sizes[0])`` (cast to the parameters'
        dtype); keeps what ``backward`` needs in ``self._saved``.

        Raises:
            ValueError: ``x`` is not ``(N, sizes[0])``.
        """
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.sizes[0]:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (N, {self.sizes[0]}), got {got}")
        raise NotImplementedError("TODO(14.3): the MLP forward pass - see README task 3")

    def backward(self, dlogits: Tensor) -> list[Tensor]:
        """Gradients of the loss with respect to every parameter, in ``parameters()`` order,
        given ``dlogits`` = d(loss)/d(logits) of the last ``forward``. Frees what forward
        saved: a second ``backward`` needs a new ``forward``.

        Raises:
            RuntimeError: no ``forward`` since the last ``backward``.
            ValueError: ``dlogits`` not of the logits' shape.
        """
        raise NotImplementedError("TODO(14.3): the MLP backward pass - see README task 3")


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
    """The learning rate at ``step`` (counted from 0) of a linear warm-up then cosine decay.

    Steps ``0..warmup_steps-1``: ``base_lr * (start_factor + (1 - start_factor) * step /
    warmup_steps)``. Then a cosine from ``base_lr`` down to ``min_lr`` over the remaining
    ``total_steps - warmup_steps`` steps, and ``min_lr`` from ``total_steps`` on. Equal to
    ``SequentialLR([LinearLR(start_factor, total_iters=warmup_steps),
    CosineAnnealingLR(T_max=total_steps - warmup_steps, eta_min=min_lr)])`` up to
    ``total_steps`` (torch's cosine then rises again; this one stays at ``min_lr``).

    Raises:
        ValueError: negative ``step``, ``warmup_steps >= total_steps``, ``start_factor``
            outside (0, 1], ``min_lr`` outside [0, base_lr] (each named).
    """
    checks.count(step, "step", low=0)
    checks.number(base_lr, "base_lr", low=0.0)
    checks.count(total_steps, "total_steps")
    checks.count(warmup_steps, "warmup_steps", low=0)
    if warmup_steps >= total_steps:
        raise ValueError(f"warmup_steps ({warmup_steps}) must be < total_steps ({total_steps})")
    checks.number(start_factor, "start_factor", low=0.0, high=1.0, low_open=True)
    checks.number(min_lr, "min_lr", low=0.0, high=base_lr)
    raise NotImplementedError("TODO(14.4): warm-up then cosine decay - see README task 4")


def _check_data(x: Tensor, y: Tensor, epochs: int, batch_size: int, loss_weight: float) -> None:
    if not isinstance(x, Tensor) or x.ndim != 2:
        raise ValueError(f"x must be an (N, features) tensor, got {getattr(x, 'shape', x)!r}")
    if not isinstance(y, Tensor) or y.shape != x.shape[:1]:
        raise ValueError(f"y must have shape ({x.shape[0]},), got {getattr(y, 'shape', y)!r}")
    checks.count(epochs, "epochs")
    checks.count(batch_size, "batch_size")
    checks.number(loss_weight, "loss_weight", low=0.0, low_open=True)


def _batches(n: int, batch_size: int, epochs: int, seed: int) -> list[Tensor]:
    """Row indices of every mini-batch of every epoch, each epoch a fresh permutation."""
    generator = torch.Generator().manual_seed(seed)
    batches: list[Tensor] = []
    for _ in range(epochs):
        batches += list(torch.randperm(n, generator=generator).split(batch_size))
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
    """Train ``model`` with softmax cross-entropy; one optimizer step per mini-batch.

    For each batch of ``_batches(len(x), batch_size, epochs, seed)`` (step ``s`` from 0): set
    ``optimizer.lr = schedule(s)`` if a schedule is given, forward, loss and ``dlogits``,
    backward of ``loss_weight * dlogits``, ``optimizer.step(grads)``. ``optimizer`` must hold
    ``model.parameters()``.

    Args:
        model: the network; its parameters are trained in place.
        optimizer: an ``SGD``, ``Adam`` or ``AdamW`` over ``model.parameters()``.
        x: ``(N, features)`` inputs. y: ``(N,)`` int64 labels.
        epochs, batch_size: positive ints. seed: seeds the batch order.
        schedule: ``step -> lr`` (e.g. a ``warmup_cosine_lr`` partial), or ``None``.
        loss_weight: multiplies the loss (hence every gradient), > 0.

    Returns:
        The cross-entropy of every batch (before ``loss_weight``), in step order.

    Raises:
        ValueError: bad shapes or counts (named).
    """
    _check_data(x, y, epochs, batch_size, loss_weight)
    raise NotImplementedError("TODO(14.4): the training loop - see README task 4")


def accuracy(model: MLP, x: Tensor, y: Tensor) -> float:
    """The fraction of rows of ``x`` whose highest logit is the label in ``y``."""
    raise NotImplementedError("TODO(14.4): accuracy - see README task 4")


# ----------------------------------------------------------------------------- task 5


class DynamicLossScaler:
    """Dynamic loss scaling for float16 training, equal to ``torch.amp.GradScaler``.

    Each step: backpropagate ``scale_loss(loss)`` (here: scale ``dlogits``), then
    ``step(optimizer, grads)`` unscales the float32 gradients and checks them for inf/NaN:
    with any, the step is skipped; then ``update()``: after a skipped step
    ``scale *= backoff_factor`` and the count of clean steps restarts; after
    ``growth_interval`` clean steps in a row ``scale *= growth_factor`` (unless that
    overflows) and the count restarts. Keep the scale in float32, as GradScaler does.

    Args:
        init_scale: > 0. growth_factor: > 1. backoff_factor: in (0, 1).
        growth_interval: a positive int.

    Raises:
        ValueError: a hyperparameter out of range (named).
    """

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
        raise NotImplementedError("TODO(14.5): the scaler's state - see README task 5")

    @property
    def scale(self) -> float:
        """The current loss scale."""
        raise NotImplementedError("TODO(14.5): the current scale - see README task 5")

    def scale_loss(self, loss: Tensor) -> Tensor:
        """``loss * scale`` (any tensor: a loss, or the gradient that starts backward)."""
        raise NotImplementedError("TODO(14.5): scale the loss - see README task 5")

    def unscale_(self, grads: Sequence[Tensor]) -> bool:
        """Divide every gradient by the scale, in place; return whether any held inf/NaN.

        Raises:
            RuntimeError: called twice before ``update()``.
            TypeError: a gradient that is not float32/float64 (unscale master gradients,
                never float16 ones: the quotient would underflow again).
        """
        raise NotImplementedError("TODO(14.5): unscale and check for inf/NaN - see README task 5")

    def step(self, optimizer: SGD | Adam, grads: Sequence[Tensor]) -> bool:
        """Unscale (unless ``unscale_`` already ran this step), then ``optimizer.step(grads)``
        unless a gradient held inf/NaN. Returns whether the optimizer stepped."""
        raise NotImplementedError("TODO(14.5): step or skip - see README task 5")

    def update(self) -> None:
        """Back off or grow the scale after this step's verdict (see the class docstring).

        Raises:
            RuntimeError: no ``step``/``unscale_`` since the last ``update``.
        """
        raise NotImplementedError("TODO(14.5): back off or grow the scale - see README task 5")


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
    """``train`` in mixed precision: float32 master weights, float16 arithmetic.

    Per batch (the same batches as ``train``): a float16 copy of the model
    (``model.cast``), its logits cast to float32 for the loss, ``loss_weight * dlogits``
    (times the scale, with a scaler) cast to float16 for the backward pass, the float16
    gradients cast to float32; then with a scaler ``scaler.step`` and ``scaler.update()``,
    without one ``optimizer.step``. ``optimizer`` holds the float32 ``model.parameters()``.

    Returns:
        The float32 cross-entropy of every batch (before ``loss_weight``), in step order.

    Raises:
        ValueError: a model whose parameters are not float32, bad shapes or counts.
    """
    _check_data(x, y, epochs, batch_size, loss_weight)
    if model.params[0].dtype != torch.float32:
        raise ValueError(f"model must hold float32 master weights, got {model.params[0].dtype}")
    raise NotImplementedError("TODO(14.5): the float16 training loop - see README task 5")


# ----------------------------------------------------------------------------- task 6


def layer_gradient_norms(model: MLP, x: Tensor, labels: Tensor) -> list[float]:
    """The Frobenius norm of every layer's weight gradient (first layer first) for the mean
    softmax cross-entropy of ``model`` on ``x`` ``(N, sizes[0])`` and ``labels`` ``(N,)``."""
    raise NotImplementedError("TODO(14.6): per-layer gradient norms - see README task 6")
