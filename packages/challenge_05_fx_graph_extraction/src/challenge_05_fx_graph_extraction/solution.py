"""Challenge 05 - graph extraction with torch.export, FX and dynamo: the reference solution.

``extract_graph`` captures a model three ways and describes the graph it got in one
standardized, JSON-serializable ``GraphIR``; ``summarize`` reads FLOPs, parameters and peak
activation memory off the IR alone; ``to_dot`` draws it; ``explain_breaks`` asks dynamo where
and why a model falls back to Python.

Production choices, compared with the baseline:
- symbolic_trace graphs get their shapes from ``FakeTensorProp`` (fake tensors: shapes and dtypes
  only, no arithmetic), so the cost does not grow with the input size; export and dynamo graphs
  already carry fake values in ``node.meta``;
- ATen overloads of torch-level calls are resolved on those fake values (the baseline runs the
  graph for real to get values); Dynamo's graph is rewritten in place to take the caller's
  inputs (the baseline copies it node by node);
- the peak-memory walk is one pass with a precomputed free list: O(nodes + edges);
- every argument is validated up front with a ``TypeError``/``ValueError`` that names it.
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from types import BuiltinFunctionType
from typing import Any

import torch
from torch import Tensor, nn
from torch._ops import HigherOrderOperator, OpOverload, OpOverloadPacket
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.export import Dim
from torch.fx.passes.fake_tensor_prop import FakeTensorProp
from torch.utils import _pytree as pytree

from challenge_05_fx_graph_extraction.breaks import (
    BreakReport,
    Construct,
    ExtractionError,
    GraphBreak,
)
from challenge_05_fx_graph_extraction.ir import (
    PYTHON_OPERATORS,
    Arg,
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

# One entry per example input: None (all static) or {dim index: name or torch.export.Dim}.
DynamicDims = Sequence[Mapping[int, str | Dim] | None]
# Normalized per input: {dim index: Dim}; what torch.export's `dynamic_shapes` takes as a tuple.
_Shapes = tuple[dict[int, Dim] | None, ...]


# ---- Task 1 (and 5): capture and describe ---------------------------------------------------


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

    Beyond the contract: symbolic_trace graphs get their shapes from ``FakeTensorProp`` (shapes
    and dtypes only, no arithmetic, so the cost does not grow with the input size); export and
    dynamo graphs already carry fake values in ``node.meta``; every argument is validated up
    front, before any tracer runs.
    """
    _check_model(model)
    inputs = _check_inputs(example_inputs)
    how = _check_method(method)
    _check_export_flag("strict", strict, how)
    _check_export_flag("decompose", decompose, how)
    shapes = _dynamic_shapes(dynamic_dims, inputs, how)
    try:
        gm = _capture(model, inputs, how, shapes, strict, decompose)
    except Exception as exc:  # every tracer failure becomes one error that names the construct
        message = f"{type(exc).__name__}: {exc}"
        raise ExtractionError(
            how, Construct.classify(message), message, type(model).__name__
        ) from exc
    dim_names = {
        (i, d): str(dim.__name__)
        for i, spec in enumerate(shapes or ())
        for d, dim in (spec or {}).items()
    }
    return ExtractedGraph(gm, _build_ir(gm, model, how, len(inputs), dim_names))


def _capture(
    model: nn.Module,
    inputs: tuple[Tensor, ...],
    method: Method,
    shapes: _Shapes | None,
    strict: bool,
    decompose: bool,
) -> torch.fx.GraphModule:
    """The method's GraphModule, callable like the model, with shape metadata on every node."""
    if method is Method.EXPORT:
        # strict=False (torch's default since 2.5, pinned here): run forward as Python with
        # fake tensors and record what reaches the dispatcher. strict=True: Dynamo's bytecode
        # analysis first, which rejects more Python but guarantees the trace is sound.
        program = torch.export.export(model, inputs, dynamic_shapes=shapes, strict=strict)
        if decompose:
            # the default table lowers to core ATen (~180 operators): a fixed op set
            program = program.run_decompositions()
        # check_guards=False: no extra `_guards_fn` node; the IR describes the graph as it runs
        return program.module(check_guards=False)
    if method is Method.DYNAMO:
        return _capture_with_compile(model, inputs, shapes)
    gm = _symbolic_trace(model, len(inputs))
    # Fake tensors carry shape and dtype through every op without computing anything.
    FakeTensorProp(gm, FakeTensorMode(allow_non_fake_inputs=True)).propagate(*inputs)
    return gm


