"""Mini autograd, the simple way: a scalar engine behind the Tensor API.

Every number is a ``Value`` that remembers its parents and the local derivative towards each
(micrograd's design). A ``Tensor`` is a numpy *object* array of Values, so numpy's own
broadcasting, matmul and sum build the scalar graph for us, and broadcast gradients need no
special care: a Value used by many outputs simply accumulates from each. Correct and easy to
check by hand; slow, because every multiply-add is a Python object.

The contract (signatures, shapes, errors, freeing the graph, version checks) is the starter's
docstrings. Here a freed graph is marked on its tensors (``_freed``) and its Values lose their
edges; version checks compare tensors, as the solution's do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
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
Objects = npt.NDArray[np.object_]


class Value:
    """One scalar of the graph: its value, its gradient, and (parent, d self / d parent) pairs."""

    __slots__ = ("data", "edges", "grad")

    def __init__(self, data: float, edges: tuple[tuple[Value, float], ...] = ()) -> None:
        self.data = data
        self.grad = 0.0
        self.edges = edges

    def __add__(self, other: Value) -> Value:
        return Value(self.data + other.data, ((self, 1.0), (other, 1.0)))

    def __mul__(self, other: Value) -> Value:
        return Value(self.data * other.data, ((self, other.data), (other, self.data)))

    def __neg__(self) -> Value:
        return Value(-self.data, ((self, -1.0),))

    def __sub__(self, other: Value) -> Value:
        return Value(self.data - other.data, ((self, 1.0), (other, -1.0)))

    def __truediv__(self, other: Value) -> Value:
        q = _div(self.data, other.data)
        return Value(q, ((self, _div(1.0, other.data)), (other, -_div(q, other.data))))

    def power(self, p: float) -> Value:
        local = 0.0 if p == 0 else p * _pow(self.data, p - 1.0)  # x**0 is constant, even at 0
        return Value(_pow(self.data, p), ((self, local),))

    def relu(self) -> Value:
        return Value(max(self.data, 0.0), ((self, 1.0 if self.data > 0 else 0.0),))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value(t, ((self, 1.0 - t * t),))

    def exp(self) -> Value:
        e = math.exp(self.data) if self.data < 709.0 else math.inf
        return Value(e, ((self, e),))

    def log(self) -> Value:
        x = self.data
        out = math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
        return Value(out, ((self, _div(1.0, x)),))

    def sigmoid(self) -> Value:
        s = (
            1.0 / (1.0 + math.exp(-self.data))
            if self.data >= 0
            else math.exp(self.data) / (1.0 + math.exp(self.data))
        )
        return Value(s, ((self, s * (1.0 - s)),))


def _div(a: float, b: float) -> float:
    """IEEE division (x/0 is inf or nan, as numpy and torch give), not Python's exception."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _pow(a: float, p: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) ** np.float64(p))


def _values(array: Array) -> Objects:
    return _objects([Value(float(x)) for x in array.flat], array.shape)


def _apply(values: Objects, method: str, *args: float) -> Objects:
    return _objects([getattr(v, method)(*args) for v in values.flat], values.shape)


def _floats(nodes: Objects, attr: str) -> Array:
    """The ``data`` or ``grad`` of every Value, as a float64 array of the same shape."""
    flat = np.fromiter((getattr(v, attr) for v in nodes.flat), dtype=np.float64, count=nodes.size)
    return flat.reshape(nodes.shape)


