"""Challenge 05 - graph extraction: the simple, obviously correct baseline.

One idea throughout: capture the graph with the method's tracer, then RUN it once on the real
example inputs (a ``torch.fx.Interpreter``, as ``ShapeProp`` does) and describe what each node
actually produced. Shapes, dtypes and the overload of every torch-level call come from real
values, so nothing depends on which metadata a tracer left on its nodes (only symbolic sizes,
which no real tensor has, are read from the tracer's fake values). The cost grows with the
input: the graph computes for real. Dynamo's graph is copied node by node into a new graph that
takes the caller's inputs. Peak memory re-adds every live tensor at every step (O(nodes^2)).
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from types import BuiltinFunctionType
from typing import Any

import torch
from torch import Tensor, nn
from torch._ops import HigherOrderOperator, OpOverload
from torch.export import Dim
from torch.utils import _pytree as pytree

from challenge_05_fx_graph_extraction.breaks import (
    BreakReport,
    Construct,
    ExtractionError,
    GraphBreak,
)
from challenge_05_fx_graph_extraction.ir import (
    PYTHON_OPERATORS,
    ExtractedGraph,
    GraphIR,
    GraphSummary,
    Method,
    NodeIR,
    NodeKind,
    TensorMeta,
    arg_refs,
    encode_arg,
    module_call,
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
    decompose: bool = False,
) -> ExtractedGraph:
    """Capture ``model`` and describe the graph as a ``GraphIR`` (contract: ``starter.py``).

    The graph is captured, then run once on ``example_inputs``; the IR describes the values
    that run produced."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError(
            f"example_inputs must be a tuple or list of tensors, got {type(example_inputs)}"
        )
    for i, x in enumerate(example_inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"example_inputs[{i}] must be a torch.Tensor, got {type(x).__name__}")
    if not isinstance(method, str):
        raise TypeError(f"method must be a Method or str, got {type(method).__name__}")
    if method not in [m.value for m in Method]:
        raise ValueError(f"method must be one of {[m.value for m in Method]}, got {method!r}")
    how = Method(method)
    for flag, value in (("strict", strict), ("decompose", decompose)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be a bool, got {type(value).__name__}")
        if value and how is not Method.EXPORT:
            raise ValueError(f"{flag}=True applies to method='export' only")
    inputs = tuple(example_inputs)
    shapes, names = _dynamic_shapes(dynamic_dims, inputs, how)

    try:
        if how is Method.EXPORT:
            program = torch.export.export(model, inputs, dynamic_shapes=shapes, strict=strict)
            if decompose:
                program = program.run_decompositions()
            gm = program.module(check_guards=False)
        elif how is Method.DYNAMO:
            gm = _compile_and_copy(model, inputs, shapes)
        else:
            gm = _trace_given(model, len(inputs))
        values = _run(gm, inputs)  # every node's real value
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        raise ExtractionError(
            how, Construct.classify(message), message, type(model).__name__
        ) from exc

    return ExtractedGraph(gm, _build_ir(gm, values, model, how, len(inputs), names))


def _run(gm: torch.fx.GraphModule, inputs: tuple[Tensor, ...]) -> dict[str, Any]:
    """Run ``gm`` on ``inputs`` and keep what every node produced, by node name."""
    values: dict[str, Any] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n: torch.fx.Node) -> Any:
            values[n.name] = super().run_node(n)
            return values[n.name]

    with torch.no_grad():
        Recorder(gm).run(*inputs)
    return values


