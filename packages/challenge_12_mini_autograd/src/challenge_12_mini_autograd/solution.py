"""Mini autograd, production grade: one graph node per *array* operation.

The contract (every signature, shape rule, error and the semantics shared with torch) is the
starter's docstrings; this file says only what is particular to the approach:

- Every op computes its output with one numpy call and records a ``backward`` closure that maps
  the output's gradient to one gradient per parent (micrograd's idea, on arrays).
- ``Tensor.backward`` orders the graph once with an explicit stack (no recursion, any depth),
  checks that no input an op saved was modified in place since (``_version`` counters, as
  torch's), then runs the closures in reverse. Unless ``retain_graph=True`` it drops each
  closure and parent link as soon as it has run, so the saved arrays are freed during the pass.
- The losses are single nodes with a hand-written gradient: ``binary_cross_entropy_with_logits``
  in log-sum-exp form, ``binary_cross_entropy`` with torch's clamps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "MLP",
    "SGD",
    "Linear",
    "Tensor",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]

Array = npt.NDArray[np.float64]
Backward = Callable[[Array], tuple[Array | None, ...]]


def _to_array(data: Any, name: str = "data") -> Array:
    """A float64 copy of ``data``; reject what is not a real number."""
    if isinstance(data, Tensor):
        return data.data.copy()
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{name} must be numeric, got {type(data).__name__}")
    try:
        array = np.asarray(data)
    except Exception as exc:
        raise TypeError(f"{name} must be array-like numbers: {exc}") from None
    if array.dtype == np.bool_ or array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers (int or float), got dtype {array.dtype}")
    return array.astype(np.float64, copy=True)


def _unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``grad`` over the axes broadcasting added or stretched, back to ``shape``."""
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))  # leading axes broadcasting added
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _normalize_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"axis must be an int or a sequence of ints, got {a!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis} repeats an axis")
    return tuple(sorted(out))


def _graph_freed(g: Array) -> tuple[Array | None, ...]:
    """The ``_backward`` of a node whose saved arrays a ``backward()`` pass has freed."""
    raise RuntimeError(
        "backward() through a graph a second time: the first backward() freed the arrays it "
        "saved; pass retain_graph=True to the first call to keep them"
    )


def _check_versions(node: Tensor) -> None:
    """Refuse a node whose inputs were modified in place after it ran (torch: version counters)."""
    for parent, saved in zip(node._parents, node._saved_versions, strict=True):
        if parent._version != saved:
            raise RuntimeError(
                f"an input of shape {parent.shape} that an op saved for backward was modified "
                f"in place (now version {parent._version}, saved at version {saved}): run "
                "backward() before optimizer.step(), or build the graph again"
            )


