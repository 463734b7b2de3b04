"""Challenge 06 - FX graph passes: the reference solution.

Every pass takes a ``torch.fx.GraphModule`` and returns a new one; the input is never changed.
Passes work on module-level graphs as ``torch.fx.symbolic_trace`` records them (``call_module``
for ``nn.Conv2d``/``nn.BatchNorm2d``/``nn.Linear``, ``call_function``/``call_method`` for the
rest). The structural passes (DCE, constant folding, CSE) also work on the flat graphs TorchDynamo
hands a ``torch.compile`` backend.

Design points (the README's "Complexity and trade-offs" has the reasoning); the contract of
every function is in ``starter.py``:

- Every pass deep-copies its input first (as ``torch.fx.experimental.optimization.fuse``
  does): the result shares no module, parameter or buffer with the model, so converting or
  running it cannot change the model. A pass that must change a module (folding a conv)
  attaches a new one under a fresh name.
- One sweep each: DCE walks the graph backwards once, CSE forwards once with a hash table.
- Purity is explicit and shared by all passes: in-place ops (``add_``, ``inplace=True``,
  ``operator.setitem``), random ops (dropout inside a training-mode composite module
  included), training-mode BatchNorm anywhere inside a module, torch's own list of
  side-effecting functions, and modules and functions from outside torch (unknown, so impure)
  are never dropped, merged or precomputed.
- CSE is alias-safe without functionalizing: a union-find over "may share memory" edges
  (views, ``to``, in-place ops, unknown calls) finds every node whose value may be written in
  place, and those are never merged.
- Beyond the tasks (not in ``__all__``: the starter has no TODO for it),
  ``fuse_conv_activation`` turns conv + ReLU/GELU into one oneDNN kernel on channels_last
  weights and restores the standard layout where a reader may depend on strides: the CPU pass
  that takes the pipeline to ``optimize_for_inference``'s speed.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import operator
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar, cast

import torch
import torch.fx as fx
import torch.nn.functional as F  # noqa: N812 - the universal spelling
from torch import nn
from torch.fx.node import Node, map_arg
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd
from torch.utils import _pytree as pytree

from challenge_06_fx_pass.fused import Activation, ConvActivation, LinearActivation
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
Backend = Callable[[fx.GraphModule, list[torch.Tensor]], Callable[..., Any]]

# ---------------------------------------------------------------------------------------------
# Shared plumbing


def _check_graph_module(gm: object) -> fx.GraphModule:
    if not isinstance(gm, fx.GraphModule):
        raise TypeError(
            f"gm must be a torch.fx.GraphModule (e.g. from torch.fx.symbolic_trace(model)), "
            f"got {type(gm).__name__}"
        )
    return gm


def _fresh_copy(gm: fx.GraphModule) -> fx.GraphModule:
    """A deep copy of ``gm``: graph, submodules, parameters and buffers (as
    ``torch.fx.experimental.optimization.fuse`` does by default). Anything done to the result
    later - ``.half()``, ``.to(device)``, running a training-mode BatchNorm - leaves ``gm`` and
    the model it was traced from as they were."""
    out = copy.deepcopy(gm)
    out.meta = dict(gm.meta)
    return out


def _finish(gm: fx.GraphModule, changed: bool) -> fx.GraphModule:
    if changed:
        gm.graph.lint()
        gm.delete_all_unused_submodules()
        gm.recompile()
    return gm


def _free_name(gm: fx.GraphModule, base: str) -> str:
    """A top-level attribute name of ``gm`` not yet taken, derived from ``base``."""
    base = base.replace(".", "_")
    name, k = base, 0
    while hasattr(gm, name):
        k += 1
        name = f"{base}_{k}"
    return name


def _module(modules: dict[str, nn.Module], node: Node) -> nn.Module | None:
    if node.op != "call_module" or not isinstance(node.target, str):
        return None
    return modules.get(node.target)


# ---------------------------------------------------------------------------------------------
# Purity: what a pass may drop, merge or precompute

_RANDOM_FUNCTIONS: frozenset[object] = frozenset(
    {
        torch.rand, torch.randn, torch.randint, torch.rand_like, torch.randn_like,
        torch.randint_like, torch.randperm, torch.bernoulli, torch.normal, torch.poisson,
        torch.multinomial, F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
        F.feature_alpha_dropout, F.rrelu, F.gumbel_softmax,
    }
)  # fmt: skip
_RANDOM_METHODS = frozenset(
    {"bernoulli", "bernoulli_", "normal_", "uniform_", "random_", "exponential_", "geometric_",
     "cauchy_", "log_normal_", "multinomial"}
)  # fmt: skip
_INPLACE_OPERATORS: frozenset[object] = frozenset(
    {operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ifloordiv,
     operator.imod, operator.ipow, operator.iand, operator.ior, operator.ixor, operator.ilshift,
     operator.irshift, operator.imatmul, operator.setitem}
)  # fmt: skip
# torch's own list (asserts, autocast and grad-mode switches, profiler ranges, ...) plus print.
_SIDE_EFFECT_FUNCTIONS: frozenset[object] = frozenset(
    {print, *getattr(fx.node, "_side_effectful_functions", ())}
)
# Modules outside torch.nn whose behaviour is known: the fused modules this challenge inserts.
_KNOWN_PURE_MODULES: tuple[type[nn.Module], ...] = (LinearActivation, ConvActivation)


@functools.lru_cache(maxsize=512)
def _signature(target: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):  # many builtins have none
        return None


def _inplace_flag(node: Node) -> bool:
    """``inplace=True`` by keyword, or by position to a Python function (``F.relu(x, True)``)."""
    if node.kwargs.get("inplace") is True:
        return True
    if node.op != "call_function" or not callable(node.target) or len(node.args) < 2:
        return False
    sig = _signature(node.target)
    if sig is None or "inplace" not in sig.parameters:
        return False
    try:
        bound = sig.bind(*node.args, **node.kwargs)
    except TypeError:
        return True  # cannot tell: assume the worst
    return bound.arguments.get("inplace") is True


def _op_name(node: Node) -> str:
    if node.op == "call_method":
        return str(node.target)
    return str(getattr(node.target, "__name__", ""))


def _is_random(node: Node, modules: dict[str, nn.Module]) -> bool:
    """Draws from a random generator: dropping, merging or precomputing it changes values."""
    if node.op == "call_module":
        module = _module(modules, node)
        return module is None or _submodule_draws(module)
    if node.op == "call_method":
        return node.target in _RANDOM_METHODS
    if node.op == "call_function":
        if node.target in _RANDOM_FUNCTIONS:
            return True
        tags = getattr(node.target, "tags", ())  # an aten OpOverload from torch.export/aot
        return torch.Tag.nondeterministic_seeded in tags
    return False


def _submodule_draws(module: nn.Module) -> bool:
    """``module`` or a submodule draws random numbers now: training-mode dropout (an
    ``nn.Dropout`` inside it, or the float ``dropout`` of ``nn.MultiheadAttention`` and the
    RNNs) or ``RReLU``."""
    for sub in module.modules():
        if not sub.training:
            continue
        if isinstance(sub, _DropoutNd) and sub.p > 0:
            return True
        if isinstance(sub, nn.RReLU):
            return True
        rate = getattr(sub, "dropout", None)
        if isinstance(rate, float) and rate > 0:
            return True
    return False


def _module_may_mutate(module: nn.Module | None) -> bool:
    """A call of ``module`` may write state: its own or a submodule's (``inplace=True``,
    training-mode BatchNorm statistics), or it is a module outside ``torch.nn`` whose effects
    are unknown (a leaf of a custom tracer)."""
    if module is None:
        return True  # a call_module whose target is gone: assume the worst
    for sub in module.modules():
        if getattr(sub, "_is_impure", False) or getattr(sub, "inplace", False) is True:
            return True
        if isinstance(sub, _BatchNorm) and sub.training and sub.track_running_stats:
            return True  # updates running_mean / running_var / num_batches_tracked
    # a user's leaf module may do anything: only torch.nn's own and ours are known
    in_torch_nn = type(module).__module__.startswith("torch.nn.")
    return not (in_torch_nn or isinstance(module, _KNOWN_PURE_MODULES))


# Where a call_function's target comes from decides whether its effects are known: torch's
# own functions, Python's operators, math and a few builtins are; a function of yours that FX
# keeps as a leaf (``torch.fx.wrap``) may do anything, exactly like a module of yours.
_KNOWN_FUNCTION_MODULES = ("torch", "_operator", "operator", "math", "builtins")


def _is_known_function(target: object) -> bool:
    if isinstance(target, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        return True
    module = getattr(target, "__module__", None) or ""
    root = module.split(".")[0]
    return root in _KNOWN_FUNCTION_MODULES


def _may_mutate(node: Node, modules: dict[str, nn.Module]) -> bool:
    """Writes to a tensor (or other state) some other node can see, or has an effect outside
    the graph (print, assert, grad mode), or is a call whose effects are unknown."""
    if node.op in ("placeholder", "output", "get_attr"):
        return node.op == "output"
    if node.op == "call_module":
        return _module_may_mutate(_module(modules, node))
    if node.op == "call_function" and (
        node.target in _SIDE_EFFECT_FUNCTIONS
        or node.target in _INPLACE_OPERATORS
        or not _is_known_function(node.target)
    ):
        return True
    schema = getattr(node.target, "_schema", None)  # aten OpOverload: the schema knows
    if schema is not None and getattr(schema, "is_mutable", False):
        return True
    name = _op_name(node)
    in_place_name = name.endswith("_") and not name.endswith("__")  # add_, relu_, copy_
    return in_place_name or _inplace_flag(node) or "out" in node.kwargs


def _has_side_effects(node: Node, modules: dict[str, nn.Module]) -> bool:
    """True when removing or merging ``node`` could change anything other than its own value."""
    if node.op in ("placeholder", "output"):
        return True
    return _may_mutate(node, modules) or _is_random(node, modules)


# Ops whose result may share memory with an input: views, ops that may return the input
# itself (``x.to(x.dtype)``, ``contiguous`` of a contiguous tensor, ``reshape``), and in-place
# ops (they return the tensor they wrote). Anything unknown may alias too.
_MAY_ALIAS_NAMES = frozenset(
    {"view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze",
     "transpose", "t", "permute", "movedim", "moveaxis", "swapaxes", "swapdims", "expand",
     "expand_as", "narrow", "select", "split", "split_with_sizes", "chunk", "unbind",
     "tensor_split", "hsplit", "vsplit", "dsplit", "as_strided", "diagonal", "unfold", "real",
     "imag", "view_as_real", "view_as_complex", "detach", "alias", "contiguous", "to", "type",
     "type_as", "float", "double", "half", "bfloat16", "int", "long", "bool", "cpu", "cuda",
     "getitem", "getattr", "identity", "dropout", "align_to", "refine_names", "rename"}
)  # fmt: skip


def _may_alias_input(node: Node, modules: dict[str, nn.Module]) -> bool:
    """Whether ``node``'s result may share memory with one of its tensor inputs."""
    if node.op == "call_module":
        module = _module(modules, node)
        return (
            module is None
            or isinstance(module, (nn.Identity, nn.Flatten, _DropoutNd))
            or (_module_may_mutate(module))
        )
    if node.op not in ("call_function", "call_method"):
        return False
    schema = getattr(node.target, "_schema", None)
    if schema is not None:  # an aten OpOverload says which outputs alias
        return any(r.alias_info is not None for r in schema.returns)
    if node.op == "call_function" and not _is_known_function(node.target):
        return True
    return _op_name(node).rstrip("_") in _MAY_ALIAS_NAMES or _may_mutate(node, modules)