def _compile_and_copy(
    model: nn.Module, inputs: tuple[Tensor, ...], shapes: tuple[dict[int, Dim] | None, ...] | None
) -> torch.fx.GraphModule:
    """Dynamo's graph through ``torch.compile`` with a backend that keeps it, copied into a new
    graph with the caller's inputs as placeholders: a lifted parameter becomes a ``get_attr``
    of its FQN, a lifted size becomes ``x.size(d)``."""
    kept = []

    def keep(gm: torch.fx.GraphModule, example_inputs: list[Any]) -> Any:
        kept.append((gm, example_inputs))
        return gm.forward

    args = [x.detach() for x in inputs]
    for x, spec in zip(args, shapes or (), strict=False):
        for d, dim in (spec or {}).items():
            low, high = dim.min, dim.max
            torch._dynamo.mark_dynamic(
                x, d, min=low if low > 2 else None, max=high if high < 2**62 else None
            )
    torch.compiler.reset()
    try:
        out = torch.compile(model, backend=keep, fullgraph=True)(*args)
    finally:
        torch.compiler.reset()
    ((source, example),) = kept

    fqn = {id(t): n for n, t in [*model.named_parameters(), *model.named_buffers()]}
    graph = torch.fx.Graph()
    root = nn.Module()
    env: dict[torch.fx.Node, torch.fx.Node] = {}
    mine = [graph.placeholder(f"input_{i}") for i in range(len(args))]
    placeholders = [n for n in source.graph.nodes if n.op == "placeholder"]
    sizes: list[torch.fx.Node] = []
    for node, value in zip(placeholders, example, strict=True):
        user = [i for i, x in enumerate(args) if x is value]
        if user:
            env[node] = mine[user[0]]
            mine[user[0]].meta = dict(node.meta)  # the fake value: symbolic sizes
        elif isinstance(value, Tensor):
            name = fqn.get(id(value), f"lifted_{len(env)}")
            _set_attr(root, name, value)
            env[node] = graph.get_attr(name)
        else:
            sizes.append(node)
    for node in sizes:  # a SymInt size: the first input dimension with the same symbol
        env[node] = _size_of(graph, mine, str(node.meta["example_value"]))
    for node in source.graph.nodes:
        if node.op == "output":
            result = node.args[0]
            if isinstance(out, Tensor) and isinstance(result, (tuple, list)):
                result = result[0]  # the model returns one tensor, not a 1-tuple
            graph.output(pytree.tree_map(lambda n: env.get(n, n), result))
        elif node.op != "placeholder":
            env[node] = graph.node_copy(node, lambda n: env[n])
    return torch.fx.GraphModule(root, graph, class_name=type(model).__name__)


def _set_attr(root: nn.Module, name: str, value: Tensor) -> None:
    """Register ``value`` at the dotted ``name`` under ``root``, making the submodules."""
    *path, leaf = name.split(".")
    for part in path:
        if not hasattr(root, part):
            root.add_module(part, nn.Module())
        root = getattr(root, part)
    root.register_buffer(leaf, value)


def _size_of(graph: torch.fx.Graph, inputs: list[torch.fx.Node], symbol: str) -> torch.fx.Node:
    for node in inputs:
        for d, size in enumerate(node.meta["example_value"].shape):
            if str(size) == symbol:
                with graph.inserting_after(inputs[-1]):
                    read: torch.fx.Node = graph.call_method("size", (node, d))
                return read
    raise ValueError(f"a graph input is a size ({symbol}) that no input dimension has")


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
    values: dict[str, Any],
    model: nn.Module,
    method: Method,
    n_inputs: int,
    dim_names: dict[tuple[int, int], str],
) -> GraphIR:
    """Describe every node from the value it produced in the recorded run."""
    owner: dict[int, tuple[str, str]] = {}
    for name, param in model.named_parameters():
        owner.setdefault(id(param), ("parameter", name))
    for name, buf in model.named_buffers():
        owner.setdefault(id(buf), ("buffer", name))
    tables: dict[str, dict[str, TensorMeta]] = {"parameter": {}, "buffer": {}, "constant": {}}
    arg_names = [
        p.name
        for p in inspect.signature(model.forward).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ][:n_inputs]
    arg_names += [f"input_{i}" for i in range(len(arg_names), n_inputs)]
    symbols: dict[str, str] = {}  # raw symbol ("s23") -> the user's name ("batch")
    ir_names: dict[str, str] = {}  # FX node name -> the IR name it stands for
    module_state: dict[int, str] = {}  # the current leaf module's tensors -> FQN
    nodes: list[NodeIR] = []
    inputs: list[str] = []
    outputs: tuple[str, ...] = ()

    def state(tensor: Tensor, fallback: str) -> str:
        kind, name = owner.get(id(tensor), ("constant", fallback))
        tables[kind][name] = _meta(tensor, None, symbols)
        return name

    def refer(value: Any) -> str | None:
        if isinstance(value, torch.fx.Node):
            return ir_names.get(value.name)
        if isinstance(value, Tensor):
            return state(value, module_state.get(id(value), "constant"))
        return None

    for node in gm.graph.nodes:
        value = values.get(node.name)
        fake = node.meta.get("val", node.meta.get("example_value"))
        if node.op == "placeholder":
            i = len(inputs)
            for (j, d), name in dim_names.items():
                if j == i and isinstance(fake.shape[d], torch.SymInt):
                    symbols[str(fake.shape[d])] = name
            metas = _metas(value, fake, symbols)
            nodes.append(NodeIR(node.name, NodeKind.INPUT, arg_names[i], (), metas))
            inputs.append(node.name)
            ir_names[node.name] = node.name
        elif node.op == "get_attr":
            if isinstance(value, Tensor):  # not a torch.cond subgraph
                ir_names[node.name] = state(value, node.target)
        elif node.op == "output":
            outputs = tuple(arg_refs(encode_arg(node.args[0], refer)))
        else:
            extra: list[str] = []
            if node.op == "call_module":
                module = gm.get_submodule(node.target)
                own = [*module.named_parameters(node.target), *module.named_buffers(node.target)]
                module_state = {id(t): name for name, t in own}
                call = None
                if len(node.args) == 1 and not node.kwargs:
                    call = module_call(module, node.args[0])
                if call is None:
                    cls = type(module)
                    call = (f"module.{cls.__module__}.{cls.__qualname__}", node.args, node.kwargs)
                    extra = [state(t, name) for name, t in own]
                target, args, kwargs = call
            else:
                target, args, kwargs = _target(node, values)
            encoded = [encode_arg(a, refer) for a in args]
            named = {k: encode_arg(v, refer) for k, v in kwargs.items()}
            reads = [ref for a in [*encoded, *named.values()] for ref in arg_refs(a)] + extra
            metas = _metas(value, fake, symbols)
            nodes.append(
                NodeIR(node.name, NodeKind.CALL, target, tuple(reads), metas, tuple(encoded), named)
            )
            ir_names[node.name] = node.name
    return GraphIR(
        method,
        tuple(nodes),
        tuple(inputs),
        outputs,
        tables["parameter"],
        tables["buffer"],
        tables["constant"],
    )


