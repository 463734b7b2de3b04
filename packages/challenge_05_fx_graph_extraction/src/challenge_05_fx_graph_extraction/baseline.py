"""Challenge 05 - graph extraction: the simple, obviously correct baseline.

Straight-line code over the library calls. Where the solution is clever, this is plain:
symbolic_trace shapes come from ``ShapeProp``, which runs the graph on the real example inputs
(cost grows with the input size), and peak memory re-adds every live tensor at every step
(O(nodes^2)).
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch._ops import HigherOrderOperator, OpOverload, OpOverloadPacket
from torch.export import Dim
from torch.fx.passes.shape_prop import ShapeProp
from torch.utils import _pytree as pytree

from challenge_05_fx_graph_extraction.breaks import (
    BreakReport,
    Construct,
    ExtractionError,
    GraphBreak,
)
from challenge_05_fx_graph_extraction.ir import (
    MODULE_OPS,
    PYTHON_OPERATORS,
    STATE_FIRST_OPS,
    ExtractedGraph,
    GraphIR,
    GraphSummary,
    Method,
    NodeIR,
    NodeKind,
    TensorMeta,
)

__all__ = [
    "BreakReport",
    "Construct",
    "ExtractedGraph",
    "ExtractionError",
    "GraphBreak",
    "GraphIR",
    "GraphSummary",
    "Method",
    "NodeIR",
    "NodeKind",
    "TensorMeta",
    "explain_breaks",
    "extract_graph",
    "summarize",
    "to_dot",
]

DynamicDims = Sequence[Mapping[int, str | Dim] | None]


def extract_graph(
    model: nn.Module,
    example_inputs: Sequence[Tensor],
    *,
    method: Method | str = Method.EXPORT,
    dynamic_dims: DynamicDims | None = None,
    strict: bool = False,
) -> ExtractedGraph:
    """Capture ``model`` and describe the graph as a ``GraphIR`` (contract: ``starter.py``).

    symbolic_trace shapes come from ``ShapeProp``, which runs the graph on the real inputs."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError(
            f"example_inputs must be a tuple or list of tensors, got {example_inputs!r}"
        )
    for i, x in enumerate(example_inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"example_inputs[{i}] must be a torch.Tensor, got {type(x).__name__}")
    if not isinstance(method, str):
        raise TypeError(f"method must be a Method or str, got {type(method).__name__}")
    if method not in [m.value for m in Method]:
        raise ValueError(f"method must be one of {[m.value for m in Method]}, got {method!r}")
    how = Method(method)
    if not isinstance(strict, bool):
        raise TypeError(f"strict must be a bool, got {type(strict).__name__}")
    if strict and how is not Method.EXPORT:
        raise ValueError("strict=True applies to method='export' only")
    inputs = tuple(example_inputs)
    shapes, names = _dynamic_shapes(dynamic_dims, inputs, how)

    try:
        if how is Method.EXPORT:
            program = torch.export.export(model, inputs, dynamic_shapes=shapes, strict=strict)
            gm = program.module(check_guards=False)
        elif how is Method.DYNAMO:
            import torch._dynamo as dynamo

            export = dynamo.export(model, assume_static_by_default=True, dynamic_shapes=shapes)
            gm = export(*inputs).graph_module
        else:
            gm = _trace_given(model, len(inputs))
            ShapeProp(gm).propagate(*inputs)  # runs the graph for real, records tensor_meta
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise ExtractionError(
            how, Construct.classify(message), message, type(model).__name__
        ) from exc

    return ExtractedGraph(gm, _build_ir(gm, model, how, len(inputs), names))