def _capture_with_compile(
    model: nn.Module, inputs: tuple[Tensor, ...], shapes: _Shapes | None
) -> torch.fx.GraphModule:
    """Dynamo's graph through the public route: ``torch.compile`` with a backend that keeps the
    GraphModule it is handed. ``fullgraph=True`` turns a graph break (which would hand the
    backend several graphs) into an error naming the construct.

    Dynamo lifts parameters and buffers to graph inputs and orders inputs by first use; the
    graph is rewritten to read the state with ``get_attr`` and to take exactly the caller's
    inputs, in ``forward``'s order, so it runs like the model.
    """
    captured: list[tuple[torch.fx.GraphModule, list[Any]]] = []

    def keep_graph(gm: torch.fx.GraphModule, example_inputs: list[Any]) -> Any:
        captured.append((gm, list(example_inputs)))
        return gm.forward

    args = [x.detach() for x in inputs]  # own tensor objects: mark_dynamic tags them
    for i, spec in enumerate(shapes or ()):
        for d, dim in (spec or {}).items():
            low, high = getattr(dim, "min", None), getattr(dim, "max", None)
            torch._dynamo.mark_dynamic(
                args[i],
                d,
                min=low if isinstance(low, int) and low > 2 else None,
                max=high if isinstance(high, int) and high < 2**62 else None,
            )
    torch.compiler.reset()  # a cached compile of this forward would not call the backend
    try:
        out = torch.compile(model, backend=keep_graph, fullgraph=True)(*args)
    finally:
        torch.compiler.reset()
    ((gm, example),) = captured  # fullgraph: exactly one graph
    with warnings.catch_warnings():
        # get_attr nodes are added before the new root holding their tensors exists; FX warns
        # about each, although the GraphModule built at the end resolves all of them
        warnings.simplefilter("ignore", UserWarning)
        return _as_model_graph(gm, example, model, args, out)


def _as_model_graph(
    gm: torch.fx.GraphModule,
    example: list[Any],
    model: nn.Module,
    args: list[Tensor],
    out: Any,
) -> torch.fx.GraphModule:
    """Rewrite a backend's graph to be called like ``model``: lifted state becomes ``get_attr``,
    size inputs are read off the tensors, user inputs come in ``forward``'s order."""
    graph = gm.graph
    owners = {id(t): name for name, t in (*model.named_parameters(), *model.named_buffers())}
    position = {id(x): i for i, x in enumerate(args)}
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    state: dict[str, Any] = {}
    by_position: dict[int, torch.fx.Node] = {}
    sizes: list[tuple[torch.fx.Node, Any]] = []
    anchor = placeholders[-1]
    for node, value in zip(placeholders, example, strict=True):
        if id(value) in position:
            by_position[position[id(value)]] = node
            continue
        if not isinstance(value, Tensor):
            sizes.append((node, _value(node)))  # a SymInt size: recomputed from the inputs
            continue
        name = owners.get(id(value)) or f"_lifted_{len(state)}"
        state[name] = value
        with graph.inserting_after(anchor):
            attr = graph.get_attr(name)
        node.replace_all_uses_with(attr)
        graph.erase_node(node)
    for i, x in enumerate(args):  # an input the graph never reads still takes its place
        if i not in by_position:
            with graph.inserting_before(next(iter(graph.nodes))):
                by_position[i] = graph.placeholder(f"unused_{i}")
            by_position[i].meta["val"] = x
    for i in reversed(range(len(args))):
        first = next(iter(graph.nodes))
        if first is not by_position[i]:
            first.prepend(by_position[i])
    for node, size in sizes:
        _read_size_from_inputs(graph, node, size, [by_position[i] for i in range(len(args))])
    output = next(n for n in graph.nodes if n.op == "output")
    flat = output.args[0]
    if isinstance(out, Tensor) and isinstance(flat, (tuple, list)) and len(flat) == 1:
        output.args = (flat[0],)  # the model returns one tensor, not a 1-tuple
    result = torch.fx.GraphModule(state, graph, class_name=type(model).__name__)
    result.recompile()
    return result