def _written(node: Node, modules: dict[str, nn.Module]) -> list[Node]:
    """The nodes whose tensors ``node`` may write to (empty when it writes nothing)."""
    if not _may_mutate(node, modules) or node.op == "output":
        return []
    out = node.kwargs.get("out")
    if isinstance(out, Node):
        return [out]
    first = node.args[0] if node.args else None
    known_target = node.op == "call_method" or (
        node.op == "call_function" and _is_known_function(node.target)
    )
    if known_target and isinstance(first, Node):
        return [first]  # add_, relu(inplace=True), setitem: the first argument
    return list(node.all_input_nodes)  # a module or unknown function: any input


def _mutated_aliases(graph: fx.Graph, modules: dict[str, nn.Module]) -> set[Node]:
    """Every node whose value may be written in place somewhere in the graph: the tensors
    written, and every node that may share memory with one (views of it, what it is a view
    of). Conservative union-find over "may alias" edges."""
    parent: dict[Node, Node] = {}

    def find(n: Node) -> Node:
        while parent.get(n, n) is not n:
            n = parent[n]
        return n

    for node in graph.nodes:
        if _may_alias_input(node, modules):
            for source in node.all_input_nodes:
                parent[find(source)] = find(node)
    written = {find(w) for node in graph.nodes for w in _written(node, modules)}
    return {node for node in graph.nodes if find(node) in written}