def _trace_given(model: nn.Module, n_given: int) -> torch.fx.GraphModule:
    """symbolic_trace with the arguments the caller left out fixed to their defaults, then
    without the placeholders FX keeps for them and the checks that read those."""
    params = [
        p
        for p in inspect.signature(model.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    concrete = {p.name: p.default for p in params[n_given:] if p.default is not p.empty}
    gm = torch.fx.symbolic_trace(model, concrete_args=concrete or None)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    tainted = placeholders[n_given:]
    for node in gm.graph.nodes:
        if node not in tainted and any(n in tainted for n in node.all_input_nodes):
            tainted.append(node)
    for node in reversed(tainted):
        gm.graph.erase_node(node)
    gm.recompile()
    return gm


def _dynamic_shapes(
    dynamic_dims: DynamicDims | None, inputs: tuple[Tensor, ...], method: Method
) -> tuple[tuple[dict[int, Dim] | None, ...] | None, dict[tuple[int, int], str]]:
    """torch.export's ``dynamic_shapes`` (one Dim per name) and {(input, dim): name}."""
    if dynamic_dims is None:
        return None, {}
    if method is Method.SYMBOLIC_TRACE:
        raise ValueError("dynamic_dims needs method='export' or 'dynamo', not symbolic_trace")
    if not isinstance(dynamic_dims, (tuple, list)):
        raise TypeError("dynamic_dims must be a tuple or list with one mapping per example input")
    if len(dynamic_dims) != len(inputs):
        raise ValueError(f"dynamic_dims has {len(dynamic_dims)} entries for {len(inputs)} inputs")
    # First the Dim objects the caller passed (they carry bounds), then plain names.
    dims: dict[str, Dim] = {}
    for i, spec in enumerate(dynamic_dims):
        if spec is not None and not isinstance(spec, Mapping):
            raise TypeError(f"dynamic_dims[{i}] must be a mapping {{dim: name}} or None")
        for label in (spec or {}).values():
            if isinstance(label, Dim):
                if str(label.__name__) in dims and dims[str(label.__name__)] is not label:
                    raise ValueError(f"two different Dim objects are named {label.__name__!r}")
                dims[str(label.__name__)] = label
    sizes: dict[str, int] = {}
    shapes: list[dict[int, Dim] | None] = []
    names: dict[tuple[int, int], str] = {}
    for i, spec in enumerate(dynamic_dims):
        if spec is None:
            shapes.append(None)
            continue
        entry: dict[int, Dim] = {}
        ndim = inputs[i].ndim
        for d, label in spec.items():
            if not isinstance(d, int) or isinstance(d, bool):
                raise TypeError(f"dynamic_dims[{i}]: dims must be ints, got {d!r}")
            if d < -ndim or d >= ndim:
                raise ValueError(f"dynamic_dims[{i}]: dim {d} out of range for rank {ndim}")
            if isinstance(label, Dim):
                name = str(label.__name__)
            elif isinstance(label, str):
                name = label
            else:
                raise TypeError(f"dynamic_dims[{i}][{d}] must be a str or Dim, got {label!r}")
            if not name.isidentifier():
                raise ValueError(f"dynamic_dims[{i}][{d}]: {name!r} is not an identifier")
            d = d % ndim
            if d in entry:
                raise ValueError(f"dynamic_dims[{i}]: dim {d} is named twice")
            size = inputs[i].shape[d]
            if size < 2:
                raise ValueError(f"dynamic_dims[{i}][{d}]: example size {size} must be >= 2")
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"dynamic_dims[{i}][{d}]: {name!r} means two sizes")
            if name not in dims:
                dims[name] = Dim(name)
            entry[d] = dims[name]
            names[(i, d)] = name
        shapes.append(entry)
    return tuple(shapes), names


def _build_ir(
    gm: torch.fx.GraphModule,
    model: nn.Module,
    method: Method,
    n_inputs: int,
    dim_names: dict[tuple[int, int], str],
) -> GraphIR:
    param_names = {id(p): n for n, p in model.named_parameters()}
    buffer_names = {id(b): n for n, b in model.named_buffers()}
    params: dict[str, TensorMeta] = {}
    buffers: dict[str, TensorMeta] = {}
    constants: dict[str, TensorMeta] = {}
    arg_names = [
        p.name
        for p in inspect.signature(model.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    arg_names += [f"input_{i}" for i in range(len(arg_names), n_inputs)]
    symbols: dict[str, str] = {}
    refs: dict[str, str] = {}
    nodes: list[NodeIR] = []
    inputs: list[str] = []
    outputs: list[str] = []

    def register(t: Tensor, fallback: str) -> str:
        if id(t) in param_names:
            params[param_names[id(t)]] = _meta(t, symbols)
            return param_names[id(t)]
        if id(t) in buffer_names:
            buffers[buffer_names[id(t)]] = _meta(t, symbols)
            return buffer_names[id(t)]
        constants[fallback] = _meta(t, symbols)
        return fallback

    def reads(node: torch.fx.Node) -> list[str]:
        flat = pytree.tree_leaves((node.args, node.kwargs))
        return [refs[a.name] for a in flat if isinstance(a, torch.fx.Node) and a.name in refs]

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            i = len(inputs)
            value = _value(node)
            for (j, d), name in dim_names.items():
                if j == i and isinstance(value.shape[d], torch.SymInt):
                    symbols[str(value.shape[d].node.expr)] = name
            nodes.append(
                NodeIR(node.name, NodeKind.INPUT, arg_names[i], (), _metas(value, symbols))
            )
            inputs.append(node.name)
            refs[node.name] = node.name
        elif node.op == "get_attr":
            attr: Any = gm
            for part in node.target.split("."):
                attr = getattr(attr, part)
            if isinstance(attr, Tensor):
                refs[node.name] = register(attr, node.target)
        elif node.op in ("call_function", "call_method", "call_module"):
            read = reads(node)
            if node.op == "call_module":
                module = gm.get_submodule(node.target)
                target = f"module.{type(module).__module__}.{type(module).__qualname__}"
                for cls in type(module).__mro__:
                    if cls in MODULE_OPS:
                        target = f"aten.{MODULE_OPS[cls]}"
                        break
                held = [register(t, n) for n, t in module.named_parameters(prefix=node.target)]
                held += [register(b, n) for n, b in module.named_buffers(prefix=node.target)]
                read = held + read if target[5:] in STATE_FIRST_OPS else read + held
            else:
                target = _target(node.op, node.target)
            metas = _metas(_value(node), symbols)
            nodes.append(NodeIR(node.name, NodeKind.CALL, target, tuple(read), metas))
            refs[node.name] = node.name
        elif node.op == "output":
            outputs = reads(node)
    return GraphIR(method, tuple(nodes), tuple(inputs), tuple(outputs), params, buffers, constants)


def _value(node: torch.fx.Node) -> Any:
    if "val" in node.meta:
        return node.meta["val"]  # export's fake value
    if "example_value" in node.meta:
        return node.meta["example_value"]  # dynamo's fake value
    if "tensor_meta" in node.meta:
        return node.meta["tensor_meta"]  # ShapeProp's TensorMetadata (shape, dtype, ...)
    return None


def _metas(value: Any, symbols: dict[str, str]) -> tuple[TensorMeta, ...]:
    if value is None:
        return ()
    if isinstance(value, (Tensor, torch.fx.passes.shape_prop.TensorMetadata)):
        return (_meta(value, symbols),)
    if isinstance(value, (tuple, list)):
        return tuple(m for v in value for m in _metas(v, symbols))
    if isinstance(value, dict):
        return tuple(m for v in value.values() for m in _metas(v, symbols))
    return ()  # ints, SymInts, None


def _meta(value: Any, symbols: dict[str, str]) -> TensorMeta:
    """TensorMeta of a (fake) tensor or ShapeProp's TensorMetadata."""
    shape: list[int] = []
    sym: list[str] = []
    sizes: tuple[int | torch.SymInt, ...] = tuple(value.shape)
    for size in sizes:
        if isinstance(size, torch.SymInt) and size.node.expr.free_symbols:
            hint = size.node.hint
            shape.append(-1 if hint is None else int(hint))
            text = str(size.node.expr)
            for raw, name in symbols.items():
                text = _replace_word(text, raw, name)
            sym.append(text)
        else:
            shape.append(int(size))
            sym.append(str(int(size)))
    dynamic = any(isinstance(s, torch.SymInt) and s.node.expr.free_symbols for s in sizes)
    dtype = str(value.dtype).removeprefix("torch.")
    return TensorMeta(tuple(shape), dtype, tuple(sym) if dynamic else None)


def _replace_word(text: str, word: str, new: str) -> str:
    """Replace whole-word occurrences of ``word`` (so s2 does not hit s23)."""
    out = []
    i = 0
    while i < len(text):
        is_start = i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        end = i + len(word)
        is_end = end >= len(text) or not (text[end].isalnum() or text[end] == "_")
        if text.startswith(word, i) and is_start and is_end:
            out.append(new)
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _target(op: str, target: Any) -> str:
    if op == "call_method":
        return f"aten.{target}" if hasattr(torch.ops.aten, target) else f"method.{target}"
    if isinstance(target, (OpOverload, OpOverloadPacket)):
        return str(target)
    if isinstance(target, HigherOrderOperator):
        return f"higher_order.{target.name()}"
    if target in PYTHON_OPERATORS:
        return PYTHON_OPERATORS[target]
    name = getattr(target, "__name__", repr(target))
    module = getattr(target, "__module__", None) or "builtins"
    if module.startswith("torch") and hasattr(torch.ops.aten, name):
        return f"aten.{name}"
    return f"python.{module}.{getattr(target, '__qualname__', name)}"


def summarize(ir: GraphIR) -> GraphSummary:
    """Op histogram, parameter count, FLOPs and peak memory (contract: ``starter.py``); the
    peak by brute force, re-adding every live tensor at each step: O(n^2)."""
    if not isinstance(ir, GraphIR):
        raise TypeError(f"ir must be a GraphIR, got {type(ir).__name__}")
    calls = [n for n in ir.nodes if n.kind is NodeKind.CALL]
    flops_by_op: dict[str, int] = {}
    for node in calls:
        flops = _flops(ir, node)
        if flops > 0:
            flops_by_op[node.op] = flops_by_op.get(node.op, 0) + flops
    params = 0
    for meta in ir.parameters.values():
        params += meta.numel
    return GraphSummary(
        node_count=len(calls),
        op_histogram=dict(Counter(n.target for n in calls).most_common()),
        parameter_count=params,
        flops=sum(flops_by_op.values()),
        flops_by_op=flops_by_op,
        peak_activation_bytes=_peak(ir),
    )


def _flops(ir: GraphIR, node: NodeIR) -> int:
    if not node.target.startswith("aten.") or not node.outputs:
        return 0
    out = node.outputs[0]
    ins = []
    for ref in node.inputs:
        meta = ir.tensor(ref)
        if meta is None or -1 in meta.shape:
            return 0
        ins.append(meta)
    if -1 in out.shape:
        return 0
    op = node.op
    if op in ("linear", "matmul", "mm", "bmm") and len(ins) >= 1:
        return 2 * out.numel * ins[0].shape[-1]
    if op in ("addmm", "baddbmm") and len(ins) >= 2:
        return 2 * out.numel * ins[1].shape[-1]
    if op in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d") and len(ins) >= 2:
        kernel = 1
        for s in ins[1].shape[1:]:  # weight (C_in, C_out / groups, *kernel)
            kernel *= s
        return 2 * ins[0].numel * kernel  # every input element meets C_out/g * kernel weights
    if op in ("conv1d", "conv2d", "conv3d", "convolution", "_convolution") and len(ins) >= 2:
        kernel = 1
        for s in ins[1].shape[1:]:
            kernel *= s
        return 2 * out.numel * kernel
    if "scaled_dot_product" in op and len(ins) >= 3:
        q, k, v = ins[0].shape, ins[1].shape, ins[2].shape
        rows = 1
        for s in q[:-1]:
            rows *= s
        return 2 * rows * k[-2] * q[-1] + 2 * rows * k[-2] * v[-1]
    return 0


def _peak(ir: GraphIR) -> int:
    """At each step, add up every tensor produced so far that is still needed. O(n^2)."""
    nodes = ir.nodes
    last_use = []
    for j, node in enumerate(nodes):
        last = j
        for i in range(j + 1, len(nodes)):
            if node.name in nodes[i].inputs:
                last = i
        if node.name in ir.outputs:
            last = len(nodes) - 1
        last_use.append(last)
    peak = 0
    for i in range(len(nodes)):
        live = 0
        for j in range(i + 1):
            if last_use[j] >= i:
                live += sum(m.nbytes for m in nodes[j].outputs)
        peak = max(peak, live)
    return peak


def to_dot(ir: GraphIR) -> str:
    """Graphviz DOT text for the IR (format: ``starter.py``)."""
    if not isinstance(ir, GraphIR):
        raise TypeError(f"ir must be a GraphIR, got {type(ir).__name__}")
    names = [n.name for n in ir.nodes]
    lines = [f'digraph "{ir.method.value}" {{', "  rankdir=TB;"]
    for node in ir.nodes:
        label = [node.name, node.target]
        for ref in node.inputs:
            if ref not in names:
                label.append(f"reads {ref}")
        for meta in node.outputs:
            sizes = meta.sym_shape if meta.sym_shape is not None else [str(s) for s in meta.shape]
            label.append(f"({', '.join(sizes)}) {meta.dtype}")
        attrs = f"label={_quote(chr(10).join(label))}"
        attrs += ", shape=ellipse" if node.kind is NodeKind.INPUT else ", shape=box"
        if node.name in ir.outputs:
            attrs += ", peripheries=2"
        lines.append(f"  {_quote(node.name)} [{attrs}];")
    for node in ir.nodes:
        done = set()
        for ref in node.inputs:
            if ref in names and ref not in done:
                lines.append(f"  {_quote(ref)} -> {_quote(node.name)};")
                done.add(ref)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def explain_breaks(model: nn.Module, example_inputs: Sequence[Tensor]) -> BreakReport:
    """Where and why dynamo breaks the model's graph (contract: ``starter.py``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(example_inputs, (tuple, list)) or not all(
        isinstance(x, Tensor) for x in example_inputs
    ):
        raise TypeError("example_inputs must be a tuple or list of tensors")
    import torch._dynamo as dynamo

    result = dynamo.explain(model)(*example_inputs)
    breaks = []
    for reason in result.break_reasons:
        stack = reason.user_stack
        location = f"{stack[-1].filename}:{stack[-1].lineno}" if stack else ""
        first_line = reason.reason.strip().splitlines()[0]
        breaks.append(GraphBreak(first_line, Construct.classify(reason.reason), location))
    return BreakReport(result.graph_count, result.op_count, tuple(breaks))
