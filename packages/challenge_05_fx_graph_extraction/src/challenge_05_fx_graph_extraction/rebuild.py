"""Rebuild a runnable graph from a ``GraphIR`` and the weights alone. (Given.)

What a consumer of the IR in another process does: resolve each target by its name
(``aten.<op>.<overload>`` -> ``torch.ops.aten.<op>.<overload>``, ``python.<module>.<qualname>``
-> the imported callable, ``method.<name>`` -> a method call on the first argument), decode the
arguments (``ir.decode_arg``) and wire the nodes in order. The tests compare the rebuilt
graph's output with the model's: the IR is an exchange format, not only a description. A
``module.*`` target (a module outside ``ir.MODULE_CALLS``), a ``higher_order.*`` one or an
opaque argument cannot be rebuilt: ``LookupError``/``ValueError``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from challenge_05_fx_graph_extraction.ir import GraphIR, NodeKind, decode_arg


def resolve_target(target: str) -> Any:
    """The callable an IR target names: ``aten.<op>.<overload>`` -> ``torch.ops.aten...``;
    ``python.<module>.<qualname>`` -> imported (the longest importable module prefix)."""
    kind, _, rest = target.partition(".")
    if kind == "python":
        parts = rest.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            try:
                value: Any = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for name in parts[cut:]:
                value = getattr(value, name)
            return value
        raise LookupError(f"no importable module in {target!r}")
    if kind in ("method", "module", "higher_order"):
        raise LookupError(f"{target!r} is not a free function")
    namespace, name, overload = target.split(".")
    return getattr(getattr(getattr(torch.ops, namespace), name), overload)


def rebuild(ir: GraphIR, state: Mapping[str, Tensor]) -> torch.fx.GraphModule:
    """A GraphModule built from ``ir`` and ``state`` (parameters, buffers and constants by the
    IR's names): one placeholder per INPUT node, one call per CALL node, in order."""
    graph = torch.fx.Graph()
    root = nn.Module()
    env: dict[str, Any] = {}

    def value_of(name: str) -> Any:
        if name not in env:  # a parameter, buffer or constant: held by the root module
            attr = f"state_{len(env)}"
            root.register_buffer(attr, state[name])
            env[name] = graph.get_attr(attr)
        return env[name]

    for node in ir.nodes:
        if node.kind is NodeKind.INPUT:
            env[node.name] = graph.placeholder(node.name)
            continue
        args = tuple(decode_arg(a, value_of) for a in node.args)
        kwargs = {k: decode_arg(v, value_of) for k, v in node.kwargs.items()}
        if node.target.startswith("method."):
            env[node.name] = graph.call_method(node.target.removeprefix("method."), args, kwargs)
        else:
            env[node.name] = graph.call_function(resolve_target(node.target), args, kwargs)
    outputs = [value_of(name) for name in ir.outputs]
    graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    return torch.fx.GraphModule(root, graph)


def state_of(model: nn.Module, ir: GraphIR) -> dict[str, Tensor]:
    """The model's parameters and buffers under the IR's names. Raises ``LookupError`` when the
    IR reads a constant or a name the model does not have (their values are not in the IR)."""
    named = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    missing = set(ir.constants) | (set(ir.parameters) | set(ir.buffers)) - set(named)
    if missing:
        raise LookupError(f"the IR reads tensors the model does not name: {sorted(missing)[:5]}")
    return {name: named[name] for name in (*ir.parameters, *ir.buffers)}