def _read_size_from_inputs(
    graph: torch.fx.Graph, node: torch.fx.Node, size: Any, inputs: list[torch.fx.Node]
) -> None:
    """Replace a SymInt placeholder by ``x.size(d)`` of the first input dimension that is it."""
    expr = str(size.node.expr) if isinstance(size, torch.SymInt) else None
    for source in inputs:
        value = _value(source)
        for d, dim in enumerate(getattr(value, "shape", ())):
            if isinstance(dim, torch.SymInt) and str(dim.node.expr) == expr:
                with graph.inserting_after(inputs[-1]):
                    read = graph.call_method("size", (source, d))
                read.meta["example_value"] = dim
                node.replace_all_uses_with(read)
                graph.erase_node(node)
                return
    raise ValueError(f"graph input {node.name} is a size no input dimension has")


def _symbolic_trace(model: nn.Module, n_given: int) -> torch.fx.GraphModule:
    """``symbolic_trace`` with every defaulted argument the caller did not give fixed to its
    default (``concrete_args``, as Hugging Face's tracer does): ``forward(x, mask=None)`` called
    with ``(x,)`` is traced as the ``mask is None`` path, not with a Proxy standing for a mask.

    FX keeps a placeholder and an assertion for each concrete argument; both are removed, so
    the graph takes exactly the caller's inputs.
    """
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = [p for p in inspect.signature(model.forward).parameters.values() if p.kind in kinds]
    concrete = {p.name: p.default for p in params[n_given:] if p.default is not p.empty}
    gm = torch.fx.symbolic_trace(model, concrete_args=concrete or None)
    if not concrete:
        return gm
    fixed = [n for n in gm.graph.nodes if n.op == "placeholder"][n_given:]
    doomed: dict[torch.fx.Node, None] = {}
    for node in fixed:  # the placeholder and the checks that read it (nothing else does)
        stack = [node]
        while stack:
            current = stack.pop()
            if current not in doomed:
                doomed[current] = None
                stack.extend(current.users)
    order = {node: k for k, node in enumerate(gm.graph.nodes)}
    for node in sorted(doomed, key=order.__getitem__, reverse=True):  # readers first
        gm.graph.erase_node(node)
    gm.recompile()
    return gm


