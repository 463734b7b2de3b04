"""Challenge 06 - FX graph passes: the baseline (simple and obviously correct).

The contract of every function is in ``starter.py``. Each pass deep-copies the GraphModule
(weights included) and edits the copy. DCE repeats whole-graph sweeps until nothing changes;
CSE compares every node with every earlier one. Both are quadratic in the worst case and fine
for small graphs; ``solution.py`` does each in one sweep. Where mutation makes a pass subtle,
the baseline declines instead of reasoning: CSE and constant folding do nothing at all on a
graph that writes anything in place."""

from __future__ import annotations

import copy
import operator
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F  # noqa: N812 - the universal spelling
from torch import nn
from torch.fx.node import Node, map_arg
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd
from torch.utils import _pytree as pytree

from challenge_06_fx_pass.fused import Activation, LinearActivation
from challenge_06_fx_pass.results import PassRecord, PassResult, PassVerificationError

__all__ = [
    "PassManager",
    "eliminate_common_subexpressions",
    "eliminate_dead_code",
    "fold_constants",
    "fold_conv_bn",
    "fuse_linear_activation",
]

GraphPass = Callable[[fx.GraphModule], fx.GraphModule]


def _copy(gm: object) -> fx.GraphModule:
    if not isinstance(gm, fx.GraphModule):
        raise TypeError(f"gm must be a torch.fx.GraphModule, got {type(gm).__name__}")
    return copy.deepcopy(gm)


def _done(gm: fx.GraphModule) -> fx.GraphModule:
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm


def _new_name(gm: fx.GraphModule, base: str) -> str:
    k = 0
    while hasattr(gm, f"{base.replace('.', '_')}_{k}"):
        k += 1
    return f"{base.replace('.', '_')}_{k}"


def _submodule(gm: fx.GraphModule, node: object) -> nn.Module | None:
    if isinstance(node, Node) and node.op == "call_module" and isinstance(node.target, str):
        return gm.get_submodule(node.target)
    return None


_SIDE_EFFECTS = {"print", "_assert", "setitem", "iadd", "isub", "imul", "itruediv",
                 "_set_grad_enabled"}  # fmt: skip
_RANDOM = {"bernoulli", "normal", "uniform", "exponential", "cauchy", "geometric", "log_normal",
           "multinomial", "poisson", "dropout"}  # fmt: skip


def _is_random(gm: fx.GraphModule, node: Node) -> bool:
    if node.op not in ("call_function", "call_method", "call_module"):
        return False
    module = _submodule(gm, node)
    if module is not None:  # dropout anywhere inside, e.g. in a TransformerEncoderLayer
        return any(
            m.training
            and (isinstance(m, _DropoutNd) or isinstance(getattr(m, "dropout", None), float))
            for m in module.modules()
        )
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    return name.startswith("rand") or name.rstrip("_") in _RANDOM


def _mutates(gm: fx.GraphModule, node: Node) -> bool:
    """In-place ops, side effects, and calls that update state or may (modules and functions
    from outside torch and Python's operators)."""
    if node.op in ("placeholder", "output"):
        return True
    if node.op == "get_attr":
        return False
    module = _submodule(gm, node)
    if module is not None:
        for m in module.modules():
            if getattr(m, "inplace", False) or (isinstance(m, _BatchNorm) and m.training):
                return True
        torch_nn = type(module).__module__.startswith("torch.nn.")
        return not (torch_nn or isinstance(module, LinearActivation))
    if node.op == "call_function":
        where = str(getattr(node.target, "__module__", None) or "")
        if where.split(".")[0] not in ("torch", "_operator", "math", "builtins"):
            return True  # a function of yours kept as one call: it may do anything
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    in_place = name.endswith("_") and not name.endswith("__")
    return in_place or name in _SIDE_EFFECTS or node.kwargs.get("inplace") is True


# --- task 1 -----------------------------------------------------------------------------------


def fold_conv_bn(gm: fx.GraphModule) -> fx.GraphModule:
    """Fold each eval-mode ``BatchNorm2d`` into the ``Conv2d`` feeding it, in float32."""
    gm = _copy(gm)
    for node in list(gm.graph.nodes):
        bn = _submodule(gm, node)
        if not isinstance(bn, nn.BatchNorm2d) or bn.training or bn.running_var is None:
            continue
        conv_node = node.args[0]
        conv = _submodule(gm, conv_node)
        if type(conv) is not nn.Conv2d or len(conv_node.users) != 1:
            continue
        assert isinstance(conv, nn.Conv2d)
        assert isinstance(conv_node, Node)
        assert bn.running_mean is not None
        fused = copy.deepcopy(conv)
        with torch.no_grad():
            zeros = torch.zeros_like(bn.running_mean)
            gamma = bn.weight if bn.weight is not None else zeros + 1  # affine=False: 1 and 0
            beta = bn.bias if bn.bias is not None else zeros
            scale = gamma / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
            old_bias = conv.bias if conv.bias is not None else zeros
            fused.weight = nn.Parameter(conv.weight * scale[:, None, None, None])
            fused.bias = nn.Parameter((old_bias - bn.running_mean) * scale + beta)
        name = _new_name(gm, str(conv_node.target))
        gm.add_submodule(name, fused)
        conv_node.target = name
        node.replace_all_uses_with(conv_node)
        gm.graph.erase_node(node)
    return _done(gm)