def _target(node: torch.fx.Node, values: dict[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    """(target, args, kwargs) in the IR's vocabulary; ATen overloads resolved on real values."""
    args, kwargs, f = tuple(node.args), dict(node.kwargs), node.target
    if node.op == "call_method":
        name = str(f)
        for candidate in (args, (args[0], list(args[1:]))):  # x.view(2, -1): sizes as a list
            overload = _overload(name, candidate, kwargs, values)
            if overload is not None:
                return f"aten.{name}.{overload}", candidate, kwargs
        return f"method.{name}", args, kwargs
    if isinstance(f, OpOverload):
        return str(f), args, kwargs
    if isinstance(f, HigherOrderOperator):
        return f"higher_order.{f.name()}", args, kwargs
    if f in PYTHON_OPERATORS:
        aten = PYTHON_OPERATORS[f]
        first = values[args[0].name] if args and isinstance(args[0], torch.fx.Node) else None
        if aten.startswith("aten.") and isinstance(first, Tensor):
            overload = _overload(aten.removeprefix("aten."), args, kwargs, values)
            if overload is not None:
                return f"{aten}.{overload}", args, kwargs
        return f"python.operator.{getattr(f, '__name__', f)}", args, kwargs
    module = getattr(f, "__module__", None) or "builtins"
    name = getattr(f, "__name__", repr(f))
    if isinstance(f, BuiltinFunctionType) and module.startswith("torch"):
        overload = _overload(name, args, kwargs, values)
        if overload is not None:
            return f"aten.{name}.{overload}", args, kwargs
    return f"python.{module}.{getattr(f, '__qualname__', name)}", args, kwargs


def _overload(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], values: dict[str, Any]
) -> str | None:
    """The aten::name overload the real argument values select, if any accepts them."""
    if not hasattr(torch.ops.aten, name):
        return None

    def real(a: Any) -> Any:
        return values[a.name] if isinstance(a, torch.fx.Node) else a

    real_args, real_kwargs = pytree.tree_map(real, (args, kwargs))
    try:
        overload: str = torch._C._jit_resolve_packet(f"aten::{name}", *real_args, **real_kwargs)
    except RuntimeError:
        return None
    return overload


def _metas(value: Any, fake: Any, symbols: dict[str, str]) -> tuple[TensorMeta, ...]:
    """One TensorMeta per tensor the node produced; symbolic sizes from the tracer's fake
    value of the same position (export and dynamo record them)."""
    real = [t for t in pytree.tree_leaves(value) if isinstance(t, Tensor)]
    fakes = [t for t in pytree.tree_leaves(fake) if isinstance(t, Tensor)]
    if len(fakes) != len(real):
        fakes = []
    return tuple(_meta(t, fakes[i] if fakes else None, symbols) for i, t in enumerate(real))


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _meta(tensor: Tensor, fake: Tensor | None, symbols: dict[str, str]) -> TensorMeta:
    dtype = str(tensor.dtype).removeprefix("torch.")
    sizes: tuple[int | torch.SymInt, ...] = tuple(fake.shape) if fake is not None else ()
    if not any(isinstance(s, torch.SymInt) and s.node.expr.free_symbols for s in sizes):
        return TensorMeta(tuple(tensor.shape), dtype)
    sym = tuple(_WORD.sub(lambda m: symbols.get(m[0], m[0]), str(s)) for s in sizes)
    return TensorMeta(tuple(tensor.shape), dtype, sym)


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
    transposed = op in ("convolution", "_convolution") and node.args[6:7] == (True,)
    if (op.startswith("conv_transpose") or transposed) and len(ins) >= 2:
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