def _build_ir(
    gm: torch.fx.GraphModule,
    model: nn.Module,
    method: Method,
    n_inputs: int,
    dim_names: Mapping[tuple[int, int], str],
) -> GraphIR:
    """Walk ``gm.graph`` once and write every node in the IR's vocabulary (see ``ir.py``)."""
    owners = _state_owners(model)
    arg_names = _forward_arg_names(model, n_inputs)
    tables: dict[str, dict[str, TensorMeta]] = {"parameter": {}, "buffer": {}, "constant": {}}
    refs: dict[str, str] = {}  # FX name of a get_attr node or IR node -> the IR name it means
    symbols: dict[str, str] = {}  # sympy symbol name ("s23") -> the user's dim name ("batch")
    nodes: list[NodeIR] = []
    inputs: list[str] = []
    outputs: tuple[str, ...] = ()

    def register(tensor: Tensor, fallback: str) -> str:
        kind, name = owners.get(id(tensor), ("constant", fallback))
        if name not in tables[kind]:
            tables[kind][name] = _tensor_meta(tensor, symbols)
        return name

    def refer(value: Any) -> str | None:
        if isinstance(value, torch.fx.Node):
            return refs.get(value.name)
        if isinstance(value, Tensor):  # a leaf module's own parameter or buffer
            return register(value, held.get(id(value), "constant"))
        return None

    held: dict[int, str] = {}
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            position = len(inputs)
            value = _value(node)
            for (i, d), name in dim_names.items():
                if i == position:
                    _bind_symbol(value.shape[d], name, symbols)
            metas = _tensor_metas(value, symbols)
            nodes.append(NodeIR(node.name, NodeKind.INPUT, arg_names[position], (), metas))
            inputs.append(node.name)
            refs[node.name] = node.name
        elif node.op == "get_attr":
            attr = _fetch_attr(gm, node.target)
            if isinstance(attr, Tensor):  # a subgraph of torch.cond is not data: not listed
                refs[node.name] = register(attr, node.target)
        elif node.op in ("call_function", "call_method", "call_module"):
            extra: list[str] = []
            if node.op == "call_module":
                module = gm.get_submodule(node.target)
                state = [*module.named_parameters(node.target), *module.named_buffers(node.target)]
                held = {id(t): name for name, t in state}
                target, args, kwargs = _module_call(node, module)
                if target.startswith("module."):  # opaque: the module's state is read too
                    extra = [register(t, name) for name, t in state]
            else:
                target, args, kwargs = _normalize_target(node)
            encoded = tuple(encode_arg(a, refer) for a in args)
            named = {k: encode_arg(v, refer) for k, v in kwargs.items()}
            read = (*_node_inputs(encoded, named), *extra)
            metas = _tensor_metas(_value(node), symbols)
            nodes.append(NodeIR(node.name, NodeKind.CALL, target, read, metas, encoded, named))
            refs[node.name] = node.name
        elif node.op == "output":
            outputs = tuple(arg_refs(encode_arg(node.args[0], refer)))
    return GraphIR(
        method=method,
        nodes=tuple(nodes),
        inputs=tuple(inputs),
        outputs=outputs,
        parameters=tables["parameter"],
        buffers=tables["buffer"],
        constants=tables["constant"],
    )


def _state_owners(model: nn.Module) -> dict[int, tuple[str, str]]:
    """id(tensor) -> ("parameter" | "buffer", FQN). By identity, so a tied weight (GPT-2's
    lm_head and wte) is one parameter whatever name the tracer gave its attribute."""
    owners: dict[int, tuple[str, str]] = {}
    for name, param in model.named_parameters():
        owners.setdefault(id(param), ("parameter", name))
    for name, buf in model.named_buffers():
        owners.setdefault(id(buf), ("buffer", name))
    return owners


def _forward_arg_names(model: nn.Module, n_inputs: int) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = inspect.signature(model.forward).parameters.values()
    names = [p.name for p in params if p.kind in kinds][:n_inputs]
    return names + [f"input_{i}" for i in range(len(names), n_inputs)]


def _fetch_attr(gm: torch.fx.GraphModule, target: str) -> Any:
    obj: Any = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _value(node: torch.fx.Node) -> Any:
    """The (fake) value a node produced: export and FakeTensorProp write ``val``, dynamo
    writes ``example_value``."""
    return node.meta.get("val", node.meta.get("example_value"))


def _node_inputs(args: tuple[Arg, ...], kwargs: Mapping[str, Arg]) -> tuple[str, ...]:
    """What a call reads: the ``ref``s of its positional, then its keyword arguments, in order
    (lists flattened, a value passed twice listed twice)."""
    return tuple(ref for arg in (*args, *kwargs.values()) for ref in arg_refs(arg))


def _bind_symbol(size: int | torch.SymInt, name: str, symbols: dict[str, str]) -> None:
    """Remember that the symbol behind a dynamic input size is the user's ``name``."""
    if isinstance(size, torch.SymInt):
        symbols[str(size.node.expr)] = name


_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tensor_metas(value: Any, symbols: Mapping[str, str]) -> tuple[TensorMeta, ...]:
    return tuple(
        _tensor_meta(t, symbols) for t in pytree.tree_leaves(value) if isinstance(t, Tensor)
    )


def _tensor_meta(tensor: Tensor, symbols: Mapping[str, str]) -> TensorMeta:
    shape: list[int] = []
    sym: list[str] = []
    dynamic = False
    sizes: tuple[int | torch.SymInt, ...] = tuple(tensor.shape)  # SymInts when dynamic
    for size in sizes:
        if isinstance(size, torch.SymInt) and size.node.expr.free_symbols:
            dynamic = True
            hint = size.node.hint  # the example's value (None: data-dependent, unknown)
            shape.append(-1 if hint is None else int(hint))
            text = str(size.node.expr)
            sym.append(_SYMBOL.sub(lambda m: symbols.get(m.group(0), m.group(0)), text))
        else:
            shape.append(int(size))
            sym.append(str(int(size)))
    dtype = str(tensor.dtype).removeprefix("torch.")
    return TensorMeta(tuple(shape), dtype, tuple(sym) if dynamic else None)


