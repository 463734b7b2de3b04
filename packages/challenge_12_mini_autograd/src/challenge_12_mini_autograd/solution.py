"""Mini autograd, production grade: vectorized numpy, broadcasting-aware gradients, and an
iterative topological sort that handles graphs of any depth.

Every op computes its output with one numpy call and records a ``backward`` closure that maps
the output's gradient to one gradient per parent (the op's local rule: micrograd's idea, on
arrays). ``Tensor.backward`` orders the graph once and runs those closures in reverse.

Semantics (the same as ``torch.autograd`` unless noted):
- Data is float64; Python numbers and array-likes mix in as constants.
- Broadcasting follows numpy; a broadcast operand's gradient is summed back to its shape.
- A tensor used twice accumulates both contributions; leaf gradients accumulate across
  ``backward()`` calls until ``zero_grad()`` (which sets ``grad`` to ``None``, as torch does).
  Unlike torch, non-leaf tensors also keep the gradient of the last pass (handy for debugging).
- ``log`` of 0 is ``-inf`` and of a negative number ``nan``, as in torch (no exception).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MLP", "SGD", "Linear", "Tensor", "binary_cross_entropy"]

Array = npt.NDArray[np.float64]
Backward = Callable[[Array], tuple[Array | None, ...]]


def _to_array(data: Any, name: str = "data") -> Array:
    """Convert ``data`` to a float64 array; reject what is not a real number."""
    if isinstance(data, Tensor):
        return data.data
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


class Tensor:
    """An n-dimensional float64 array that records the operations applied to it.

    Args:
        data: numbers, nested lists or a numpy array of real numbers (copied to float64).
        requires_grad: track operations on this tensor so ``backward`` can fill ``grad``.

    Raises:
        TypeError: ``data`` is not real numbers (strings, bools, complex, objects), or
            ``requires_grad`` is not a bool.
    """

    __slots__ = ("_backward", "_parents", "data", "grad", "requires_grad")
    __array_priority__ = 1000  # numpy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        self.data: Array = _to_array(data)
        self.grad: Array | None = None
        self.requires_grad = requires_grad
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Backward | None = None

    # ---- construction helpers ------------------------------------------------------------

    @staticmethod
    def _lift(value: Any) -> Tensor:
        return value if isinstance(value, Tensor) else Tensor(value)

    @staticmethod
    def _result(data: Array, parents: tuple[Tensor, ...], backward: Backward) -> Tensor:
        """The output of an op; it joins the graph only when a parent needs a gradient."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad = data, None
        out.requires_grad = any(p.requires_grad for p in parents)
        out._parents = parents if out.requires_grad else ()
        out._backward = backward if out.requires_grad else None
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

    def backward(self, grad: Any = None) -> None:
        """Fill ``grad`` of every tensor this one depends on with d(self)/d(tensor).

        Args:
            grad: d(loss)/d(self), same shape as ``self``; may be omitted for a one-element
                tensor (then it is 1).

        Raises:
            ValueError: ``self`` does not require grad, or has more than one element and no
                ``grad`` was given, or ``grad`` has the wrong shape.
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
        grads: dict[int, Array] = {id(self): seed}  # this pass's gradients
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue  # no path from self reached this node with a gradient
            if node._backward is None:  # a leaf: accumulate across passes, as torch does
                node.grad = g.copy() if node.grad is None else node.grad + g
                continue
            node.grad = g
            for parent, pg in zip(node._parents, node._backward(g), strict=True):
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
        """``self ** exponent`` for a Python number ``exponent``.

        Raises:
            TypeError: ``exponent`` is a tensor, array or anything but a real number.
        """
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)):
            raise TypeError(
                f"the exponent must be a Python int or float, got {type(exponent).__name__}"
            )
        p = float(exponent)
        x = self.data
        with np.errstate(divide="ignore", invalid="ignore"):
            out = x**p

        def backward(g: Array) -> tuple[Array]:
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
        """Natural log; ``log(0) = -inf`` and ``log(x < 0) = nan``, as in torch."""
        x = self.data
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(x)

        def backward(g: Array) -> tuple[Array]:
            with np.errstate(divide="ignore", invalid="ignore"):
                return (g / x,)

        return Tensor._result(out, (self,), backward)

    def sigmoid(self) -> Tensor:
        x = self.data
        # exp of a non-positive number only: no overflow for large |x|.
        z = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
        return Tensor._result(out, (self,), lambda g: (g * out * (1.0 - out),))

    # ---- task 4: reductions, shape ops and matmul ----------------------------------------

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (an int, a sequence of ints, or ``None`` for all axes)."""
        axes = _normalize_axes(axis, self.ndim)
        shape = self.shape
        out = self.data.sum(axis=axes, keepdims=keepdims)

        def backward(g: Array) -> tuple[Array]:
            if not keepdims:
                g = np.expand_dims(g, axes)
            return (np.broadcast_to(g, shape).copy(),)

        return Tensor._result(np.asarray(out, dtype=np.float64), (self,), backward)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``; the mean of zero elements is an error."""
        axes = _normalize_axes(axis, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        if count == 0:
            raise ValueError(
                f"mean over axis {axis} of a tensor of shape {self.shape} has no elements"
            )
        return self.sum(axis=axes, keepdims=keepdims) * (1.0 / count)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """``reshape(2, 3)`` or ``reshape((2, 3))``; one dimension may be -1."""
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
        """Permute the axes (``transpose()`` reverses them, as numpy does)."""
        perm = axes or tuple(range(self.ndim))[::-1]
        if sorted(perm) != list(range(self.ndim)):
            raise ValueError(f"axes {axes} are not a permutation of the {self.ndim} axes")
        inverse = tuple(np.argsort(perm))
        return Tensor._result(self.data.transpose(perm), (self,), lambda g: (g.transpose(inverse),))

    def __matmul__(self, other: Any) -> Tensor:
        """Matrix product with numpy's rules: 1-D operands are promoted, batch axes broadcast.

        Raises:
            ValueError: a 0-d operand, or inner dimensions that differ.
        """
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


def binary_cross_entropy(probs: Tensor, targets: Any) -> Tensor:
    """Mean binary cross-entropy of probabilities against 0/1 (or soft) targets.

    Matches ``torch.nn.functional.binary_cross_entropy``: each log is clamped at -100, and the
    gradient divides by ``max(p * (1 - p), 1e-12)``, so p = 0 or 1 gives a finite loss.

    Args:
        probs: probabilities in [0, 1], any shape.
        targets: same shape, values in [0, 1]; treated as constants (no gradient).

    Raises:
        ValueError: shapes differ, or a value lies outside [0, 1] (or is NaN).
    """
    if not isinstance(probs, Tensor):
        raise TypeError(f"probs must be a Tensor, got {type(probs).__name__}")
    t = _to_array(targets, "targets")
    p = probs.data
    if t.shape != p.shape:
        raise ValueError(f"targets have shape {t.shape}, probs have shape {p.shape}")
    if not (np.all((p >= 0) & (p <= 1))):
        raise ValueError("probs must lie in [0, 1] (apply sigmoid to logits first)")
    if not (np.all((t >= 0) & (t <= 1))):
        raise ValueError("targets must lie in [0, 1]")
    n = p.size
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_q = np.maximum(np.log1p(-p), -100.0)
    loss = -np.mean(t * log_p + (1.0 - t) * log_q)

    def backward(g: Array) -> tuple[Array]:
        return (g * (p - t) / np.maximum(p * (1.0 - p), 1e-12) / n,)

    return Tensor._result(np.asarray(loss, dtype=np.float64), (probs,), backward)


class Linear:
    """``y = x @ weight + bias`` with weight (in_features, out_features).

    Weights are drawn from U(-1/sqrt(in), 1/sqrt(in)), torch's default for nn.Linear.
    """

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
        """(N, in_features) -> (N, out_features)."""
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
    """Linear layers of the given widths with ReLU between them (none after the last).

    ``MLP([2, 16, 16, 1])`` maps (N, 2) to (N, 1) logits.
    """

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
    """Stochastic gradient descent with optional momentum (torch.optim.SGD's update rule)."""

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
        """``v = momentum * v + grad; p -= lr * v`` for every parameter that has a gradient."""
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            previous = self._velocity[k]
            v = p.grad if previous is None else self.momentum * previous + p.grad
            if self.momentum:
                self._velocity[k] = v
            p.data -= self.lr * v

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()