# ---------------------------------------------------------------------------------------------
# Task 1: fold eval-mode BatchNorm into the preceding convolution

_CONV_FOR_BN: dict[type[nn.Module], type[nn.Module]] = {
    nn.BatchNorm1d: nn.Conv1d,
    nn.BatchNorm2d: nn.Conv2d,
    nn.BatchNorm3d: nn.Conv3d,
}


def _foldable_conv_bn(
    bn_node: Node, modules: dict[str, nn.Module]
) -> tuple[Node, nn.modules.conv._ConvNd, _BatchNorm] | None:
    """(conv node, conv, bn) when ``bn_node`` is an eval-mode BN whose only input is a conv
    output nobody else reads; else None."""
    bn = _module(modules, bn_node)
    conv_type = _CONV_FOR_BN.get(type(bn)) if bn is not None else None
    if conv_type is None or not isinstance(bn, _BatchNorm):
        return None
    if bn.training or bn.running_mean is None or bn.running_var is None:
        return None  # training BN normalises with batch statistics: nothing fixed to fold
    if len(bn_node.args) != 1 or bn_node.kwargs:
        return None
    conv_node = bn_node.args[0]
    if not isinstance(conv_node, Node) or len(conv_node.users) != 1:
        return None  # another reader needs the un-normalised conv output
    conv = _module(modules, conv_node)
    if type(conv) is not conv_type or len(conv_node.args) != 1 or conv_node.kwargs:
        return None  # exact type: a subclass may override forward
    conv = cast("nn.modules.conv._ConvNd", conv)
    if conv.out_channels != bn.num_features:
        return None
    return conv_node, conv, bn