# --- task 2 -----------------------------------------------------------------------------------


def _activation(gm: fx.GraphModule, node: Node) -> Activation | None:
    module = _submodule(gm, node)
    if isinstance(module, nn.ReLU):
        return Activation.RELU
    if isinstance(module, nn.GELU):
        return Activation.gelu(module.approximate)
    if node.op == "call_method" and node.target in ("relu", "relu_"):
        return Activation.RELU
    if node.op == "call_function" and node.target in (F.relu, torch.relu, torch.relu_):
        return Activation.RELU
    if node.op == "call_function" and node.target is F.gelu:
        return Activation.gelu(str(node.kwargs.get("approximate", "none")))
    return None


def fuse_linear_activation(gm: fx.GraphModule) -> fx.GraphModule:
    """Match each activation form, then check its input is a single-reader ``nn.Linear``."""
    gm = _copy(gm)
    for node in list(gm.graph.nodes):
        activation = _activation(gm, node)
        if activation is None or not node.args:
            continue
        linear_node = node.args[0]
        linear = _submodule(gm, linear_node)
        if type(linear) is not nn.Linear or len(linear_node.users) != 1:
            continue
        assert isinstance(linear, nn.Linear)
        assert isinstance(linear_node, Node)
        name = _new_name(gm, f"{linear_node.target}_{activation.value}")
        gm.add_submodule(name, LinearActivation(linear, activation))
        linear_node.target = name
        node.replace_all_uses_with(linear_node)
        gm.graph.erase_node(node)
    return _done(gm)


# --- task 3 -----------------------------------------------------------------------------------


def eliminate_dead_code(gm: fx.GraphModule) -> fx.GraphModule:
    """Remove unread nodes without side effects, sweeping until nothing changes."""
    gm = _copy(gm)
    changed = True
    while changed:
        changed = False
        for node in list(gm.graph.nodes):
            if not node.users and not _mutates(gm, node) and not _is_random(gm, node):
                gm.graph.erase_node(node)
                changed = True
    return _done(gm)


# --- task 4 -----------------------------------------------------------------------------------


def fold_constants(gm: fx.GraphModule) -> fx.GraphModule:
    """Evaluate every constant node, then fold those a non-constant node reads; nothing at
    all when the graph writes anything in place."""
    gm = _copy(gm)
    if any(_mutates(gm, n) for n in gm.graph.nodes if n.op not in ("placeholder", "output")):
        return _done(gm)  # something is written in place: do not reason about it, fold nothing
    values: dict[Node, Any] = {}
    with torch.no_grad():
        for node in gm.graph.nodes:
            if node.op == "get_attr":
                values[node] = operator.attrgetter(str(node.target))(gm)
            elif (
                node.op in ("call_function", "call_method")
                and all(n in values for n in node.all_input_nodes)
                and not _is_random(gm, node)
            ):
                args = map_arg(node.args, lambda n: values[n])
                kwargs = map_arg(node.kwargs, lambda n: values[n])
                if node.op == "call_method":
                    values[node] = getattr(args[0], str(node.target))(*args[1:], **kwargs)
                else:
                    values[node] = node.target(*args, **kwargs)
    # A constant the graph returns, and every constant it is computed from, stays computed on
    # each call: folded, it would be one buffer (or a view of one) that the caller may write to.
    kept: set[Node] = set()
    for node in reversed(list(gm.graph.nodes)):
        if node.op == "output" or node in kept:
            kept.update(n for n in node.all_input_nodes if n in values)
    for node in kept:
        values.pop(node)
    for node in list(gm.graph.nodes):
        value = values.get(node)
        readers_not_constant = any(u not in values for u in node.users)
        if node.op != "get_attr" and isinstance(value, torch.Tensor) and readers_not_constant:
            name = _new_name(gm, "_folded")
            gm.register_buffer(name, value.detach())
            with gm.graph.inserting_before(node):
                node.replace_all_uses_with(gm.graph.get_attr(name))
    for node in reversed(list(gm.graph.nodes)):
        if node in values and not node.users:
            gm.graph.erase_node(node)
    return _done(gm)


# --- task 5 -----------------------------------------------------------------------------------


def _literal_types(value: Any) -> Any:
    """The argument structure with the type of every literal next to it (1 and 1.0 differ)."""
    if isinstance(value, Node):
        return value
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_literal_types(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple((k, _literal_types(v)) for k, v in sorted(value.items())))
    return (type(value), repr(value))