_Call = tuple[str, tuple[Any, ...], dict[str, Any]]


def _module_call(node: torch.fx.Node, module: nn.Module) -> _Call:
    """A leaf module's call as the one ATen call it makes (``ir.MODULE_CALLS``: configuration
    as arguments, state as tensors), or an opaque ``module.<module>.<Class>`` call."""
    if len(node.args) == 1 and not node.kwargs:
        call = module_call(module, node.args[0])
        if call is not None:
            return call
    cls = type(module)
    return f"module.{cls.__module__}.{cls.__qualname__}", tuple(node.args), dict(node.kwargs)


def _normalize_target(node: torch.fx.Node) -> _Call:
    """A call_function/call_method node as (target, args, kwargs) in the IR's vocabulary
    (``ir.py``): ATen operators with the overload the dispatcher picks for the example
    arguments, every other callable as written."""
    args, kwargs, target = tuple(node.args), dict(node.kwargs), node.target
    if node.op == "call_method":
        name = str(target)
        overload = _resolve("aten", name, args, kwargs)
        if overload is None and len(args) > 1 and all(_is_int(a) for a in args[1:]):
            args = (args[0], list(args[1:]))  # x.view(2, -1) is aten.view(x, [2, -1])
            overload = _resolve("aten", name, args, kwargs)
        if overload is None:
            return f"method.{name}", tuple(node.args), kwargs
        return f"aten.{name}.{overload}", args, kwargs
    if isinstance(target, OpOverload):
        return str(target), args, kwargs  # "aten.linear.default", "mylib.op.default"
    if isinstance(target, OpOverloadPacket):
        namespace, name = str(target).split(".", 1)
        overload = _resolve(namespace, name, args, kwargs)
        if overload is not None:
            return f"{namespace}.{name}.{overload}", args, kwargs
    if isinstance(target, HigherOrderOperator):
        return f"higher_order.{target.name()}", args, kwargs
    name = getattr(target, "__name__", None) or repr(target)
    module = getattr(target, "__module__", None) or "builtins"
    aten_name = _aten_name(target, module, name, args)
    if aten_name is not None:
        overload = _resolve("aten", aten_name, args, kwargs)
        if overload is not None:
            return f"aten.{aten_name}.{overload}", args, kwargs
    if target in PYTHON_OPERATORS:  # getitem, or an operator on plain numbers
        return f"python.operator.{name}", args, kwargs
    return f"python.{module}.{getattr(target, '__qualname__', name)}", args, kwargs


def _aten_name(target: Any, module: str, name: str, args: tuple[Any, ...]) -> str | None:
    """The ATen operator a torch-level callable is, when it takes ATen's arguments as they
    are: a Python operator on a tensor (``a + b``), or a C-bound torch function
    (``torch.conv2d``, ``F.linear``). Python functions such as ``F.batch_norm`` are not: their
    argument order is their own."""
    if target in PYTHON_OPERATORS:
        aten = PYTHON_OPERATORS[target]
        first = _example(args[0]) if args else None
        return (
            aten.removeprefix("aten.") if aten.startswith("aten.") and _is_tensor(first) else None
        )
    if isinstance(target, BuiltinFunctionType) and module.startswith("torch"):
        return name
    return None