def _folded_conv(conv: nn.modules.conv._ConvNd, bn: _BatchNorm) -> nn.modules.conv._ConvNd:
    """A new conv computing ``bn(conv(x))`` in eval mode.

    With s = gamma / sqrt(running_var + eps) per output channel:
    W' = W * s (broadcast over (C_in/groups, *kernel)), b' = (b - running_mean) * s + beta.
    Computed in float64 and cast back, so folding adds no rounding of its own.
    """
    with torch.no_grad():
        weight = conv.weight  # (C_out, C_in / groups, *kernel)
        c_out = weight.shape[0]
        zeros = torch.zeros(c_out, dtype=torch.float64, device=weight.device)

        def f64(t: torch.Tensor | None, default: torch.Tensor) -> torch.Tensor:
            return default if t is None else t.to(torch.float64)

        gamma, beta = f64(bn.weight, zeros + 1), f64(bn.bias, zeros)  # affine=False: 1, 0
        scale = gamma * torch.rsqrt(f64(bn.running_var, zeros) + bn.eps)  # (C_out,)
        new_weight = weight.to(torch.float64) * scale.reshape(-1, *([1] * (weight.dim() - 1)))
        new_bias = (f64(conv.bias, zeros) - f64(bn.running_mean, zeros)) * scale + beta  # (C_out,)
    fused = copy.deepcopy(conv)
    fused.weight = nn.Parameter(new_weight.to(weight.dtype), requires_grad=weight.requires_grad)
    fused.bias = nn.Parameter(new_bias.to(weight.dtype), requires_grad=weight.requires_grad)
    return fused


def fold_conv_bn(gm: fx.GraphModule) -> fx.GraphModule:
    """Fold eval-mode BatchNorm into the conv feeding it (contract: ``starter.py``).

    Beyond the contract: BatchNorm1d/3d with Conv1d/3d too; convs matched by exact type (a
    subclass may override ``forward``); the folded weights computed in float64 and cast back,
    so folding adds no rounding of its own.
    """
    out = _fresh_copy(_check_graph_module(gm))
    modules = dict(out.named_modules())
    changed = False
    for bn_node in list(out.graph.nodes):
        found = _foldable_conv_bn(bn_node, modules)
        if found is None:
            continue
        conv_node, conv, bn = found
        # A new module under a new name: the original conv may be called elsewhere.
        name = _free_name(out, f"{conv_node.target}_bn_folded")
        out.add_submodule(name, _folded_conv(conv, bn))
        conv_node.target = name
        bn_node.replace_all_uses_with(conv_node)
        out.graph.erase_node(bn_node)
        changed = True
    return _finish(out, changed)


# ---------------------------------------------------------------------------------------------
# Task 2: fuse nn.Linear + ReLU/GELU into one LinearActivation module

_RELU_FUNCTIONS: frozenset[object] = frozenset({F.relu, torch.relu, torch.relu_, F.relu_})


def _activation_of(node: Node, modules: dict[str, nn.Module]) -> Activation | None:
    """The activation ``node`` applies to its first argument, or None when it is not a
    ReLU/GELU or passes arguments the fused module does not model."""
    if node.op == "call_module":
        module = _module(modules, node)
        if len(node.args) != 1 or node.kwargs:
            return None
        if type(module) is nn.ReLU:
            return Activation.RELU
        if type(module) is nn.GELU:
            return Activation.gelu(module.approximate)
        return None
    if not node.args:
        return None
    if node.op == "call_method":
        plain = len(node.args) == 1 and not node.kwargs
        return Activation.RELU if plain and node.target in ("relu", "relu_") else None
    if node.op != "call_function":
        return None
    if node.target in _RELU_FUNCTIONS:
        # extra arguments can only be `inplace`, harmless once the input has a single reader
        return Activation.RELU if len(node.args) <= 2 and set(node.kwargs) <= {"inplace"} else None
    if node.target is F.gelu and len(node.args) <= 2 and set(node.kwargs) <= {"approximate"}:
        default = node.args[1] if len(node.args) == 2 else "none"
        approximate = node.kwargs.get("approximate", default)
        if isinstance(approximate, str) and approximate in ("none", "tanh"):
            return Activation.gelu(approximate)
    return None


def fuse_linear_activation(gm: fx.GraphModule) -> fx.GraphModule:
    """Fuse ``nn.Linear`` + ReLU/GELU into ``LinearActivation`` (contract: ``starter.py``).

    Beyond the contract: in-place forms (``torch.relu_``, ``F.relu(x, inplace=True)``) fuse
    too (harmless once the linear's output has a single reader), and an activation call with
    arguments the fused module does not model is left alone.
    """
    out = _fresh_copy(_check_graph_module(gm))
    fused = [
        _fuse_pair(out, act_node, layer_node, LinearActivation(linear, activation), activation)
        for act_node, layer_node, linear, activation in _layer_activation_pairs(out, nn.Linear)
    ]
    return _finish(out, bool(fused))


_Layer = TypeVar("_Layer", bound=nn.Module)