def _signature(node: Node) -> tuple[Any, ...]:
    return (node.op, node.target, _literal_types(node.args), _literal_types(node.kwargs))


def eliminate_common_subexpressions(gm: fx.GraphModule) -> fx.GraphModule:
    """Compare each node with every earlier one; nothing at all when the graph writes
    anything in place (which merges are then safe depends on aliasing)."""
    gm = _copy(gm)
    if any(_mutates(gm, n) for n in gm.graph.nodes if n.op not in ("placeholder", "output")):
        # Something is written in place: which merges are safe then depends on which tensors
        # share memory with the one written. Do not reason about it: merge nothing.
        return _done(gm)
    earlier: list[Node] = []
    for node in list(gm.graph.nodes):
        if node.op in ("placeholder", "output"):
            continue
        if _is_random(gm, node) or any(
            isinstance(v, torch.Tensor) for v in pytree.tree_leaves((node.args, node.kwargs))
        ):
            continue
        for other in earlier:
            if _signature(other) == _signature(node):
                node.replace_all_uses_with(other)
                gm.graph.erase_node(node)
                break
        else:
            earlier.append(node)
    return _done(gm)


# --- task 6 -----------------------------------------------------------------------------------


def _outputs(gm: fx.GraphModule, inputs: Sequence[Any]) -> list[Any]:
    """The outputs of a private copy of ``gm`` (its modules may update state, e.g. BatchNorm
    statistics) on copies of the inputs (it may write to them), under a fixed seed."""
    private = copy.deepcopy(gm)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(0)
        out = private(*[x.clone() if isinstance(x, torch.Tensor) else x for x in inputs])
    return list(pytree.tree_leaves(out))


class PassManager:
    """Run the passes, comparing outputs with ``torch.allclose`` after each; every run
    uses a deep copy of the graph, cloned inputs and seed 0."""

    def __init__(
        self,
        passes: Sequence[GraphPass],
        verify: bool = True,
        *,
        rtol: float = 1e-4,
        atol: float = 1e-5,
    ) -> None:
        given: object = passes  # checked at run time: callers need not be typed
        if not isinstance(given, Sequence) or not all(callable(p) for p in given):
            raise TypeError("passes must be a sequence of callables GraphModule -> GraphModule")
        if not isinstance(verify, bool):
            raise TypeError(f"verify must be a bool, got {type(verify).__name__}")
        if not (rtol >= 0 and atol >= 0):
            raise ValueError("rtol and atol must be >= 0")
        self.passes = list(passes)
        self.verify = verify
        self.rtol, self.atol = rtol, atol
        self.history: list[PassResult] = []

    def run(self, gm: fx.GraphModule, example_inputs: Sequence[Any] = ()) -> PassResult:
        """Apply the passes; return the final graph and one record per pass."""
        if not isinstance(gm, fx.GraphModule):
            raise TypeError(f"gm must be a torch.fx.GraphModule, got {type(gm).__name__}")
        n_inputs = sum(1 for n in gm.graph.nodes if n.op == "placeholder")
        if self.verify and len(example_inputs) != n_inputs:
            raise ValueError(
                f"example_inputs: the graph takes {n_inputs} inputs, got {len(example_inputs)}"
            )
        expected = _outputs(gm, example_inputs) if self.verify else []
        records = []
        for graph_pass in self.passes:
            name = getattr(graph_pass, "__name__", type(graph_pass).__name__)
            before = len(gm.graph.nodes)
            start = time.perf_counter()
            new_gm = graph_pass(gm)
            seconds = time.perf_counter() - start
            if not isinstance(new_gm, fx.GraphModule):
                raise TypeError(f"pass {name} returned {type(new_gm).__name__}, not a GraphModule")
            error = None
            if self.verify:
                error = 0.0
                got = _outputs(new_gm, example_inputs)
                if len(got) != len(expected):
                    raise PassVerificationError(name, "the number of outputs changed")
                for a, b in zip(got, expected, strict=True):
                    same = isinstance(a, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype
                    if not same or not torch.allclose(a, b, rtol=self.rtol, atol=self.atol):
                        raise PassVerificationError(name, "an output differs")
                    if a.is_floating_point() and a.numel():
                        error = max(error, float((a - b).abs().max()))
            records.append(PassRecord(name, before, len(new_gm.graph.nodes), seconds, error))
            gm = new_gm
        result = PassResult(gm, tuple(records))
        self.history.append(result)
        return result

    def as_backend(self) -> Callable[[fx.GraphModule, list[torch.Tensor]], Callable[..., Any]]:
        """``torch.compile(model, backend=pm.as_backend())``: run the passes on each graph."""

        def backend(gm: fx.GraphModule, example_inputs: list[torch.Tensor]) -> Callable[..., Any]:
            return self.run(gm, example_inputs).graph_module

        return backend
