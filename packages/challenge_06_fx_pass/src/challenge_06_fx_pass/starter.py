"""Challenge 06 - FX graph passes. YOUR FILE: fill in every TODO.

A ``torch.fx.GraphModule`` is a module plus a ``Graph``: a list of ``Node``s in execution
order. Each node has an ``op`` - ``placeholder`` (an input), ``get_attr`` (read a parameter or
buffer), ``call_module`` (call a submodule, ``target`` is its dotted name), ``call_function``
(``target`` is the function, e.g. ``torch.relu`` or ``operator.add``), ``call_method``
(``target`` is a method name, e.g. ``"relu"``), ``output`` - plus ``args``/``kwargs`` (which
hold other nodes and literals) and ``users`` (the nodes that read it). Print ``gm.graph`` to see
one; ``models.trace(model)`` (``torch.fx.symbolic_trace``) makes one from a model.

The editing toolkit: ``node.replace_all_uses_with(other)``, ``gm.graph.erase_node(node)``,
``with gm.graph.inserting_before(node): gm.graph.get_attr(name)``, ``gm.add_submodule(name,
module)``, ``gm.register_buffer(name, tensor)``, ``gm.get_submodule(target)``, then
``gm.graph.lint()`` and ``gm.recompile()`` (regenerates ``gm.forward`` from the graph).

Contract for every pass: take a GraphModule, return one computing the same outputs, and never
change the GraphModule (or model) you were given - copy first (``_copy`` below, a deep copy: the
result shares no module, parameter or buffer with its input, so ``result.half()`` or running a
training-mode BatchNorm in the result leaves the model alone). A pass that has nothing to do
returns an equivalent graph, and running a pass twice gives the same graph as running it once.

Purity - what a pass may drop, merge or precompute - is the heart of tasks 3-5. A node has an
effect beyond its value when it:
- writes in place: a method or function name ending in ``_`` (``add_``, ``relu_``),
  ``inplace=True`` (by keyword or position), a module with ``inplace=True``, ``operator.setitem``
  and the augmented operators (``operator.iadd``...), an ``out=`` keyword;
- draws random numbers: ``torch.rand*``, ``bernoulli``, ``normal_``, ``F.dropout``, and a module
  in training mode with dropout anywhere inside it (``nn.Dropout``, ``nn.MultiheadAttention``,
  ``nn.TransformerEncoderLayer``, an RNN with ``dropout > 0``);
- updates module state: a training-mode BatchNorm with ``track_running_stats`` (its running
  statistics), anywhere inside the module called;
- has effects outside the graph: ``print``, ``torch._assert``, grad-mode switches;
- is unknown: a module from outside ``torch.nn``, or a function from outside torch, Python's
  ``operator``, ``math`` and builtins (a function of yours kept as one call by
  ``torch.fx.wrap``). Unknown modules and unknown functions are treated alike: as impure.
``prep test 06 --task K`` runs one task's tests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.fx as fx

from challenge_06_fx_pass.results import PassResult

# Also yours to use: challenge_06_fx_pass.fused.{Activation, LinearActivation} (task 2) and
# challenge_06_fx_pass.results.{PassRecord, PassVerificationError} (task 6).

__all__ = [
    "PassManager",
    "eliminate_common_subexpressions",
    "eliminate_dead_code",
    "fold_constants",
    "fold_conv_bn",
    "fuse_linear_activation",
]

GraphPass = Callable[[fx.GraphModule], fx.GraphModule]
Backend = Callable[[fx.GraphModule, list[torch.Tensor]], Callable[..., Any]]


def _copy(gm: object) -> fx.GraphModule:
    """A deep copy of ``gm`` to edit freely, after checking it is a GraphModule. (Given.)

    Raises:
        TypeError: ``gm`` is not a ``torch.fx.GraphModule``.
    """
    if not isinstance(gm, fx.GraphModule):
        raise TypeError(f"gm must be a torch.fx.GraphModule, got {type(gm).__name__}")
    return copy.deepcopy(gm)


def fold_conv_bn(gm: fx.GraphModule) -> fx.GraphModule:
    """Fold every eval-mode ``BatchNorm2d`` into the ``Conv2d`` that feeds it.

    In eval mode BN is an affine map per channel c: y = (x - mean_c) / sqrt(var_c + eps) *
    gamma_c + beta_c. With s_c = gamma_c / sqrt(var_c + eps), conv followed by BN is one conv
    with weight W[c] * s_c and bias (b_c - mean_c) * s_c + beta_c (b = 0 when the conv has none).

    Fold only when: the BN's module is in eval mode (``not bn.training``) with running
    statistics; its single input is a ``call_module`` node of an ``nn.Conv2d`` whose output
    nobody else reads. Put the folded conv under a new submodule name (the original conv may be
    called elsewhere), point the conv node at it, make the BN's readers read the conv node,
    erase the BN node.

    Args:
        gm: a module-level graph from ``torch.fx.symbolic_trace``. Not modified.

    Returns:
        A new GraphModule with one node fewer per folded pair.

    Raises:
        TypeError: ``gm`` is not a ``torch.fx.GraphModule``.
    """
    raise NotImplementedError(
        "TODO(06.1): fold eval-mode BatchNorm into the preceding Conv2d - see README task 1"
    )


def fuse_linear_activation(gm: fx.GraphModule) -> fx.GraphModule:
    """Replace ``nn.Linear`` followed by ReLU or GELU with one ``LinearActivation`` module.

    The activation may appear as a module (``nn.ReLU``, ``nn.GELU(approximate=...)``), a
    function (``F.relu``, ``torch.relu``, ``F.gelu(x, approximate=...)``) or a method
    (``x.relu()``); keep GELU's ``approximate`` mode (``Activation.gelu(approximate)``). Fuse
    only when the linear's output has no other reader.

    Args:
        gm: a module-level graph from ``torch.fx.symbolic_trace``. Not modified.

    Returns:
        A new GraphModule with one ``call_module`` node per fused pair.

    Raises:
        TypeError: ``gm`` is not a ``torch.fx.GraphModule``.
    """
    raise NotImplementedError(
        "TODO(06.2): fuse nn.Linear + ReLU/GELU into LinearActivation - see README task 2"
    )


def eliminate_dead_code(gm: fx.GraphModule) -> fx.GraphModule:
    """Remove nodes whose values nobody reads and whose execution has no other effect.

    Keep, although unread: placeholders and the output, and every node with an effect (the
    module docstring's list): in-place ops, random ops (each draw advances the generator the
    later draws depend on, a training-mode ``nn.MultiheadAttention`` included), training-mode
    BatchNorm (running statistics), side-effecting calls, unknown modules and functions. An
    unread ``nn.Dropout`` or attention block in eval mode has no effect and goes. Submodules no
    node calls any more are deleted.

    Args:
        gm: any FX graph. Not modified.

    Returns:
        A new GraphModule without the dead nodes (chains of them included).

    Raises:
        TypeError: ``gm`` is not a ``torch.fx.GraphModule``.
    """
    raise NotImplementedError(
        "TODO(06.3): remove unread nodes that have no side effects - see README task 3"
    )


def fold_constants(gm: fx.GraphModule) -> fx.GraphModule:
    """Precompute every pure computation that depends only on parameters, buffers and literals.

    A node is constant when it is a ``get_attr`` of state no module call of the graph may write
    (not a buffer of a training-mode BatchNorm the graph calls), or a deterministic,
    side-effect-free ``call_function``/``call_method`` whose input nodes are all constant.
    Evaluate the constant nodes, and replace each constant tensor that a non-constant node
    reads by a ``get_attr`` of a new buffer; then erase the constant nodes nobody reads any
    more. Never fold: random ops; anything when the graph writes to a constant in place (the
    folded value would be stale after the first call); a value the graph returns, or one it
    returns a view of (the caller owns the result and may write to it: a folded value would be
    the same buffer on every call).

    Args:
        gm: any FX graph. Not modified.

    Returns:
        A new GraphModule computing the same outputs with fewer nodes.

    Raises:
        TypeError: ``gm`` is not a ``torch.fx.GraphModule``.
    """
    raise NotImplementedError(
        "TODO(06.4): precompute parameter-only subgraphs into buffers - see README task 4"
    )


def eliminate_common_subexpressions(gm: fx.GraphModule) -> fx.GraphModule:
    """Merge nodes that compute the same value: same ``op``, same ``target``, same ``args`` and
    same ``kwargs`` (literals compared with their types: ``1``, ``1.0`` and ``True`` differ).

    Never merge random ops or side-effecting ones. After any op that may mutate a tensor
    (``y.mul_(2)``) forget everything seen so far: ``y.sum()`` before and after differ. And never
    merge a node whose value is written in place anywhere in the graph, directly or through an
    alias (a view such as ``view``/``reshape``/``transpose``/``getitem``/``to``, or what the node
    is itself a view of): ``a = x.clone(); b = x.clone(); a.add_(1); b.mul_(2)`` must stay two
    tensors, however alike the two clones look when they are created.

    Args:
        gm: any FX graph. Not modified.

    Returns:
        A new GraphModule where every repeat reads the first occurrence instead.

    Raises:
        TypeError: ``gm`` is not a ``torch.fx.GraphModule``.
    """
    raise NotImplementedError(
        "TODO(06.5): merge nodes with equal op, target, args and kwargs - see README task 5"
    )


class PassManager:
    """Run graph passes in order, checking after each that the outputs did not change.

    Args:
        passes: callables ``GraphModule -> GraphModule``, run in order.
        verify: run the graph on the sample inputs before the first pass and after each one;
            raise ``PassVerificationError`` naming the first pass that changed an output.
        rtol, atol: the tolerance of that check (``torch.isclose`` semantics).

    Raises:
        TypeError: ``passes`` is not a sequence of callables, or ``verify`` is not a bool.
        ValueError: a tolerance is negative or not finite.
    """

    def __init__(
        self,
        passes: Sequence[GraphPass],
        verify: bool = True,
        *,
        rtol: float = 1e-4,
        atol: float = 1e-5,
    ) -> None:
        raise NotImplementedError(
            "TODO(06.6): validate and store the passes and settings - see README task 6"
        )

    def run(self, gm: fx.GraphModule, example_inputs: Sequence[Any] = ()) -> PassResult:
        """Apply the passes to ``gm`` and report what each did.

        Args:
            gm: the graph to transform.
            example_inputs: one value per placeholder of ``gm``; needed when ``verify`` is on.
                Every verification run must start from the same state and leave none behind:
                clone the tensors (a graph may write to its inputs), fix the random seed (a
                graph may draw random numbers), and run a deep copy of the graph module (a
                traced graph calls the model's own modules, and a training-mode BatchNorm
                would update the model's running statistics on every run). The caller's
                inputs and model are unchanged afterwards.

        Returns:
            ``PassResult(graph_module, records)``: one ``PassRecord(name, nodes_before,
            nodes_after, seconds, max_abs_error)`` per pass, in order; also appended to
            ``self.history``.

        Raises:
            TypeError: ``gm`` is not a GraphModule, or a pass returned something else.
            ValueError: ``verify`` is on and ``example_inputs`` does not match the inputs.
            PassVerificationError: a pass changed an output beyond the tolerance.
        """
        raise NotImplementedError(
            "TODO(06.6): run each pass, time it, count nodes, verify outputs - see README task 6"
        )

    def as_backend(self) -> Backend:
        """A ``torch.compile`` backend: ``torch.compile(model, backend=pm.as_backend())``.

        TorchDynamo calls a backend as ``backend(gm, example_inputs)`` once per captured graph
        and uses the callable it returns in place of that graph.
        """
        raise NotImplementedError(
            "TODO(06.6): return a backend running the passes on Dynamo's graph - see README task 6"
        )