def _layer_activation_pairs(
    gm: fx.GraphModule, layer_type: type[_Layer]
) -> list[tuple[Node, Node, _Layer, Activation]]:
    """(activation node, layer node, layer, activation) for every activation (any of task 2's
    forms) whose input is a call of a ``layer_type`` module (exactly that type) with one
    positional argument and no other reader."""
    modules = dict(gm.named_modules())
    pairs: list[tuple[Node, Node, _Layer, Activation]] = []
    for act_node in gm.graph.nodes:
        activation = _activation_of(act_node, modules)
        if activation is None:
            continue
        layer_node = act_node.args[0]
        if not isinstance(layer_node, Node) or len(layer_node.users) != 1:
            continue
        layer = _module(modules, layer_node)
        if type(layer) is not layer_type or len(layer_node.args) != 1 or layer_node.kwargs:
            continue
        pairs.append((act_node, layer_node, layer, activation))
    return pairs


def _fuse_pair(
    gm: fx.GraphModule, act_node: Node, layer_node: Node, fused: nn.Module, activation: Activation
) -> Node:
    """Point ``layer_node`` at ``fused`` (a new submodule) and drop ``act_node``."""
    name = _free_name(gm, f"{layer_node.target}_{activation.value}")
    gm.add_submodule(name, fused)
    layer_node.target = name
    act_node.replace_all_uses_with(layer_node)
    gm.graph.erase_node(act_node)
    return layer_node


# ---------------------------------------------------------------------------------------------
# Beyond the tasks: conv + activation as one oneDNN kernel, channels_last in between (CPU)
#
# Not in __all__ (the starter has no TODO for it): the pass that takes the five-pass pipeline
# to the speed of torch's optimize_for_inference on a CPU CNN (README, "Measured results").

# Users that read a tensor of any layout and (for the 4-D ones) keep channels_last: a
# channels_last region grows through them. Anything else gets a standard-layout copy.
_LAYOUT_AGNOSTIC_MODULES: tuple[type[nn.Module], ...] = (
    ConvActivation, nn.Conv2d, nn.ReLU, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d,
    nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
)  # fmt: skip
_LAYOUT_AGNOSTIC_FUNCTIONS: frozenset[object] = frozenset(
    {F.relu, torch.relu, operator.add, torch.add, torch.flatten, F.max_pool2d, F.avg_pool2d,
     F.adaptive_avg_pool2d, F.adaptive_max_pool2d}
)  # fmt: skip
_LAYOUT_AGNOSTIC_METHODS = frozenset({"relu", "add", "flatten"})


