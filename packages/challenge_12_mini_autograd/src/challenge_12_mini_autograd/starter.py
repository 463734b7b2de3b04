"""Challenge 12 - mini autograd. YOUR FILE: fill in every TODO.

A ``Tensor`` holds a float64 numpy array (``.data``), and when ``requires_grad`` is set it
records how it was computed: ``_parents`` (the input tensors) and ``_backward`` (a function that
maps the gradient of the output to one gradient per parent - the op's local chain rule).
``Tensor._result`` builds such an output for you. ``backward()`` then walks the graph from the
output to the leaves and fills ``.grad``.

Run the tests with ``uv run prep test 12`` (add ``--task K`` for one task) and compare with
``torch.autograd``: the tests do exactly that. The README's "Tasks" section explains each TODO.

This file is the specification: the docstrings below state every signature, shape rule and
error; ``baseline.py`` and ``solution.py`` only say how they differ in approach.

Semantics to keep (the same as torch unless noted):
- Data is float64 and ``Tensor(x)`` copies ``x`` (a Tensor, array or list); Python numbers
  and array-likes mix into ops as constants.
- Broadcasting follows numpy; a broadcast operand's gradient is summed back to its shape.
- A tensor used twice accumulates both contributions; leaf gradients accumulate across
  ``backward()`` calls until ``zero_grad()`` sets ``grad`` to ``None``. Unlike torch, non-leaf
  tensors keep the gradient of the last pass too (handy for debugging).
- ``backward()`` frees the graph it ran through (each op's saved arrays) unless
  ``retain_graph=True``; a second ``backward()`` through a freed graph is a ``RuntimeError``.
- Every tensor has a ``_version`` that each in-place update of its ``data`` bumps
  (``SGD.step`` does); ``Tensor._result`` records the parents' versions, and ``backward()``
  refuses (``RuntimeError``) a graph whose saved inputs changed since: their gradients would
  silently use the new values.
- ``log`` of 0 is ``-inf`` and of a negative number ``nan`` (no exception), as in torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
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
# An op's local rule: d(loss)/d(output) -> one d(loss)/d(parent) per parent (None: no gradient).
Backward = Callable[[Array], tuple[Array | None, ...]]


def _to_array(data: Any, name: str = "data") -> Array:
    """A float64 copy of ``data``; reject what is not a real number. (Given.)"""
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
    """Sum ``grad`` back to ``shape``: over the leading axes broadcasting added, and (keeping
    the axis) over every axis where ``shape`` has 1 but ``grad`` does not.

    Example: an operand of shape (3, 1) added to one of shape (2, 3, 4) gets a gradient of
    shape (2, 3, 4); summing axis 0, then axis 2 with keepdims, gives back (3, 1).
    """
    raise NotImplementedError(
        "TODO(12.2): sum grad back to the operand's shape - see README task 2"
    )


def _graph_freed(g: Array) -> tuple[Array | None, ...]:
    """The ``_backward`` to give a node once ``backward()`` has freed it. (Given.)"""
    raise RuntimeError(
        "backward() through a graph a second time: the first backward() freed the arrays it "
        "saved; pass retain_graph=True to the first call to keep them"
    )


class Tensor:
    """An n-dimensional float64 array that records the operations applied to it.

    Args:
        data: numbers, nested lists, a numpy array of real numbers or a Tensor (copied to
            float64: the new tensor never shares memory with ``data``).
        requires_grad: track operations on this tensor so ``backward`` can fill ``grad``.

    Raises:
        TypeError: ``data`` is not real numbers, or ``requires_grad`` is not a bool.
    """

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

    # ---- given: construction helpers -----------------------------------------------------

    @staticmethod
    def _lift(value: Any) -> Tensor:
        """Wrap a Python number or array as a constant tensor."""
        return value if isinstance(value, Tensor) else Tensor(value)

    @staticmethod
    def _result(data: Array, parents: tuple[Tensor, ...], backward: Backward) -> Tensor:
        """The output of an op: it joins the graph only when a parent needs a gradient.

        ``backward(g)`` must return one gradient per parent, each of that parent's shape.
        """
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

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Fill ``grad`` of every tensor this one depends on with d(self)/d(tensor).

        Order the graph topologically WITHOUT recursion (an explicit stack: graphs can be
        100,000 nodes deep; raising the recursion limit is not the fix), seed d(self)/d(self)
        with ``grad`` (or 1 for a one-element tensor), then call each node's ``_backward`` from
        the output towards the leaves, summing the gradients that reach a node along different
        paths. Leaves (no ``_backward``) add the result to their ``grad``; other nodes keep
        this pass's gradient.

        Before any ``_backward`` runs, compare each node's ``_saved_versions`` with its
        parents' current ``_version``: a difference means an input was modified in place after
        the op saved it. Unless ``retain_graph``, free each node once its ``_backward`` has
        run: ``_backward = _graph_freed``, ``_parents = ()``, ``_saved_versions = ()`` (the
        saved arrays go with the closure; a later pass through the node raises).

        Args:
            grad: d(loss)/d(self), same shape as ``self``; optional for a one-element tensor.
            retain_graph: keep the graph, so ``backward()`` can run through it again.

        Raises:
            ValueError: ``self`` does not require grad, or has more than one element and no
                ``grad`` was given, or ``grad`` has the wrong shape.
            RuntimeError: the graph was freed by an earlier ``backward()``, or a tensor an op
                saved was modified in place since (its ``_version`` changed).
        """
        raise NotImplementedError(
            "TODO(12.1): topological sort and the backward pass - see README task 1"
        )

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``). (Given.)"""
        self.grad = None

    # ---- task 2: elementwise arithmetic with broadcasting --------------------------------

    def __add__(self, other: Any) -> Tensor:
        raise NotImplementedError("TODO(12.2): a + b and its local backward - see README task 2")

    def __radd__(self, other: Any) -> Tensor:
        return Tensor._lift(other) + self

    def __neg__(self) -> Tensor:
        raise NotImplementedError("TODO(12.2): -a and its local backward - see README task 2")

    def __sub__(self, other: Any) -> Tensor:
        raise NotImplementedError("TODO(12.2): a - b and its local backward - see README task 2")

    def __rsub__(self, other: Any) -> Tensor:
        return Tensor._lift(other) - self

    def __mul__(self, other: Any) -> Tensor:
        raise NotImplementedError("TODO(12.2): a * b and its local backward - see README task 2")

    def __rmul__(self, other: Any) -> Tensor:
        return Tensor._lift(other) * self

    def __truediv__(self, other: Any) -> Tensor:
        raise NotImplementedError("TODO(12.2): a / b and its local backward - see README task 2")

    def __rtruediv__(self, other: Any) -> Tensor:
        return Tensor._lift(other) / self

    def __pow__(self, exponent: float) -> Tensor:
        """``self ** exponent`` for a Python number ``exponent``.

        The gradient is ``p * x ** (p - 1)``, except that ``p = 0`` gives 0 everywhere (as
        torch does; the formula would give ``0 * inf = nan`` at ``x = 0``).

        Raises:
            TypeError: ``exponent`` is a tensor, array or anything but a real number.
        """
        raise NotImplementedError("TODO(12.2): a ** p for a number p - see README task 2")

    # ---- task 3: elementwise functions ---------------------------------------------------

    def relu(self) -> Tensor:
        raise NotImplementedError("TODO(12.3): max(x, 0) and its gradient - see README task 3")

    def tanh(self) -> Tensor:
        raise NotImplementedError(
            "TODO(12.3): tanh and its gradient 1 - tanh^2 - see README task 3"
        )

    def exp(self) -> Tensor:
        raise NotImplementedError("TODO(12.3): exp and its gradient - see README task 3")

    def log(self) -> Tensor:
        """Natural log; ``log(0) = -inf`` and ``log(x < 0) = nan``, as in torch."""
        raise NotImplementedError("TODO(12.3): log and its gradient 1/x - see README task 3")

    def sigmoid(self) -> Tensor:
        raise NotImplementedError("TODO(12.3): a sigmoid that cannot overflow - see README task 3")

    # ---- task 4: reductions, shape ops and matmul ----------------------------------------

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (an int, a sequence of ints, or ``None`` for all axes)."""
        raise NotImplementedError(
            "TODO(12.4): sum and its gradient (broadcast back) - see README task 4"
        )

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis``; the mean of zero elements is an error."""
        raise NotImplementedError("TODO(12.4): mean, built from sum - see README task 4")

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """``reshape(2, 3)`` or ``reshape((2, 3))``; one dimension may be -1."""
        raise NotImplementedError("TODO(12.4): reshape and its gradient - see README task 4")

    def transpose(self, *axes: int) -> Tensor:
        """Permute the axes (``transpose()`` reverses them, as numpy does)."""
        raise NotImplementedError(
            "TODO(12.4): transpose and the inverse permutation - see README task 4"
        )

    def __matmul__(self, other: Any) -> Tensor:
        """Matrix product with numpy's rules: 1-D operands are promoted, batch axes broadcast.

        Raises:
            ValueError: a 0-d operand, or inner dimensions that differ.
        """
        raise NotImplementedError(
            "TODO(12.4): a @ b, grads g @ b.T and a.T @ g - see README task 4"
        )

    def __rmatmul__(self, other: Any) -> Tensor:
        return Tensor._lift(other) @ self


# ---- task 5: a tiny neural-network library ---------------------------------------------


def binary_cross_entropy_with_logits(logits: Tensor, targets: Any) -> Tensor:
    """Mean binary cross-entropy of ``sigmoid(logits)`` against 0/1 (or soft) targets,
    computed from the logits (``torch.nn.functional.binary_cross_entropy_with_logits``).

    Use the log-sum-exp form ``max(z, 0) - z t + log(1 + exp(-|z|))`` and the gradient
    ``(sigmoid(z) - t) / n``: neither passes through a probability, so a confidently wrong
    logit (z = 50, t = 0) still gets its full gradient, where ``binary_cross_entropy(
    z.sigmoid(), t)`` rounds sigmoid(50) to 1 and loses it.

    Args:
        logits: any shape, finite.
        targets: same shape, values in [0, 1]; constants (no gradient).

    Returns:
        A 0-d tensor.

    Raises:
        TypeError: ``logits`` is not a Tensor.
        ValueError: shapes differ, a logit is NaN or inf, or a target lies outside [0, 1].
    """
    raise NotImplementedError(
        "TODO(12.5): the log-sum-exp form and its gradient (sigmoid(z) - t) / n - see README task 5"
    )


def binary_cross_entropy(probs: Tensor, targets: Any) -> Tensor:
    """Mean binary cross-entropy of probabilities against 0/1 (or soft) targets.

    Match ``torch.nn.functional.binary_cross_entropy``: each log is clamped at -100, and the
    gradient is ``(p - t) / max(p (1 - p), 1e-12) / n``, so p = 0 or 1 gives a finite loss and
    a large finite gradient (not 0, not inf).

    Args:
        probs: probabilities in [0, 1], any shape.
        targets: same shape, values in [0, 1]; constants (no gradient).

    Returns:
        A 0-d tensor.

    Raises:
        TypeError: ``probs`` is not a Tensor.
        ValueError: shapes differ, or a value lies outside [0, 1] (or is NaN).
    """
    raise NotImplementedError("TODO(12.5): -mean(t log p + (1 - t) log(1 - p)) - see README task 5")


class Linear:
    """``y = x @ weight + bias`` with weight (in_features, out_features).

    Weights are drawn from U(-1/sqrt(in), 1/sqrt(in)), torch's default for nn.Linear. (The
    constructor is given.)
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
        raise NotImplementedError("TODO(12.5): x @ weight + bias - see README task 5")

    def parameters(self) -> list[Tensor]:
        raise NotImplementedError("TODO(12.5): the weight, and the bias if any - see README task 5")

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()


class MLP:
    """Linear layers of the given widths with ReLU between them (none after the last).

    ``MLP([2, 16, 16, 1])`` maps (N, 2) to (N, 1) logits; layer k uses ``seed=seed + k``.
    """

    def __init__(self, sizes: Sequence[int], *, seed: int = 0) -> None:
        raise NotImplementedError("TODO(12.5): one Linear per pair of widths - see README task 5")

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("TODO(12.5): Linear, ReLU, ..., Linear - see README task 5")

    def parameters(self) -> list[Tensor]:
        raise NotImplementedError("TODO(12.5): every layer's parameters - see README task 5")

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()


class SGD:
    """Stochastic gradient descent with optional momentum (torch.optim.SGD's update rule)."""

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD got no parameters")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum = float(lr), float(momentum)
        self._velocity: list[Array | None] = [None] * len(self.params)

    def step(self) -> None:
        """``v = momentum * v + grad; p -= lr * v`` for every parameter that has a gradient.

        Update ``p.data`` in place and bump ``p._version``, so a graph built on the old
        values refuses to backward (see ``Tensor.backward``).
        """
        raise NotImplementedError(
            "TODO(12.5): the SGD update, in place on p.data - see README task 5"
        )

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()