class Tensor:
    """A float64 array that records the ops applied to it (contract: ``starter.Tensor``)."""

    __slots__ = (
        "_backward",
        "_parents",
        "_saved_versions",
        "_version",
        "data",
        "grad",
        "requires_grad",
    )
    __array_priority__ = 1000  # numpy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        self.data: Array = _to_array(data)
        self.grad: Array | None = None
        self.requires_grad = requires_grad
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Backward | None = None
        self._version = 0  # bumped by every in-place update of `data` (SGD.step)
        self._saved_versions: tuple[int, ...] = ()  # the parents' versions when this op ran

    # ---- construction helpers ------------------------------------------------------------

    @staticmethod
    def _lift(value: Any) -> Tensor:
        return value if isinstance(value, Tensor) else Tensor(value)

    @staticmethod
    def _result(data: Array, parents: tuple[Tensor, ...], backward: Backward) -> Tensor:
        """The output of an op; it joins the graph only when a parent needs a gradient."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out._version = data, None, 0
        out.requires_grad = any(p.requires_grad for p in parents)
        out._parents = parents if out.requires_grad else ()
        out._backward = backward if out.requires_grad else None
        out._saved_versions = tuple(p._version for p in out._parents)
        return out

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return int(self.data.ndim)

    @property
    def T(self) -> Tensor:
        """The transpose (all axes reversed)."""
        return self.transpose()

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return float(self.data.reshape(()))

    def numpy(self) -> Array:
        """A copy of the data."""
        return self.data.copy()

    def __repr__(self) -> str:
        flag = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, precision=4)}{flag})"

    # ---- task 1: backward ----------------------------------------------------------------

    def _topological_order(self) -> list[Tensor]:
        """Every tensor that needs a gradient, each after all of its parents (iterative DFS)."""
        order: list[Tensor] = []
        visited: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend(
                (p, False) for p in node._parents if p.requires_grad and id(p) not in visited
            )
        return order

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Reverse-mode pass over the graph (contract: ``starter.Tensor.backward``).

        The order is computed once; the version check runs over the whole graph before any
        closure runs, so a refused pass leaves the graph intact.
        """
        if not self.requires_grad:
            raise ValueError(
                "backward() on a tensor that does not require grad: no input has requires_grad=True"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() on a tensor of shape {self.shape} needs grad=: "
                    "a gradient can be implied only for a one-element output (call .sum() first?)"
                )
            seed = np.ones_like(self.data)
        else:
            seed = _to_array(grad, "grad")
            if seed.shape != self.data.shape:
                raise ValueError(f"grad has shape {seed.shape}, expected {self.shape}")
        order = self._topological_order()
        for node in order:
            _check_versions(node)
        grads: dict[int, Array] = {id(self): seed}  # this pass's gradients
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue  # no path from self reached this node with a gradient
            if node._backward is None:  # a leaf: accumulate across passes, as torch does
                node.grad = g.copy() if node.grad is None else node.grad + g
                continue
            node.grad = g
            parents, parent_grads = node._parents, node._backward(g)
            if not retain_graph:  # drop the closure (and the arrays it saved) right away
                node._backward, node._parents, node._saved_versions = _graph_freed, (), ()
            for parent, pg in zip(parents, parent_grads, strict=True):
                if pg is None or not parent.requires_grad:
                    continue
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    # ---- task 2: elementwise arithmetic with broadcasting --------------------------------

    def __add__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        a_shape, b_shape = self.shape, o.shape

        def backward(g: Array) -> tuple[Array, Array]:
            return _unbroadcast(g, a_shape), _unbroadcast(g, b_shape)

        return Tensor._result(self.data + o.data, (self, o), backward)

    def __radd__(self, other: Any) -> Tensor:
        return Tensor._lift(other) + self

    def __neg__(self) -> Tensor:
        return Tensor._result(-self.data, (self,), lambda g: (-g,))

    def __sub__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        a_shape, b_shape = self.shape, o.shape

        def backward(g: Array) -> tuple[Array, Array]:
            return _unbroadcast(g, a_shape), _unbroadcast(-g, b_shape)

        return Tensor._result(self.data - o.data, (self, o), backward)

    def __rsub__(self, other: Any) -> Tensor:
        return Tensor._lift(other) - self

    def __mul__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        a, b = self.data, o.data

        def backward(g: Array) -> tuple[Array | None, Array | None]:
            ga = _unbroadcast(g * b, a.shape) if self.requires_grad else None
            gb = _unbroadcast(g * a, b.shape) if o.requires_grad else None
            return ga, gb

        return Tensor._result(a * b, (self, o), backward)

    def __rmul__(self, other: Any) -> Tensor:
        return Tensor._lift(other) * self

    def __truediv__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        a, b = self.data, o.data
        with np.errstate(divide="ignore", invalid="ignore"):
            out = a / b

        def backward(g: Array) -> tuple[Array | None, Array | None]:
            with np.errstate(divide="ignore", invalid="ignore"):
                ga = _unbroadcast(g / b, a.shape) if self.requires_grad else None
                gb = _unbroadcast(-g * out / b, b.shape) if o.requires_grad else None
            return ga, gb

        return Tensor._result(out, (self, o), backward)

    def __rtruediv__(self, other: Any) -> Tensor:
        return Tensor._lift(other) / self

    def __pow__(self, exponent: float) -> Tensor:
        """``self ** exponent``; the exponent 0 has gradient 0 everywhere (0 * 0**-1 is NaN)."""
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)):
            raise TypeError(
                f"the exponent must be a Python int or float, got {type(exponent).__name__}"
            )
        p = float(exponent)
        x = self.data
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x**p

        def backward(g: Array) -> tuple[Array]:
            if p == 0.0:  # x**0 is constant; torch masks the gradient to 0 the same way
                return (np.zeros_like(x),)
            with np.errstate(divide="ignore", invalid="ignore"):
                return (g * p * x ** (p - 1.0),)

        return Tensor._result(out, (self,), backward)

    # ---- task 3: elementwise functions ---------------------------------------------------

    def relu(self) -> Tensor:
        mask = self.data > 0
        return Tensor._result(np.where(mask, self.data, 0.0), (self,), lambda g: (g * mask,))

    def tanh(self) -> Tensor:
        out = np.tanh(self.data)
        return Tensor._result(out, (self,), lambda g: (g * (1.0 - out * out),))

    def exp(self) -> Tensor:
        with np.errstate(over="ignore"):
            out = np.exp(self.data)
        return Tensor._result(out, (self,), lambda g: (g * out,))

    def log(self) -> Tensor:
        x = self.data
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(x)

        def backward(g: Array) -> tuple[Array]:
            with np.errstate(divide="ignore", invalid="ignore"):
                return (g / x,)

        return Tensor._result(out, (self,), backward)

    def sigmoid(self) -> Tensor:
        out = _sigmoid(self.data)
        return Tensor._result(out, (self,), lambda g: (g * out * (1.0 - out),))

    # ---- task 4: reductions, shape ops and matmul ----------------------------------------

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        axes = _normalize_axes(axis, self.ndim)
        shape = self.shape
        out = self.data.sum(axis=axes, keepdims=keepdims)

        def backward(g: Array) -> tuple[Array]:
            if not keepdims:
                g = np.expand_dims(g, axes)
            return (np.broadcast_to(g, shape).copy(),)

        return Tensor._result(np.asarray(out, dtype=np.float64), (self,), backward)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """``sum * (1 / count)``: the gradient comes from the two ops it is built of."""
        axes = _normalize_axes(axis, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        if count == 0:
            raise ValueError(
                f"mean over axis {axis} of a tensor of shape {self.shape} has no elements"
            )
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / count)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        target: Any = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        try:
            out = self.data.reshape(target)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"cannot reshape a tensor of shape {self.shape} to {target}: {exc}"
            ) from None
        original = self.shape
        return Tensor._result(out, (self,), lambda g: (g.reshape(original),))

    def transpose(self, *axes: int) -> Tensor:
        """The gradient is permuted back with the inverse permutation (``argsort(perm)``)."""
        perm = axes or tuple(range(self.ndim))[::-1]
        if sorted(perm) != list(range(self.ndim)):
            raise ValueError(f"axes {axes} are not a permutation of the {self.ndim} axes")
        inverse = tuple(np.argsort(perm))
        return Tensor._result(self.data.transpose(perm), (self,), lambda g: (g.transpose(inverse),))

    def __matmul__(self, other: Any) -> Tensor:
        """1-D operands are promoted to matrices for the backward and squeezed back; batch axes
        that broadcast are summed back with ``_unbroadcast``."""
        o = Tensor._lift(other)
        a, b = self.data, o.data
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}"
            )
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"matmul shape mismatch: {a.shape} @ {b.shape} "
                f"(inner dimensions {a.shape[-1]} and {b.shape[-2 if b.ndim > 1 else 0]} differ)"
            )
        try:
            out = np.matmul(a, b)
        except ValueError as exc:  # batch axes that do not broadcast
            raise ValueError(
                f"matmul batch shapes do not broadcast: {a.shape} @ {b.shape}"
            ) from exc
        a2 = a[None, :] if a.ndim == 1 else a  # (..., M, K)
        b2 = b[:, None] if b.ndim == 1 else b  # (..., K, N)

        def backward(g: Array) -> tuple[Array | None, Array | None]:
            if b.ndim == 1:
                g = g[..., None]  # restore N = 1: (..., M, 1)
            if a.ndim == 1:
                g = g[..., None, :]  # restore M = 1: (..., 1, N)
            ga = gb = None
            if self.requires_grad:
                ga = _unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
            if o.requires_grad:
                gb = _unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
            return ga, gb

        return Tensor._result(np.asarray(out, dtype=np.float64), (self, o), backward)

    def __rmatmul__(self, other: Any) -> Tensor:
        return Tensor._lift(other) @ self