def _resolve(
    namespace: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    """The overload of ``namespace::name`` that the example arguments select (the dispatcher's
    own schema matching, as Dynamo uses it), or None when no overload accepts them."""
    if not hasattr(getattr(torch.ops, namespace), name):
        return None
    values, named = pytree.tree_map(_example, (args, kwargs))
    try:
        overload: str = torch._C._jit_resolve_packet(f"{namespace}::{name}", *values, **named)
    except RuntimeError:
        return None
    return overload


def _example(value: Any) -> Any:
    """A node's example value (fake tensor, SymInt...); anything else unchanged."""
    return _value(value) if isinstance(value, torch.fx.Node) else value


def _is_tensor(value: Any) -> bool:
    return isinstance(value, Tensor)


def _is_int(value: Any) -> bool:
    example = _example(value)
    return isinstance(example, (int, torch.SymInt)) and not isinstance(example, bool)


# ---- Task 5: dynamic dims -> torch.export.Dim -------------------------------------------------


def _dynamic_shapes(
    dynamic_dims: DynamicDims | None, inputs: tuple[Tensor, ...], method: Method
) -> _Shapes | None:
    """Check ``dynamic_dims`` and turn names into shared ``Dim`` objects (one per name)."""
    if dynamic_dims is None:
        return None
    if method is Method.SYMBOLIC_TRACE:
        raise ValueError(
            "dynamic_dims needs method='export' or 'dynamo': symbolic_trace records no shapes "
            "(its graph is shape-generic already)"
        )
    if isinstance(dynamic_dims, (str, bytes, Mapping)) or not isinstance(dynamic_dims, Sequence):
        raise TypeError(
            "dynamic_dims must be a sequence with one {dim: name} mapping (or None) per example "
            f"input, got {type(dynamic_dims).__name__}"
        )
    if len(dynamic_dims) != len(inputs):
        raise ValueError(
            f"dynamic_dims has {len(dynamic_dims)} entries for {len(inputs)} example inputs"
        )
    explicit: dict[str, Dim] = {}  # Dim objects the caller passed, by name
    sizes: dict[str, int] = {}  # name -> the example size it stands for
    wanted: list[dict[int, str] | None] = []
    for i, (spec, x) in enumerate(zip(dynamic_dims, inputs, strict=True)):
        if spec is None:
            wanted.append(None)
            continue
        if not isinstance(spec, Mapping):
            raise TypeError(f"dynamic_dims[{i}] must be a mapping {{dim: name}} or None")
        entry: dict[int, str] = {}
        for d, label in spec.items():
            where = f"dynamic_dims[{i}][{d!r}]"
            if not isinstance(d, int) or isinstance(d, bool):
                raise TypeError(f"{where}: dims must be ints, got {type(d).__name__}")
            if not -x.ndim <= d < x.ndim:
                raise ValueError(
                    f"{where}: dim out of range for example_inputs[{i}] of rank {x.ndim}"
                )
            name = _dim_name(label, where, explicit)
            d %= x.ndim
            if d in entry:
                raise ValueError(f"{where}: dim {d} is named twice")
            if x.shape[d] < 2:
                raise ValueError(
                    f"{where}: example size {x.shape[d]} cannot be dynamic (torch specializes "
                    f"sizes 0 and 1); use an example with size >= 2"
                )
            if sizes.setdefault(name, x.shape[d]) != x.shape[d]:
                raise ValueError(
                    f"{where}: {name!r} stands for size {sizes[name]} elsewhere but "
                    f"{x.shape[d]} here; one name means one size"
                )
            entry[d] = name
        wanted.append(entry)
    dims = {name: explicit.get(name) or Dim(name) for name in sizes}
    return tuple(None if e is None else {d: dims[n] for d, n in e.items()} for e in wanted)


def _dim_name(label: object, where: str, explicit: dict[str, Dim]) -> str:
    if isinstance(label, Dim):
        name = str(label.__name__)
        if explicit.setdefault(name, label) is not label:
            raise ValueError(f"{where}: two different Dim objects are named {name!r}")
        return name
    if not isinstance(label, str):
        raise TypeError(f"{where}: expected a dim name (str) or torch.export.Dim, got {label!r}")
    if not label.isidentifier():
        raise ValueError(f"{where}: dim name {label!r} must be a Python identifier")
    return label


# ---- Task 2: summarize ---------------------------------------------------------------------

# Matmul-like ops: which input holds the contracted dimension K as its last size.
_MATMUL_K_INPUT = {"linear": 0, "matmul": 0, "mm": 0, "bmm": 0, "addmm": 1, "baddbmm": 1}
_CONVOLUTIONS = frozenset({"conv1d", "conv2d", "conv3d", "convolution", "_convolution"})
# Transposed: weight (C_in, C_out / groups, *kernel); each INPUT element is scattered through
# C_out / groups * prod(kernel) weights, so K is counted over the input, not the output.
_TRANSPOSED_CONVOLUTIONS = frozenset({"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"})
_ATTENTION = frozenset(
    {
        "scaled_dot_product_attention",
        "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_cudnn_attention",
    }
)


def summarize(ir: GraphIR) -> GraphSummary:
    """Op histogram, parameters, FLOPs and peak memory from the IR alone (contract:
    ``starter.py``). FLOPs per node by operator family; the peak in one pass with a
    precomputed free list, O(nodes + edges).
    """
    if not isinstance(ir, GraphIR):
        raise TypeError(f"ir must be a GraphIR, got {type(ir).__name__}")
    calls = [n for n in ir.nodes if n.kind is NodeKind.CALL]
    flops_by_op: Counter[str] = Counter()
    for node in calls:
        flops = _node_flops(ir, node)
        if flops:
            flops_by_op[node.op] += flops
    return GraphSummary(
        node_count=len(calls),
        op_histogram=dict(Counter(n.target for n in calls).most_common()),
        parameter_count=sum(meta.numel for meta in ir.parameters.values()),
        flops=sum(flops_by_op.values()),
        flops_by_op=dict(flops_by_op),
        peak_activation_bytes=_peak_activation_bytes(ir),
    )


def _node_flops(ir: GraphIR, node: NodeIR) -> int:
    if not node.target.startswith("aten.") or not node.outputs:
        return 0
    out = node.outputs[0]
    found = [ir.tensor(ref) for ref in node.inputs]
    metas = [m for m in found if m is not None]
    if len(metas) < len(found) or -1 in out.shape or any(-1 in m.shape for m in metas):
        return 0  # an input without a tensor, or a data-dependent size: no estimate
    op = node.op
    if op in _MATMUL_K_INPUT and len(metas) > _MATMUL_K_INPUT[op]:
        k = metas[_MATMUL_K_INPUT[op]].shape[-1]
        return 2 * out.numel * k  # each output element: K multiply-adds
    if (op in _TRANSPOSED_CONVOLUTIONS or _is_transposed(node)) and len(metas) > 1:
        return 2 * metas[0].numel * _prod(metas[1].shape[1:])
    if op in _CONVOLUTIONS and len(metas) > 1:
        kernel = _prod(metas[1].shape[1:])  # weight (C_out, C_in / groups, *kernel)
        return 2 * out.numel * kernel
    if op in _ATTENTION and len(metas) > 2:
        q, key, v = (m.shape for m in metas[:3])  # (..., L, E), (..., S, E), (..., S, Ev)
        rows = _prod(q[:-1])  # batch * heads * L
        return 2 * rows * key[-2] * (q[-1] + v[-1])  # QK^T, then P V
    return 0


def _is_transposed(node: NodeIR) -> bool:
    """``aten.convolution(input, weight, bias, stride, padding, dilation, transposed, ...)``:
    what a transposed convolution decomposes to."""
    return node.op in ("convolution", "_convolution") and node.args[6:7] == (True,)


def _prod(sizes: Sequence[int]) -> int:
    out = 1
    for s in sizes:
        out *= s
    return out


def _peak_activation_bytes(ir: GraphIR) -> int:
    """A node's outputs are live from its step to its last reader's step (to the end for a
    graph output); the peak is the largest live total at any step. O(nodes + edges)."""
    index = {node.name: i for i, node in enumerate(ir.nodes)}
    last = list(range(len(ir.nodes)))  # last step each node's outputs are needed
    for i, node in enumerate(ir.nodes):
        for ref in node.inputs:
            if ref in index:
                last[index[ref]] = i
    for ref in ir.outputs:
        if ref in index:
            last[index[ref]] = len(ir.nodes) - 1
    sizes = [sum(m.nbytes for m in node.outputs) for node in ir.nodes]
    freed_after = [0] * len(ir.nodes)
    for i, size in enumerate(sizes):
        freed_after[last[i]] += size
    live = peak = 0
    for i, size in enumerate(sizes):
        live += size
        peak = max(peak, live)
        live -= freed_after[i]
    return peak


# ---- Task 3: DOT ---------------------------------------------------------------------------


def to_dot(ir: GraphIR) -> str:
    """Graphviz DOT text for the IR (format: ``starter.py``). Edges are drawn once per
    (source, reader) pair; render with ``svg.render_svg`` or ``dot -Tsvg``.
    """
    if not isinstance(ir, GraphIR):
        raise TypeError(f"ir must be a GraphIR, got {type(ir).__name__}")
    names = {node.name for node in ir.nodes}
    returned = set(ir.outputs)
    lines = [
        f"digraph {_quote(ir.method.value)} {{",
        "  rankdir=TB;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
    ]
    for node in ir.nodes:
        label = [node.name, node.target]
        label += [f"reads {ref}" for ref in node.inputs if ref not in names]
        label += [_shape_text(meta) for meta in node.outputs]
        attrs = [f"label={_quote(chr(10).join(label))}"]
        if node.kind is NodeKind.INPUT:
            attrs.append("shape=ellipse")
        if node.name in returned:
            attrs.append("peripheries=2")
        lines.append(f"  {_quote(node.name)} [{', '.join(attrs)}];")
    for node in ir.nodes:
        for ref in dict.fromkeys(node.inputs):
            if ref in names:
                lines.append(f"  {_quote(ref)} -> {_quote(node.name)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _shape_text(meta: TensorMeta) -> str:
    sizes = meta.sym_shape if meta.sym_shape is not None else tuple(map(str, meta.shape))
    return f"({', '.join(sizes)}) {meta.dtype}"


def _quote(text: str) -> str:
    """A DOT double-quoted string; newlines become DOT's ``\\n`` line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# ---- Task 4: graph breaks ------------------------------------------------------------------


def explain_breaks(model: nn.Module, example_inputs: Sequence[Tensor]) -> BreakReport:
    """Where and why dynamo breaks the model's graph (contract: ``starter.py``), from
    ``torch._dynamo.explain``: each reason's first line, its construct, and the innermost frame
    of its user stack.
    """
    _check_model(model)
    inputs = _check_inputs(example_inputs)
    import torch._dynamo as dynamo  # on first use: importing dynamo costs seconds

    result = dynamo.explain(model)(*inputs)
    breaks = tuple(
        GraphBreak(
            reason=reason.reason.strip().splitlines()[0],
            construct=Construct.classify(reason.reason),
            location=_user_location(reason.user_stack),
        )
        for reason in result.break_reasons
    )
    return BreakReport(graph_count=result.graph_count, op_count=result.op_count, breaks=breaks)


def _user_location(stack: Sequence[Any]) -> str:
    """``file:line`` of the innermost frame of the user's stack ("" when dynamo kept none)."""
    if not stack:
        return ""
    frame = stack[-1]
    return f"{frame.filename}:{frame.lineno}"


# ---- Validation ----------------------------------------------------------------------------


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _check_inputs(example_inputs: object) -> tuple[Tensor, ...]:
    if not isinstance(example_inputs, (tuple, list)):
        raise TypeError(
            "example_inputs must be a tuple or list of tensors (wrap one tensor as (x,)), "
            f"got {type(example_inputs).__name__}"
        )
    for i, x in enumerate(example_inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"example_inputs[{i}] must be a torch.Tensor, got {type(x).__name__}")
    return tuple(example_inputs)


def _check_export_flag(name: str, value: object, method: Method) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    if value and method is not Method.EXPORT:
        raise ValueError(f"{name}=True applies to method='export' only, not {method.value!r}")


def _check_method(method: object) -> Method:
    if isinstance(method, Method):
        return method
    if not isinstance(method, str):
        raise TypeError(f"method must be a Method or str, got {type(method).__name__}")
    try:
        return Method(method)
    except ValueError:
        valid = ", ".join(repr(m.value) for m in Method)
        raise ValueError(f"method must be one of {valid}, got {method!r}") from None
