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
- ``NodeIR.inputs`` names what the node reads, in argument order (lists such as ``torch.cat``'s
  flattened): earlier nodes' names, or keys of ``parameters``/``buffers``/``constants``.
  Non-tensor arguments (ints, dtypes, subgraphs of higher-order ops) are not listed.
- ``NodeIR.target`` is normalized so that graphs from different tracers share a vocabulary:
    * ``aten.<op>.<overload>`` for an ATen operator after dispatch (``torch.export``), e.g.
      ``aten.linear.default``, ``aten.add.Tensor``; a custom operator keeps its namespace
      (``mylib.fused_gelu.default``) and a higher-order one reads ``higher_order.<name>``;
    * ``aten.<op>`` for a torch-level call whose ATen operator is known but whose overload is
      not chosen yet (``symbolic_trace`` and ``dynamo`` graphs): ``torch.relu``, ``F.relu``,
      ``nn.ReLU`` modules and ``Tensor.relu`` all become ``aten.relu``; ``operator.add`` becomes
      ``aten.add`` (see ``PYTHON_OPERATORS`` and ``MODULE_OPS``);
    * ``python.<module>.<qualname>`` for any other Python callable (``python.operator.getitem``),
      ``method.<name>`` for a tensor method with no ATen operator of that name, and
      ``module.<module>.<Class>`` for a call to a module outside ``MODULE_OPS``;
    * for an input node, the ``forward`` argument's name.
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

IR_VERSION = 1  # bumped when the JSON layout changes


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
            for ref in node.inputs:
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

# Python operators FX records for `a + b`, `a @ b`, `x[i]`... and their normalized targets.
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

# Leaf modules symbolic_trace keeps as `call_module`, and the ATen operator each one runs.
# Look a module up along its class's MRO so that subclasses map too.
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
}

# ATen operators that take the module's state before the input: ``aten.embedding(weight,
# indices)``. A ``call_module`` of one lists the state first in ``NodeIR.inputs``, in the order
# the same operator has in an exported graph; every other module lists its input first, then
# its parameters and buffers in registration order (``linear(input, weight, bias)``).
STATE_FIRST_OPS: frozenset[str] = frozenset({"embedding"})