def _layout_agnostic(node: Node, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        return isinstance(_module(modules, node), _LAYOUT_AGNOSTIC_MODULES)
    if node.op == "call_function":
        return node.target in _LAYOUT_AGNOSTIC_FUNCTIONS and not _inplace_flag(node)
    return node.op == "call_method" and node.target in _LAYOUT_AGNOSTIC_METHODS


def _is_contiguous_call(node: Node) -> bool:
    return node.op == "call_method" and node.target == "contiguous" and len(node.args) == 1


def _restore_standard_layout(gm: fx.GraphModule, sources: list[Node]) -> None:
    """Insert ``x.contiguous()`` where a channels_last value leaves the region that tolerates
    it (a ``view``, an unknown op, the graph's output), so every reader outside sees the
    strides the eager model gave it. Copies are invisible only for values nobody writes in
    place: such a value (or an alias of one) stops the region, and a fused output that is
    written gets one copy that all its readers share. ``contiguous()`` of a tensor that is
    already contiguous (a pooled (B, C, 1, 1) map) returns it: no copy."""
    modules = dict(gm.named_modules())
    mutated = _mutated_aliases(gm.graph, modules)
    region: set[Node] = set(sources)
    for node in gm.graph.nodes:  # topological: a node's inputs are classified before it
        if node in mutated or node in region or not _layout_agnostic(node, modules):
            continue
        if any(n in region for n in node.all_input_nodes):
            region.add(node)
    for node in [n for n in gm.graph.nodes if n in region]:
        shared_copy = node in mutated  # a written fused output: every reader gets the copy
        exits = [
            user
            for user in node.users
            if shared_copy or (user not in region and not _is_contiguous_call(user))
        ]
        if not exits or all(_is_contiguous_call(u) for u in node.users):
            continue
        with gm.graph.inserting_after(node):
            standard = gm.graph.call_method("contiguous", (node,))
        for user in exits:
            user.replace_input_with(node, standard)


def _onednn_can_run(conv: nn.Conv2d) -> bool:
    """A zero-padded conv with explicit padding sizes and float32 weights on the CPU."""
    weight = conv.weight
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        return False
    return weight.dtype == torch.float32 and weight.device.type == "cpu"


def fuse_conv_activation(gm: fx.GraphModule) -> fx.GraphModule:
    """Replace ``nn.Conv2d`` + ReLU/GELU with one ``fused.ConvActivation``: a oneDNN
    convolution with the activation as a post-op, on a channels_last weight (the op Inductor's
    CPU fusions use under freezing; oneDNN's layouts are why ``optimize_for_inference`` keeps
    convolutions in MKLDNN tensors). Run it after ``fold_conv_bn``, so Conv-BN-ReLU becomes one kernel.

    The activation forms are task 2's (module, function, method, in place). The conv output
    must have no other reader, the conv must zero-pad by explicit sizes and hold float32
    weights on the CPU. Channels_last outputs flow on through ops that accept any layout
    (convs, ReLU, BatchNorm, pooling, ``add``, ``flatten``); where one reaches anything else -
    a ``view``, an unknown call, the graph's output - a ``contiguous()`` restores the strides
    eager gave, so readers see the same tensors. Inference only: the fused op has no
    backward (the module falls back to conv2d + activation under autograd).

    Raises:
        TypeError: ``gm`` is not a GraphModule.
    """
    out = _fresh_copy(_check_graph_module(gm))
    fused = [
        _fuse_pair(out, act_node, layer_node, ConvActivation(conv, activation), activation)
        for act_node, layer_node, conv, activation in _layer_activation_pairs(out, nn.Conv2d)
        if _onednn_can_run(conv)
    ]
    if fused:
        _restore_standard_layout(out, fused)
    return _finish(out, bool(fused))


# ---------------------------------------------------------------------------------------------
# Task 3: dead code elimination


def eliminate_dead_code(gm: fx.GraphModule) -> fx.GraphModule:
    """Remove unread nodes without effects (contract: ``starter.py``).

    One backward sweep: a node's readers are visited before it, so a chain of dead nodes goes
    in the same sweep (O(nodes + edges)). Purity is decided by ``_has_side_effects``, shared
    with CSE and constant folding, so the three passes agree on what a node may do.
    """
    out = _fresh_copy(_check_graph_module(gm))
    modules = dict(out.named_modules())
    changed = False
    for node in reversed(list(out.graph.nodes)):
        if node.users or _has_side_effects(node, modules):
            continue
        out.graph.erase_node(node)
        changed = True
    return _finish(out, changed)


# ---------------------------------------------------------------------------------------------
# Task 4: constant folding


def _fetch_attr(gm: fx.GraphModule, target: str) -> Any:
    value: Any = gm
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _evaluate(node: Node, env: dict[Node, Any]) -> Any:
    args = map_arg(node.args, lambda n: env[n])
    kwargs = map_arg(node.kwargs, lambda n: env[n])
    if node.op == "call_method":
        self_arg, *rest = args
        return getattr(self_arg, str(node.target))(*rest, **kwargs)
    return cast("Callable[..., Any]", node.target)(*args, **kwargs)


def _returned_memory(graph: fx.Graph, modules: dict[str, nn.Module]) -> set[Node]:
    """Nodes whose memory the graph may hand to its caller: the outputs, and what an output
    may be a view of. Folded into a buffer, such a value would be the same tensor on every
    call, and a caller writing to one result would change all later ones."""
    returned: set[Node] = set()
    for node in reversed(list(graph.nodes)):
        if node.op == "output" or (node in returned and _may_alias_input(node, modules)):
            returned.update(node.all_input_nodes)
    return returned


def fold_constants(gm: fx.GraphModule) -> fx.GraphModule:
    """Precompute pure computations on parameters, buffers and literals (contract:
    ``starter.py``).

    One forward sweep marks the constants, one evaluates them in graph order. State that a
    module call may write (a training-mode BatchNorm's buffers, anything under a module of
    unknown effects) is not constant, and when any node writes to a constant nothing is folded.
    A value the graph returns is recomputed on every call rather than returned as the shared
    buffer, which a caller could then modify for every later call.
    """
    out = _fresh_copy(_check_graph_module(gm))
    modules = dict(out.named_modules())
    written_state = [
        str(n.target) for n in out.graph.nodes if n.op == "call_module" and _may_mutate(n, modules)
    ]

    def is_state_written(target: str) -> bool:
        return any(target == p or target.startswith(p + ".") for p in written_state)

    returned = _returned_memory(out.graph, modules)
    constant: set[Node] = set()
    for node in out.graph.nodes:
        inputs_constant = all(n in constant for n in node.all_input_nodes)
        if node.op == "get_attr":
            if not is_state_written(str(node.target)):
                constant.add(node)
        elif node.op == "output":
            break
        elif _may_mutate(node, modules) and any(n in constant for n in node.all_input_nodes):
            return out  # a constant is written to: folding would freeze a stale value
        elif (
            node.op in ("call_function", "call_method")
            and inputs_constant
            and node not in returned
            and not _has_side_effects(node, modules)
        ):
            constant.add(node)
    frontier = [
        n
        for n in out.graph.nodes
        if n in constant and n.op != "get_attr" and any(u not in constant for u in n.users)
    ]
    env: dict[Node, Any] = {}
    changed = False
    with torch.no_grad():
        for node in out.graph.nodes:  # topological order: inputs are evaluated first
            if node not in constant:
                continue
            is_attr = node.op == "get_attr"
            try:
                env[node] = _fetch_attr(out, str(node.target)) if is_attr else _evaluate(node, env)
            except Exception:  # it would fail at run time too; leave it (and its readers) there
                constant.discard(node)
    for node in frontier:
        value = env.get(node)
        if not isinstance(value, torch.Tensor):
            continue  # shapes, dtypes, Python numbers: left in the graph
        name = _free_name(out, f"_folded_{node.name}")
        out.register_buffer(name, value.detach())
        with out.graph.inserting_before(node):
            replacement = out.graph.get_attr(name)
        node.replace_all_uses_with(replacement)
        changed = True
    if changed:
        for node in reversed(list(out.graph.nodes)):
            if node in constant and not node.users:
                out.graph.erase_node(node)
    return _finish(out, changed)


# ---------------------------------------------------------------------------------------------
# Task 5: common subexpression elimination

_LITERALS = (bool, int, complex, str, type(None), torch.dtype, torch.device, torch.memory_format,
             torch.layout)  # fmt: skip


def _key(value: Any) -> Hashable:
    """A hashable key that is equal only for arguments that give equal results.

    Python calls ``1 == 1.0 == True`` and ``0.0 == -0.0``; an op does not (int vs float
    tensors, signed zeros), so literals carry their type and floats their repr. Tensors in the
    arguments raise TypeError: they are compared by identity nowhere, so those nodes are kept.
    """
    if isinstance(value, Node):
        return value
    if isinstance(value, float):
        return (float, repr(value))
    if isinstance(value, _LITERALS):
        return (type(value), value)
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple(sorted((str(k), _key(v)) for k, v in value.items())))
    if isinstance(value, slice):
        return (slice, _key(value.start), _key(value.stop), _key(value.step))
    if isinstance(value, torch.Tensor):
        raise TypeError("tensor literal")
    hash(value)  # anything else must at least be hashable (raises TypeError otherwise)
    return (type(value), value)