def _objects(items: list[Value], shape: tuple[int, ...]) -> Objects:
    """An object array of ``shape`` holding ``items`` (numpy would unpack nested sequences)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(shape)


class Tensor:
    """An n-dimensional array of scalar ``Value`` nodes (contract: ``starter.Tensor``)."""

    __array_priority__ = 1000  # numpy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        if isinstance(data, (str, bytes)):
            raise TypeError(f"data must be numeric, got {type(data).__name__}")
        array = np.asarray(data.data if isinstance(data, Tensor) else data)
        if array.dtype == np.bool_ or array.dtype.kind not in "iuf":
            raise TypeError(f"data must hold real numbers (int or float), got dtype {array.dtype}")
        self._nodes: Objects = _values(array.astype(np.float64))
        self.requires_grad = requires_grad
        self.grad: Array | None = None
        self._parents: tuple[Tensor, ...] = ()
        self._version = 0
        self._saved_versions: tuple[int, ...] = ()
        self._freed = False

    @staticmethod
    def _wrap(nodes: Any, *parents: Tensor) -> Tensor:
        out = Tensor.__new__(Tensor)
        out._nodes = (
            np.asarray(nodes, dtype=object) if isinstance(nodes, np.ndarray) else _scalar(nodes)
        )
        out.requires_grad = any(p.requires_grad for p in parents)
        out.grad = None
        out._parents = parents
        out._version, out._freed = 0, False
        out._saved_versions = tuple(p._version for p in parents)
        return out

    @staticmethod
    def _lift(value: Any) -> Tensor:
        return value if isinstance(value, Tensor) else Tensor(value)

    @property
    def data(self) -> Array:
        return _floats(self._nodes, "data")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._nodes.shape)

    @property
    def ndim(self) -> int:
        return int(self._nodes.ndim)

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def item(self) -> float:
        if self._nodes.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return float(self._nodes.reshape(-1)[0].data)

    def numpy(self) -> Array:
        return self.data

    def __repr__(self) -> str:
        return f"Tensor({self.data}{', requires_grad=True' if self.requires_grad else ''})"

    # ---- backward ------------------------------------------------------------------------

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        if not self.requires_grad:
            raise ValueError(
                "backward() on a tensor that does not require grad: no input has requires_grad=True"
            )
        if grad is None:
            if self._nodes.size != 1:
                raise ValueError(
                    f"backward() on a tensor of shape {self.shape} needs grad= (call .sum() first?)"
                )
            seed = np.ones(self.shape)
        else:
            seed = np.asarray(grad, dtype=np.float64)
            if seed.shape != self.shape:
                raise ValueError(f"grad has shape {seed.shape}, expected {self.shape}")
        tensors = _tensors(self)
        for t in tensors:
            _check(t)
        order = _topological_order(list(self._nodes.reshape(-1)))
        for v in order:
            v.grad = 0.0
        for v, g in zip(self._nodes.reshape(-1), seed.reshape(-1), strict=True):
            v.grad += float(g)
        for v in reversed(order):  # chain rule, outputs first
            for parent, local in v.edges:
                parent.grad += local * v.grad
        for t in tensors:
            this_pass = _floats(t._nodes, "grad")
            leaf = not t._parents
            t.grad = this_pass + t.grad if leaf and t.grad is not None else this_pass
        if not retain_graph:  # free: drop every edge, mark every interior tensor
            for v in order:
                v.edges = ()
            for t in tensors:
                if t._parents:
                    t._parents, t._freed = (), True

    def zero_grad(self) -> None:
        self.grad = None

    # ---- elementwise arithmetic ----------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        return Tensor._wrap(self._nodes + o._nodes, self, o)

    def __radd__(self, other: Any) -> Tensor:
        return Tensor._lift(other) + self

    def __neg__(self) -> Tensor:
        return Tensor._wrap(-self._nodes, self)

    def __sub__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        return Tensor._wrap(self._nodes - o._nodes, self, o)

    def __rsub__(self, other: Any) -> Tensor:
        return Tensor._lift(other) - self

    def __mul__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        return Tensor._wrap(self._nodes * o._nodes, self, o)

    def __rmul__(self, other: Any) -> Tensor:
        return Tensor._lift(other) * self

    def __truediv__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        return Tensor._wrap(self._nodes / o._nodes, self, o)

    def __rtruediv__(self, other: Any) -> Tensor:
        return Tensor._lift(other) / self

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float)):
            raise TypeError(
                f"the exponent must be a Python int or float, got {type(exponent).__name__}"
            )
        return Tensor._wrap(_apply(self._nodes, "power", float(exponent)), self)

    # ---- elementwise functions -----------------------------------------------------------

    def relu(self) -> Tensor:
        return Tensor._wrap(_apply(self._nodes, "relu"), self)

    def tanh(self) -> Tensor:
        return Tensor._wrap(_apply(self._nodes, "tanh"), self)

    def exp(self) -> Tensor:
        return Tensor._wrap(_apply(self._nodes, "exp"), self)

    def log(self) -> Tensor:
        return Tensor._wrap(_apply(self._nodes, "log"), self)

    def sigmoid(self) -> Tensor:
        return Tensor._wrap(_apply(self._nodes, "sigmoid"), self)

    # ---- reductions, shapes, matmul ------------------------------------------------------

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        axes = None if axis is None else (axis if isinstance(axis, int) else tuple(axis))
        if self._nodes.size == 0:
            raise ValueError("sum of an empty tensor is not supported by the scalar engine")
        try:
            nodes = np.sum(self._nodes, axis=axes, keepdims=keepdims)
        except np.exceptions.AxisError as exc:
            raise ValueError(str(exc)) from None
        return Tensor._wrap(nodes, self)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        total = self.sum(axis, keepdims)
        count = self._nodes.size // max(total._nodes.size, 1)
        return total * (1.0 / count)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        target: Any = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        try:
            return Tensor._wrap(self._nodes.reshape(target), self)
        except ValueError as exc:
            raise ValueError(
                f"cannot reshape a tensor of shape {self.shape} to {target}: {exc}"
            ) from None

    def transpose(self, *axes: int) -> Tensor:
        perm = axes or tuple(range(self.ndim))[::-1]
        if sorted(perm) != list(range(self.ndim)):
            raise ValueError(f"axes {axes} are not a permutation of the {self.ndim} axes")
        return Tensor._wrap(self._nodes.transpose(perm), self)

    def __matmul__(self, other: Any) -> Tensor:
        o = Tensor._lift(other)
        if self.ndim == 0 or o.ndim == 0:
            raise ValueError(
                f"matmul needs at least 1-D operands, got shapes {self.shape} and {o.shape}"
            )
        try:
            nodes = np.matmul(self._nodes, o._nodes)
        except ValueError as exc:
            raise ValueError(f"matmul shape mismatch: {self.shape} @ {o.shape} ({exc})") from None
        return Tensor._wrap(nodes, self, o)

    def __rmatmul__(self, other: Any) -> Tensor:
        return Tensor._lift(other) @ self


def _scalar(node: Value) -> Objects:
    out = np.empty((), dtype=object)
    out[()] = node
    return out


def _topological_order(roots: list[Value]) -> list[Value]:
    """Every Value reachable from ``roots``, each after its parents (iterative DFS)."""
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(r, False) for r in roots]
    while stack:
        v, done = stack.pop()
        if done:
            order.append(v)
        elif id(v) not in seen:
            seen.add(id(v))
            stack.append((v, True))
            stack.extend((p, False) for p, _ in v.edges)
    return order


def _check(t: Tensor) -> None:
    """Refuse a freed tensor, or one whose parents changed in place after it was computed."""
    if t._freed:
        raise RuntimeError(
            "backward() through a graph a second time: the first backward() freed it; pass "
            "retain_graph=True to the first call to keep it"
        )
    for parent, saved in zip(t._parents, t._saved_versions, strict=True):
        if parent._version != saved:
            raise RuntimeError(
                f"an input of shape {parent.shape} that an op saved for backward was modified "
                f"in place (now version {parent._version}, saved at version {saved})"
            )


def _tensors(root: Tensor) -> list[Tensor]:
    """Every tensor that requires grad in the graph of ``root``."""
    found: dict[int, Tensor] = {}
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in found or not t.requires_grad:
            continue
        found[id(t)] = t
        stack.extend(t._parents)
    return list(found.values())


def _loss_node(value: float, parent: Value, local: float) -> Value:
    """A loss term with a hand-written derivative: one edge, no clamped sub-graph."""
    return Value(value, ((parent, local),))


def _checked_targets(targets: Any, shape: tuple[int, ...], against: str) -> Array:
    t = np.asarray(targets, dtype=np.float64)
    if t.shape != shape:
        raise ValueError(f"targets have shape {t.shape}, {against} have shape {shape}")
    if not np.all((t >= 0) & (t <= 1)):
        raise ValueError("targets must lie in [0, 1]")
    return t


def binary_cross_entropy_with_logits(logits: Tensor, targets: Any) -> Tensor:
    """Per element: ``max(z, 0) - z t + log1p(exp(-|z|))`` with derivative ``sigmoid(z) - t``."""
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a Tensor, got {type(logits).__name__}")
    z = logits.data
    if not np.all(np.isfinite(z)):
        raise ValueError("logits must be finite (no NaN or inf)")
    t = _checked_targets(targets, z.shape, "logits")
    terms = np.empty(z.shape, dtype=object)
    for index, v in np.ndenumerate(logits._nodes):
        x, y = v.data, float(t[index])
        loss = max(x, 0.0) - x * y + math.log1p(math.exp(-abs(x)))
        terms[index] = _loss_node(loss, v, v.sigmoid().data - y)
    return Tensor._wrap(terms, logits).mean()


def binary_cross_entropy(probs: Tensor, targets: Any) -> Tensor:
    """Per element: the clamped loss with torch's derivative ``(p - t) / max(p (1 - p), 1e-12)``."""
    if not isinstance(probs, Tensor):
        raise TypeError(f"probs must be a Tensor, got {type(probs).__name__}")
    p = probs.data
    t = _checked_targets(targets, p.shape, "probs")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probs must lie in [0, 1]")
    terms = np.empty(p.shape, dtype=object)
    for index, v in np.ndenumerate(probs._nodes):
        x, y = v.data, float(t[index])
        log_p = math.log(x) if x > 0 else -math.inf
        log_q = math.log1p(-x) if x < 1 else -math.inf
        loss = -(y * max(log_p, -100.0) + (1.0 - y) * max(log_q, -100.0))
        terms[index] = _loss_node(loss, v, (x - y) / max(x * (1.0 - x), 1e-12))
    return Tensor._wrap(terms, probs).mean()


class Linear:
    """``x @ weight + bias`` on object arrays of Values (contract: starter)."""

    def __init__(
        self, in_features: int, out_features: int, *, bias: bool = True, seed: int = 0
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError("in_features and out_features must be positive")
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
        y = x @ self.weight
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
            raise ValueError("sizes needs an input and an output width")
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
    """torch.optim.SGD's update, Value by Value, bumping each parameter's version (contract:
    starter)."""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0) -> None:
        self.params = list(params)
        self.lr, self.momentum = lr, momentum
        self._velocity: list[Array | None] = [None] * len(self.params)

    def step(self) -> None:
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            previous = self._velocity[k]
            v = p.grad if previous is None else self.momentum * previous + p.grad
            self._velocity[k] = v
            for index, node in np.ndenumerate(p._nodes):
                node.data -= self.lr * float(v[index])
            p._version += 1

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()