# ---- task 5: a tiny neural-network library ---------------------------------------------


def _sigmoid(x: Array) -> Array:
    """1 / (1 + exp(-x)) from exp of a non-positive number only: no overflow for any x."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def _targets(targets: Any, shape: tuple[int, ...], against: str) -> Array:
    """``targets`` as a float64 array of ``shape`` with values in [0, 1]."""
    t = _to_array(targets, "targets")
    if t.shape != shape:
        raise ValueError(f"targets have shape {t.shape}, {against} have shape {shape}")
    if not np.all((t >= 0) & (t <= 1)):
        raise ValueError("targets must lie in [0, 1]")
    return t


def binary_cross_entropy_with_logits(logits: Tensor, targets: Any) -> Tensor:
    """One node: ``max(z, 0) - z t + log1p(exp(-|z|))`` and gradient ``(sigmoid(z) - t) / n``.

    Neither the loss nor the gradient passes through a probability, so nothing saturates.
    """
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a Tensor, got {type(logits).__name__}")
    z = logits.data
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite (no NaN or inf)")
    t = _targets(targets, z.shape, "logits")
    n = max(z.size, 1)
    loss = np.mean(np.maximum(z, 0.0) - z * t + np.log1p(np.exp(-np.abs(z))))

    def backward(g: Array) -> tuple[Array]:
        return (g * (_sigmoid(z) - t) / n,)

    return Tensor._result(np.asarray(loss, dtype=np.float64), (logits,), backward)


def binary_cross_entropy(probs: Tensor, targets: Any) -> Tensor:
    """One node with torch's clamps: each log at -100, the gradient's denominator
    ``p (1 - p)`` at 1e-12 (so p = 0 or 1 gives a large finite gradient, as in torch)."""
    if not isinstance(probs, Tensor):
        raise TypeError(f"probs must be a Tensor, got {type(probs).__name__}")
    p = probs.data
    t = _targets(targets, p.shape, "probs")
    if not (np.all((p >= 0) & (p <= 1))):
        raise ValueError("probs must lie in [0, 1] (apply sigmoid to logits first)")
    n = max(p.size, 1)
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_q = np.maximum(np.log1p(-p), -100.0)
    loss = -np.mean(t * log_p + (1.0 - t) * log_q)

    def backward(g: Array) -> tuple[Array]:
        return (g * (p - t) / np.maximum(p * (1.0 - p), 1e-12) / n,)

    return Tensor._result(np.asarray(loss, dtype=np.float64), (probs,), backward)


class Linear:
    """``x @ weight + bias``: one matmul node and one broadcast add (contract: starter)."""

    def __init__(
        self, in_features: int, out_features: int, *, bias: bool = True, seed: int = 0
    ) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        rng = np.random.default_rng(seed)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Tensor(
            rng.uniform(-bound, bound, (in_features, out_features)), requires_grad=True
        )
        self.bias = (
            Tensor(rng.uniform(-bound, bound, (out_features,)), requires_grad=True)
            if bias
            else None
        )

    def __call__(self, x: Tensor) -> Tensor:
        if x.shape[-1:] != self.weight.shape[:1]:
            raise ValueError(
                f"Linear expects inputs of shape (..., {self.weight.shape[0]}), got {x.shape}"
            )
        y = x @ self.weight  # (N, out)
        return y + self.bias if self.bias is not None else y

    def parameters(self) -> list[Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()


class MLP:
    """Linear layers with ReLU between them (contract: starter)."""

    def __init__(self, sizes: Sequence[int], *, seed: int = 0) -> None:
        if len(sizes) < 2:
            raise ValueError(f"sizes needs an input and an output width, got {list(sizes)}")
        self.layers = [Linear(i, o, seed=seed + k) for k, (i, o) in enumerate(pairwise(sizes))]

    def __call__(self, x: Tensor) -> Tensor:
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = x.relu()
        return x

    def parameters(self) -> list[Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()


class SGD:
    """torch.optim.SGD's update, in place, bumping each parameter's version (contract: starter)."""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD got no parameters")
        if not all(isinstance(p, Tensor) and p.requires_grad for p in self.params):
            raise TypeError("every parameter must be a Tensor with requires_grad=True")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = float(lr), float(momentum)
        self._velocity: list[Array | None] = [None] * len(self.params)

    def step(self) -> None:
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            previous = self._velocity[k]
            v = p.grad if previous is None else self.momentum * previous + p.grad
            if self.momentum:
                self._velocity[k] = v
            p.data -= self.lr * v
            p._version += 1  # graphs built on the old values now refuse to backward

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()