def eliminate_common_subexpressions(gm: fx.GraphModule) -> fx.GraphModule:
    """Merge nodes that compute the same value (contract: ``starter.py``).

    One forward sweep with a hash table keyed on (op, target, args, kwargs), literals keyed with
    their types: O(nodes). Mutation is handled twice over, because symbolic_trace graphs are not
    functional: the table is cleared at every op that may write, and a node whose value may be
    written in place anywhere in the graph (the tensor written, its views, what it is a view
    of - a conservative union-find over "may alias" edges) is never merged, so two
    ``x.clone()`` that are later changed differently stay two tensors.
    """
    out = _fresh_copy(_check_graph_module(gm))
    modules = dict(out.named_modules())
    mutated = _mutated_aliases(out.graph, modules)
    seen: dict[Hashable, Node] = {}
    changed = False
    for node in list(out.graph.nodes):
        if node.op in ("placeholder", "output"):
            continue
        if _may_mutate(node, modules):
            seen.clear()
            continue
        if _is_random(node, modules) or node in mutated:
            continue
        try:
            key = (node.op, node.target, _key(node.args), _key(node.kwargs))
            first = seen.setdefault(key, node)
        except TypeError:  # an unhashable argument: keep the node as it is
            continue
        if first is not node:
            node.replace_all_uses_with(first)
            out.graph.erase_node(node)
            changed = True
    return _finish(out, changed)


# ---------------------------------------------------------------------------------------------
# Task 6: the pass manager


def _pass_name(graph_pass: Callable[..., Any]) -> str:
    if isinstance(graph_pass, functools.partial):
        return _pass_name(graph_pass.func)
    return str(getattr(graph_pass, "__name__", type(graph_pass).__name__))


def _run_graph(gm: fx.GraphModule, inputs: Sequence[Any]) -> Any:
    """``gm(*inputs)`` under a fixed seed, without autograd, on copies of the inputs and of
    ``gm`` itself. Every run then starts from the same state: a graph may write to its inputs
    in place, draw random numbers, or update module state (a training-mode BatchNorm's running
    statistics, shared with the user's model), and none of that may leak into the next run or
    into the model being optimized."""
    args = [a.clone() if isinstance(a, torch.Tensor) else a for a in inputs]
    cuda = sorted({a.device.index or 0 for a in args if isinstance(a, torch.Tensor) and a.is_cuda})
    private = copy.deepcopy(gm)
    with torch.random.fork_rng(devices=cuda), torch.no_grad():
        torch.manual_seed(0)
        return private(*args)


