"""The standardized graph IR that every extraction method produces, and its JSON form. (Given.)

A ``GraphIR`` describes one captured FX graph in plain data - strings, ints, tuples and dicts -
so it can be written to JSON, diffed, sent to another process or loaded by a tool that has no
torch at all. It is what a deployment platform would store next to the weights.

The rules a ``GraphIR`` follows (``GraphIR.__post_init__`` checks the structural ones):

- ``nodes`` are in execution order. A node is either a user input (``NodeKind.INPUT``, one per
  ``forward`` argument, ``target`` = the argument's name) or an operation (``NodeKind.CALL``).
  Parameters, buffers and constant tensors are *not* nodes: they live in ``parameters``,
  ``buffers`` and ``constants``, keyed by their fully qualified name (``"encoder.0.weight"``),
  and an operation that reads one lists that name in ``inputs``.
- ``NodeIR.args`` and ``NodeIR.kwargs`` are the call's arguments, every one of them (strides,
  padding, ``dim``, ``eps``, dtypes...), in the calling convention of the target (below), written
  as JSON values (``Arg``): ``None``, bools, ints, floats and strings as themselves; tuples and
  lists as arrays; a tensor or any other graph value as ``{"ref": "<name>"}`` (an earlier node,
  or a key of ``parameters``/``buffers``/``constants``); ``{"dtype": "float32"}``,
  ``{"device": "cpu"}``, ``{"layout": "strided"}``, ``{"memory_format": "contiguous_format"}``,
  ``{"slice": [start, stop, step]}``, ``{"ellipsis": null}``; anything else (a subgraph of a
  higher-order operator) as ``{"opaque": "<type name>"}``, which no consumer can rebuild.
- ``NodeIR.inputs`` lists the ``ref``s of ``args`` then ``kwargs``, in order (lists
  flattened, a value read twice listed twice); a call to a module outside ``MODULE_CALLS``
  then adds the module's parameters and buffers. It is what the node reads: earlier nodes'
  names, or keys of ``parameters``/``buffers``/``constants``.
- ``NodeIR.target`` names one callable, spelled one way whichever tracer recorded it, and
  ``args``/``kwargs`` follow that callable's signature:
    * ``aten.<op>.<overload>`` for an ATen operator, with its schema's argument order:
      ``aten.linear.default``, ``aten.add.Tensor``. Export graphs name the overload; for a
      torch-level call (``torch.conv2d``, ``F.linear``, ``x.view(...)``, ``a + b`` on tensors)
      the overload is the one ATen's dispatcher picks for the example arguments
      (``torch._C._jit_resolve_packet``), and a leaf module (``nn.Conv2d`` under
      symbolic_trace) becomes the ATen call it makes (``MODULE_CALLS``: its configuration as
      arguments, its parameters as ``ref``s). A custom operator keeps its namespace
      (``mylib.fused_gelu.default``), a higher-order one reads ``higher_order.<name>``;
    * ``python.<module>.<qualname>`` for any other Python callable, called as written:
      ``python.operator.getitem``, ``python.torch.nn.functional.batch_norm`` (a Python function,
      whose argument order is not ATen's), ``python.operator.mul`` on plain numbers;
    * ``method.<name>`` for a tensor method with no ATen operator that accepts its arguments
      (called on ``args[0]``), and ``module.<module>.<Class>`` for a call to a module outside
      ``MODULE_CALLS`` (opaque: its configuration lives in the module);
    * for an input node, the ``forward`` argument's name.
  With ``decompose=True`` an export graph holds core ATen operators only (``torch.Tag.core``),
  plus ``python.operator.getitem``: the op set a backend must cover is fixed.
- ``NodeIR.outputs`` holds one ``TensorMeta`` per tensor the node produces (several for a tuple
  such as ``torch.split``'s, none for a non-tensor such as a ``SymInt`` size).
- ``TensorMeta.shape`` holds the sizes at the example inputs (-1 where a size is only known at
  run time); ``TensorMeta.sym_shape`` is set when a size is symbolic (dynamic shapes) and
  spells every size as text in terms of the user's dimension names: ``("batch", "seq", "384")``.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import torch
from torch import nn

IR_VERSION = 2  # bumped when the JSON layout changes (2: every argument kept)

# A call argument as a JSON value (module docstring): None, bool, int, float, str, a list of
# Args, or a one-key dict such as {"ref": "conv2d_1"} or {"dtype": "float32"}.
Arg = Any
_TAGGED = ("ref", "dtype", "device", "layout", "memory_format", "slice", "ellipsis", "opaque")


class Method(StrEnum):
    """How ``extract_graph`` captures the model (the strings are accepted too)."""

    EXPORT = "export"  # torch.export.export: sound ATen graph, shapes, dynamic dims
    SYMBOLIC_TRACE = "symbolic_trace"  # torch.fx.symbolic_trace: Python-level proxies, no shapes
    DYNAMO = "dynamo"  # torch.compile + a graph-keeping backend: torch-level graph from bytecode


class NodeKind(StrEnum):
    """What a ``NodeIR`` is."""

    INPUT = "input"  # a forward argument
    CALL = "call"  # an operation


_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TensorMeta:
    """Shape and dtype of one tensor.

    Raises:
        TypeError: a size is not an int, a symbolic size is not a str, or ``dtype`` is not a str.
        ValueError: ``dtype`` names no torch dtype, a size is below -1, or ``sym_shape`` has a
            different rank from ``shape``.
    """

    shape: tuple[int, ...]  # sizes at the example inputs; -1 = known only at run time
    dtype: str  # torch dtype name without "torch.", e.g. "float32", "int64", "bool"
    sym_shape: tuple[str, ...] | None = None  # e.g. ("batch", "seq", "384"); None when static

    def __post_init__(self) -> None:
        if not isinstance(self.shape, tuple) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in self.shape
        ):
            raise TypeError(f"TensorMeta.shape must be a tuple of ints, got {self.shape!r}")
        if any(s < -1 for s in self.shape):
            raise ValueError(f"TensorMeta.shape sizes must be >= -1, got {self.shape!r}")
        if not isinstance(self.dtype, str):
            raise TypeError(f"TensorMeta.dtype must be a str such as 'float32', got {self.dtype!r}")
        if not isinstance(getattr(torch, self.dtype, None), torch.dtype):
            raise ValueError(f"TensorMeta.dtype {self.dtype!r} is not a torch dtype name")
        if self.sym_shape is not None:
            if not isinstance(self.sym_shape, tuple) or not all(
                isinstance(s, str) for s in self.sym_shape
            ):
                raise TypeError(
                    f"TensorMeta.sym_shape must be a tuple of str, got {self.sym_shape!r}"
                )
            if len(self.sym_shape) != len(self.shape):
                raise ValueError(
                    f"TensorMeta.sym_shape {self.sym_shape!r} has rank {len(self.sym_shape)}, "
                    f"shape {self.shape!r} has rank {len(self.shape)}"
                )

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        dtype: torch.dtype = getattr(torch, self.dtype)
        return dtype.itemsize

    @property
    def numel(self) -> int:
        """Elements at the example sizes (-1 sizes count as 0: unknown)."""
        count = 1
        for size in self.shape:
            count *= max(size, 0)
        return count

    @property
    def nbytes(self) -> int:
        """Bytes at the example sizes."""
        return self.numel * self.itemsize


@dataclass(frozen=True)
class NodeIR:
    """One node of the graph: a user input or an operation."""

    name: str  # unique within the graph (the FX node's name)
    kind: NodeKind
    target: str  # normalized target (module docstring), or the argument name for an input
    inputs: tuple[str, ...]  # node names and parameter/buffer/constant names read, in order
    outputs: tuple[TensorMeta, ...]  # one per tensor produced
    args: tuple[Arg, ...] = ()  # every positional argument, encoded (module docstring)
    kwargs: dict[str, Arg] = field(default_factory=dict)  # every keyword argument, encoded

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"NodeIR.name must be a non-empty str, got {self.name!r}")
        if not isinstance(self.kind, NodeKind):
            raise TypeError(f"NodeIR.kind must be a NodeKind, got {self.kind!r}")
        if not isinstance(self.target, str) or not self.target:
            raise TypeError(f"NodeIR.target must be a non-empty str, got {self.target!r}")
        if not isinstance(self.inputs, tuple) or not all(isinstance(i, str) for i in self.inputs):
            raise TypeError(f"NodeIR.inputs must be a tuple of str, got {self.inputs!r}")
        if not isinstance(self.outputs, tuple) or not all(
            isinstance(o, TensorMeta) for o in self.outputs
        ):
            raise TypeError(f"NodeIR.outputs must be a tuple of TensorMeta, got {self.outputs!r}")
        if not isinstance(self.args, tuple):
            raise TypeError(f"NodeIR.args must be a tuple, got {type(self.args).__name__}")
        if not isinstance(self.kwargs, dict) or not all(isinstance(k, str) for k in self.kwargs):
            raise TypeError(f"NodeIR.kwargs must be a dict with str keys, got {self.kwargs!r}")
        # one canonical form, so that an IR read back from JSON compares equal
        object.__setattr__(self, "args", tuple(_canonical(a, self.name) for a in self.args))
        object.__setattr__(
            self, "kwargs", {k: _canonical(v, self.name) for k, v in self.kwargs.items()}
        )

    @property
    def refs(self) -> tuple[str, ...]:
        """The names ``args`` then ``kwargs`` refer to, in order (what a call passes on)."""
        return tuple(ref for arg in (*self.args, *self.kwargs.values()) for ref in arg_refs(arg))

    @property
    def op(self) -> str:
        """The operator's base name: ``aten.linear.default`` -> ``linear``, ``aten.add`` ->
        ``add``, ``python.operator.getitem`` -> ``getitem``, ``module.m.Block`` -> ``Block``."""
        parts = self.target.split(".")
        if self.kind is NodeKind.INPUT or len(parts) == 1:
            return self.target
        if parts[0] in ("python", "module", "method"):
            return parts[-1]
        return parts[1]


@dataclass(frozen=True)
class GraphIR:
    """A captured graph in standardized, JSON-serializable form (rules: module docstring).

    Raises:
        ValueError: duplicate node names, an input that names no earlier node and no
            parameter/buffer/constant, an ``inputs``/``outputs`` entry that resolves to nothing,
            or a name that is both a node and a parameter/buffer/constant.
    """

    method: Method  # how it was captured
    nodes: tuple[NodeIR, ...]  # execution order
    inputs: tuple[str, ...]  # the INPUT nodes' names, in forward-argument order
    outputs: tuple[str, ...]  # what the graph returns, flattened: node or state names
    parameters: dict[str, TensorMeta] = field(default_factory=dict)  # FQN -> meta, those read
    buffers: dict[str, TensorMeta] = field(default_factory=dict)  # FQN -> meta, those read
    constants: dict[str, TensorMeta] = field(default_factory=dict)  # graph-held tensors

    def __post_init__(self) -> None:
        if not isinstance(self.method, Method):
            raise TypeError(f"GraphIR.method must be a Method, got {self.method!r}")
        state = {**self.parameters, **self.buffers, **self.constants}
        if len(state) != len(self.parameters) + len(self.buffers) + len(self.constants):
            raise ValueError("a name appears in more than one of parameters, buffers, constants")
        seen: set[str] = set()
        for node in self.nodes:
            if node.name in seen:
                raise ValueError(f"GraphIR: duplicate node name {node.name!r}")
            if node.name in state:
                raise ValueError(f"GraphIR: {node.name!r} is both a node and a parameter/buffer")
            for ref in (*node.inputs, *node.refs):
                if ref not in seen and ref not in state:
                    raise ValueError(
                        f"GraphIR: node {node.name!r} reads {ref!r}, which is neither an earlier "
                        f"node nor a parameter, buffer or constant"
                    )
            seen.add(node.name)
        kinds = {n.name: n.kind for n in self.nodes}
        for name in self.inputs:
            if kinds.get(name) is not NodeKind.INPUT:
                raise ValueError(f"GraphIR.inputs names {name!r}, which is not an INPUT node")
        for name in self.outputs:
            if name not in seen and name not in state:
                raise ValueError(f"GraphIR.outputs names {name!r}, which resolves to nothing")

    @cached_property
    def _by_name(self) -> dict[str, NodeIR]:
        return {node.name: node for node in self.nodes}

    def node(self, name: str) -> NodeIR:
        """The node called ``name`` (O(1)). Raises ``KeyError`` when there is none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no node named {name!r}") from None

    def tensor(self, ref: str) -> TensorMeta | None:
        """What an ``inputs`` entry refers to: a parameter/buffer/constant's meta, or a node's
        first output; ``None`` for a node that produces no tensor."""
        for table in (self.parameters, self.buffers, self.constants):
            if ref in table:
                return table[ref]
        node = self.node(ref)
        return node.outputs[0] if node.outputs else None

    # ---- JSON -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists, strings and ints (what ``json.dumps`` accepts)."""
        return {
            "version": IR_VERSION,
            "method": self.method.value,
            "nodes": [
                {
                    "name": n.name,
                    "kind": n.kind.value,
                    "target": n.target,
                    "inputs": list(n.inputs),
                    "outputs": [_meta_to_dict(m) for m in n.outputs],
                    "args": list(n.args),
                    "kwargs": dict(n.kwargs),
                }
                for n in self.nodes
            ],
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "parameters": {k: _meta_to_dict(v) for k, v in self.parameters.items()},
            "buffers": {k: _meta_to_dict(v) for k, v in self.buffers.items()},
            "constants": {k: _meta_to_dict(v) for k, v in self.constants.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GraphIR:
        """Inverse of ``to_dict``. Raises ``ValueError`` for another version or a missing key."""
        if data.get("version") != IR_VERSION:
            raise ValueError(f"GraphIR JSON version {data.get('version')!r} != {IR_VERSION}")
        try:
            return cls(
                method=Method(data["method"]),
                nodes=tuple(
                    NodeIR(
                        name=n["name"],
                        kind=NodeKind(n["kind"]),
                        target=n["target"],
                        inputs=tuple(n["inputs"]),
                        outputs=tuple(_meta_from_dict(m) for m in n["outputs"]),
                        args=tuple(n["args"]),
                        kwargs=dict(n["kwargs"]),
                    )
                    for n in data["nodes"]
                ),
                inputs=tuple(data["inputs"]),
                outputs=tuple(data["outputs"]),
                parameters={k: _meta_from_dict(v) for k, v in data["parameters"].items()},
                buffers={k: _meta_from_dict(v) for k, v in data["buffers"].items()},
                constants={k: _meta_from_dict(v) for k, v in data["constants"].items()},
            )
        except KeyError as exc:
            raise ValueError(f"GraphIR JSON is missing the key {exc}") from None

    def to_json(self, indent: int | None = None) -> str:
        """JSON text (``GraphIR.from_json`` reads it back to an equal ``GraphIR``)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> GraphIR:
        """Parse ``to_json``'s output."""
        return cls.from_dict(json.loads(text))


def encode_arg(value: Any, refer: Callable[[Any], str | None]) -> Arg:
    """``value`` (an FX argument: nodes, numbers, lists, dtypes...) as an ``Arg``.

    ``refer(x)`` returns the IR name a graph value stands for (an ``fx.Node``, or a tensor held
    by the module), or ``None`` for a plain Python value. Raises nothing: what has no JSON form
    becomes ``{"opaque": "<type>"}``."""
    name = refer(value)
    if name is not None:
        return {"ref": name}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [encode_arg(v, refer) for v in value]
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if isinstance(value, torch.device):
        return {"device": str(value)}
    if isinstance(value, torch.layout):
        return {"layout": str(value).removeprefix("torch.")}
    if isinstance(value, torch.memory_format):
        return {"memory_format": str(value).removeprefix("torch.")}
    if isinstance(value, slice):
        return {"slice": [encode_arg(v, refer) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"ellipsis": None}
    return {"opaque": type(value).__name__}


def decode_arg(arg: Arg, resolve: Callable[[str], Any]) -> Any:
    """Inverse of ``encode_arg``: ``resolve(name)`` gives the value a ``ref`` stands for; arrays
    come back as tuples. Raises ``ValueError`` for an opaque argument."""
    if isinstance(arg, list):
        return tuple(decode_arg(a, resolve) for a in arg)
    if not isinstance(arg, dict):
        return arg
    ((tag, body),) = arg.items()
    if tag == "ref":
        return resolve(body)
    if tag in ("dtype", "layout", "memory_format"):
        return getattr(torch, body)
    if tag == "device":
        return torch.device(body)
    if tag == "slice":
        return slice(*(decode_arg(a, resolve) for a in body))
    if tag == "ellipsis":
        return Ellipsis
    raise ValueError(f"argument {arg!r} has no value outside the original process")


def arg_refs(arg: Arg) -> list[str]:
    """The ``ref`` names inside one encoded argument, in order."""
    if isinstance(arg, list):
        return [ref for a in arg for ref in arg_refs(a)]
    if isinstance(arg, dict):
        if "ref" in arg:
            return [arg["ref"]]
        if "slice" in arg:
            return arg_refs(arg["slice"])
    return []


def _canonical(arg: Any, where: str) -> Arg:
    """Tuples as lists, each tag checked: the one in-memory form of an ``Arg``."""
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return arg
    if isinstance(arg, (tuple, list)):
        return [_canonical(a, where) for a in arg]
    if isinstance(arg, dict) and len(arg) == 1:
        ((tag, body),) = arg.items()
        if tag in _TAGGED:
            return {tag: _canonical(body, where)}
    raise TypeError(f"NodeIR {where!r}: {arg!r} is not an encoded argument (ir.encode_arg)")


def _meta_to_dict(meta: TensorMeta) -> dict[str, Any]:
    sym = None if meta.sym_shape is None else list(meta.sym_shape)
    return {"shape": list(meta.shape), "dtype": meta.dtype, "sym_shape": sym}


def _meta_from_dict(data: Mapping[str, Any]) -> TensorMeta:
    sym = data.get("sym_shape")
    return TensorMeta(
        shape=tuple(data["shape"]),
        dtype=data["dtype"],
        sym_shape=None if sym is None else tuple(sym),
    )


@dataclass(frozen=True)
class ExtractedGraph:
    """What ``extract_graph`` returns."""

    graph_module: torch.fx.GraphModule  # runs like the model: graph_module(*example_inputs)
    ir: GraphIR  # describes graph_module's graph


@dataclass(frozen=True)
class GraphSummary:
    """What ``summarize`` returns."""

    node_count: int  # CALL nodes
    op_histogram: dict[str, int]  # normalized target -> CALL nodes with it, most common first
    parameter_count: int  # elements of every parameter the graph reads (buffers excluded)
    flops: int  # matmul, conv and attention FLOPs at the example sizes (2 per multiply-add)
    flops_by_op: dict[str, int]  # NodeIR.op -> FLOPs, only ops that have some
    peak_activation_bytes: int  # largest total of live activation bytes (liveness rule: README)


# ---- The vocabulary shared by every tracer's targets ----------------------------------------

# Python operators FX records for `a + b`, `a @ b`, `x[i]`... and the ATen operator each one
# calls when its first operand is a tensor (the overload is resolved from the arguments); on
# plain numbers, and for getitem, the target stays ``python.operator.<name>``.
PYTHON_OPERATORS: dict[Callable[..., Any], str] = {
    operator.add: "aten.add",
    operator.sub: "aten.sub",
    operator.mul: "aten.mul",
    operator.truediv: "aten.div",
    operator.floordiv: "aten.floor_divide",
    operator.mod: "aten.remainder",
    operator.pow: "aten.pow",
    operator.matmul: "aten.matmul",
    operator.neg: "aten.neg",
    operator.and_: "aten.bitwise_and",
    operator.or_: "aten.bitwise_or",
    operator.xor: "aten.bitwise_xor",
    operator.invert: "aten.bitwise_not",
    operator.eq: "aten.eq",
    operator.ne: "aten.ne",
    operator.lt: "aten.lt",
    operator.le: "aten.le",
    operator.gt: "aten.gt",
    operator.ge: "aten.ge",
    operator.getitem: "python.operator.getitem",
}

# Leaf modules symbolic_trace keeps as `call_module`, and the ATen operator each one runs
# (``MODULE_CALLS`` has the full call). Look a module up along its class's MRO.
MODULE_OPS: dict[type[nn.Module], str] = {
    nn.Linear: "linear",
    nn.Conv1d: "conv1d",
    nn.Conv2d: "conv2d",
    nn.Conv3d: "conv3d",
    nn.ConvTranspose1d: "conv_transpose1d",
    nn.ConvTranspose2d: "conv_transpose2d",
    nn.ConvTranspose3d: "conv_transpose3d",
    nn.BatchNorm1d: "batch_norm",
    nn.BatchNorm2d: "batch_norm",
    nn.BatchNorm3d: "batch_norm",
    nn.LayerNorm: "layer_norm",
    nn.GroupNorm: "group_norm",
    nn.Embedding: "embedding",
    nn.ReLU: "relu",
    nn.GELU: "gelu",
    nn.SiLU: "silu",
    nn.Tanh: "tanh",
    nn.Sigmoid: "sigmoid",
    nn.Dropout: "dropout",
    nn.MaxPool2d: "max_pool2d",
    nn.AvgPool2d: "avg_pool2d",
    nn.AdaptiveAvgPool2d: "adaptive_avg_pool2d",
    nn.Softmax: "softmax",
    nn.Flatten: "flatten",
    nn.Identity: "alias",
}

# ATen operators that take the module's state before the input: ``aten.embedding(weight,
# indices)``. ``MODULE_CALLS`` writes them so; ``NodeIR.inputs`` follows the arguments.
STATE_FIRST_OPS: frozenset[str] = frozenset({"embedding"})

# What a leaf module's call is as one ATen call: (target, args, kwargs), where the input is
# the module's one positional argument and its parameters and buffers are the tensors
# themselves. None where the module's configuration makes it more than one operator
# (``padding_mode="reflect"``, a training-mode BatchNorm that updates its statistics...).
ModuleCall = tuple[str, tuple[Any, ...], dict[str, Any]]


def _ints(value: int | tuple[int, ...], n: int) -> list[int]:
    return list(value) if isinstance(value, (tuple, list)) else [value] * n


def _conv(m: Any, x: Any) -> ModuleCall | None:
    n = len(m.kernel_size)
    if m.padding_mode != "zeros":
        return None
    padding = m.padding if isinstance(m.padding, str) else list(m.padding)
    overload = "padding" if isinstance(padding, str) else "default"
    args = (x, m.weight, m.bias, list(m.stride), padding, list(m.dilation), m.groups)
    return f"aten.conv{n}d.{overload}", args, {}


def _conv_transpose(m: Any, x: Any) -> ModuleCall | None:
    n = len(m.kernel_size)
    if m.padding_mode != "zeros":
        return None
    args = (x, m.weight, m.bias, list(m.stride), list(m.padding), list(m.output_padding))
    return f"aten.conv_transpose{n}d.input", (*args, m.groups, list(m.dilation)), {}


def _batch_norm(m: Any, x: Any) -> ModuleCall | None:
    if m.training or m.running_mean is None:
        return None  # batch statistics, and running statistics updated in place
    args = (x, m.weight, m.bias, m.running_mean, m.running_var, False, m.momentum or 0.0, m.eps)
    return "aten.batch_norm.default", (*args, True), {}


def _embedding(m: Any, x: Any) -> ModuleCall | None:
    if m.max_norm is not None:
        return None  # renormalizes the weight in place first
    padding_idx = -1 if m.padding_idx is None else m.padding_idx
    return "aten.embedding.default", (m.weight, x, padding_idx, m.scale_grad_by_freq, m.sparse), {}


def _max_pool(m: Any, x: Any) -> ModuleCall | None:
    if m.return_indices:
        return None
    kernel = _ints(m.kernel_size, 2)
    stride = _ints(m.stride if m.stride is not None else m.kernel_size, 2)
    args = (x, kernel, stride, _ints(m.padding, 2), _ints(m.dilation, 2), m.ceil_mode)
    return "aten.max_pool2d.default", args, {}


def _avg_pool(m: Any, x: Any) -> ModuleCall:
    stride = _ints(m.stride if m.stride is not None else m.kernel_size, 2)
    args = (x, _ints(m.kernel_size, 2), stride, _ints(m.padding, 2), m.ceil_mode)
    return "aten.avg_pool2d.default", (*args, m.count_include_pad, m.divisor_override), {}


def _adaptive_avg_pool(m: Any, x: Any) -> ModuleCall | None:
    size = _ints(m.output_size, 2)
    if any(s is None for s in size):
        return None  # "keep this size" needs the input's shape
    return "aten.adaptive_avg_pool2d.default", (x, size), {}


MODULE_CALLS: dict[type[nn.Module], Callable[[Any, Any], ModuleCall | None]] = {
    nn.Linear: lambda m, x: ("aten.linear.default", (x, m.weight, m.bias), {}),
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.Conv3d: _conv,
    nn.ConvTranspose1d: _conv_transpose,
    nn.ConvTranspose2d: _conv_transpose,
    nn.ConvTranspose3d: _conv_transpose,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.BatchNorm3d: _batch_norm,
    nn.LayerNorm: lambda m, x: (
        "aten.layer_norm.default",
        (x, list(m.normalized_shape), m.weight, m.bias, m.eps, True),
        {},
    ),
    nn.GroupNorm: lambda m, x: (
        "aten.group_norm.default",
        (x, m.num_groups, m.weight, m.bias, m.eps, True),
        {},
    ),
    nn.Embedding: _embedding,
    nn.ReLU: lambda m, x: (f"aten.relu{'_' if m.inplace else ''}.default", (x,), {}),
    nn.GELU: lambda m, x: ("aten.gelu.default", (x,), {"approximate": m.approximate}),
    nn.SiLU: lambda m, x: (f"aten.silu{'_' if m.inplace else ''}.default", (x,), {}),
    nn.Tanh: lambda m, x: ("aten.tanh.default", (x,), {}),
    nn.Sigmoid: lambda m, x: ("aten.sigmoid.default", (x,), {}),
    nn.Dropout: lambda m, x: (
        None if m.inplace else ("aten.dropout.default", (x, m.p, m.training), {})
    ),
    nn.MaxPool2d: _max_pool,
    nn.AvgPool2d: _avg_pool,
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
    nn.Softmax: lambda m, x: None if m.dim is None else ("aten.softmax.int", (x, m.dim), {}),
    nn.Flatten: lambda m, x: ("aten.flatten.using_ints", (x, m.start_dim, m.end_dim), {}),
    nn.Identity: lambda m, x: ("aten.alias.default", (x,), {}),  # the input itself (a view)
}


def module_call(module: nn.Module, x: Any) -> ModuleCall | None:
    """The ATen call ``module(x)`` makes, found along the class's MRO (``MODULE_CALLS``), or
    ``None`` for a module that is not one operator."""
    for cls in type(module).__mro__:
        if cls in MODULE_CALLS:
            return MODULE_CALLS[cls](module, x)
    return None