def _max_error(name: str, outputs: Any, reference: Any, rtol: float, atol: float) -> float:
    """The largest |output - reference| over all tensor outputs; raises PassVerificationError
    when the structure, a shape or dtype, or a value (beyond atol + rtol * |reference|)
    differs."""
    flat, spec = pytree.tree_flatten(outputs)
    flat_ref, spec_ref = pytree.tree_flatten(reference)
    if spec != spec_ref:
        raise PassVerificationError(name, f"output structure changed from {spec_ref} to {spec}")
    worst = 0.0
    for k, (got, want) in enumerate(zip(flat, flat_ref, strict=True)):
        if not isinstance(want, torch.Tensor):
            if got != want:
                raise PassVerificationError(name, f"output {k} changed from {want!r} to {got!r}")
            continue
        if not isinstance(got, torch.Tensor) or got.shape != want.shape or got.dtype != want.dtype:
            what = f"{type(got).__name__} {getattr(got, 'shape', '')} {getattr(got, 'dtype', '')}"
            raise PassVerificationError(
                name, f"output {k} was a {tuple(want.shape)} {want.dtype} tensor, is now {what}"
            )
        if want.numel() == 0:
            continue
        if not (want.is_floating_point() or want.is_complex()):
            if not torch.equal(got, want):
                raise PassVerificationError(name, f"integer output {k} changed")
            continue
        close = torch.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
        diff = (got - want).abs()
        finite = diff[torch.isfinite(diff)]
        error = float(finite.max()) if finite.numel() else 0.0
        if not bool(close.all()):
            bad = int((~close).sum())
            raise PassVerificationError(
                name,
                f"output {k}: {bad} of {want.numel()} elements differ, max abs error {error:.3g} "
                f"(rtol={rtol:g}, atol={atol:g})",
            )
        worst = max(worst, error)
    return worst


class PassManager:
    """Run passes in order, verifying the outputs after each (contract: ``starter.py``).

    Beyond the contract: each verification run works on a deep copy of the graph module and
    clones of the inputs under a fixed seed (CUDA generators included); outputs are compared
    leaf by leaf over the pytree (structure, shape, dtype, then values, integers exactly); a
    pass that leaves a malformed graph fails ``graph.lint()`` and is named too.
    """

    def __init__(
        self,
        passes: Sequence[GraphPass],
        verify: bool = True,
        *,
        rtol: float = 1e-4,
        atol: float = 1e-5,
    ) -> None:
        given: object = passes  # checked at run time: callers need not be typed
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
            raise TypeError(f"passes must be a sequence of callables, got {type(given).__name__}")
        for k, graph_pass in enumerate(passes):
            if not callable(graph_pass):
                raise TypeError(
                    f"passes[{k}] must be callable (GraphModule -> GraphModule), "
                    f"got {type(graph_pass).__name__}"
                )
        if not isinstance(verify, bool):
            raise TypeError(f"verify must be a bool, got {type(verify).__name__}")
        for label, tol in (("rtol", rtol), ("atol", atol)):
            if not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol < 0:
                raise ValueError(f"{label} must be a finite number >= 0, got {tol!r}")
        self.passes: tuple[GraphPass, ...] = tuple(passes)
        self.verify = verify
        self.rtol = float(rtol)
        self.atol = float(atol)
        self.history: list[PassResult] = []  # one entry per run(), e.g. per torch.compile graph

    def run(self, gm: fx.GraphModule, example_inputs: Sequence[Any] = ()) -> PassResult:
        """Apply the passes to ``gm``; one ``PassRecord`` per pass (contract: ``starter.py``)."""
        gm = _check_graph_module(gm)
        if isinstance(example_inputs, (str, bytes)) or not isinstance(example_inputs, Sequence):
            raise TypeError(
                f"example_inputs must be a sequence of the graph's inputs, "
                f"got {type(example_inputs).__name__}"
            )
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        required = sum(1 for n in placeholders if not n.args)  # args hold a default value
        if self.verify and not required <= len(example_inputs) <= len(placeholders):
            raise ValueError(
                f"example_inputs must hold the graph's {required} positional inputs to verify "
                f"the passes, got {len(example_inputs)} (or pass verify=False)"
            )
        reference = _run_graph(gm, example_inputs) if self.verify else None
        records: list[PassRecord] = []
        current = gm
        for graph_pass in self.passes:
            name = _pass_name(graph_pass)
            before = len(current.graph.nodes)
            start = time.perf_counter()
            result = graph_pass(current)
            seconds = time.perf_counter() - start
            if not isinstance(result, fx.GraphModule):
                raise TypeError(
                    f"pass {name!r} must return a torch.fx.GraphModule, got {type(result).__name__}"
                )
            try:
                result.graph.lint()
            except RuntimeError as exc:
                raise PassVerificationError(name, f"malformed graph: {exc}") from exc
            error = None
            if self.verify:
                outputs = _run_graph(result, example_inputs)
                error = _max_error(name, outputs, reference, self.rtol, self.atol)
            records.append(PassRecord(name, before, len(result.graph.nodes), seconds, error))
            current = result
        report = PassResult(current, tuple(records))
        self.history.append(report)
        return report

    def as_backend(self) -> Backend:
        """A ``torch.compile`` backend running the passes on each captured graph.

        Dynamo lifts parameters to graph inputs and records ``torch.conv2d`` /
        ``F.batch_norm`` calls, not modules, so the module-level passes (conv-bn folding,
        linear fusion) find nothing to do there; DCE, constant folding and CSE apply as usual.
        Each graph's ``PassResult`` lands in ``history``.
        """

        def pass_manager_backend(
            gm: fx.GraphModule, example_inputs: list[torch.Tensor]
        ) -> Callable[..., Any]:
            return self.run(gm, list(example_inputs)).graph_module

        return pass_manager_backend
