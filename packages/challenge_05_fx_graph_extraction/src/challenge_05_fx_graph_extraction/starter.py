"""Challenge 05 - graph extraction with torch.export, FX and dynamo. YOUR FILE: fill in every TODO.

You capture a model as an FX graph three ways and describe what you got in one standardized,
JSON-serializable ``GraphIR`` (read ``ir.py`` first: it states the IR's rules and its target
vocabulary, and it is given). Then you read FLOPs and memory off the IR, draw it, and ask dynamo
where a model breaks.

Run the tests with ``uv run prep test 05`` (``--task K`` for one task); ``uv run prep hint 05``
gives progressive hints. The README's "Tasks" section explains each TODO.

The library calls you need:
- ``torch.export.export(model, args, dynamic_shapes=..., strict=...)`` -> ``ExportedProgram``; its
  ``.module(check_guards=False)`` is a runnable ``GraphModule`` whose nodes carry fake values in
  ``node.meta["val"]``; ``program.run_decompositions()`` lowers it to core ATen;
- ``torch.fx.symbolic_trace(model, concrete_args=...)`` -> ``GraphModule`` with no shapes at
  all: propagate them (``torch.fx.passes.shape_prop.ShapeProp`` runs real tensors;
  ``FakeTensorProp`` runs fake ones);
- ``torch.compile(model, backend=keep, fullgraph=True)(*args)``: Dynamo calls
  ``keep(gm, example_inputs)`` with the graph it captured (return ``gm.forward``); nodes carry
  ``node.meta["example_value"]``. Parameters and buffers arrive lifted as extra placeholders
  (their example inputs are the model's own tensors: find them by identity), and
  ``torch._dynamo.mark_dynamic(x, dim, min=, max=)`` makes a dim symbolic (a SymInt
  placeholder per size then appears too). ``fullgraph=True`` turns a graph break into an
  error; ``torch.compiler.reset()`` first, or a cached compile skips your backend;
- ``torch._C._jit_resolve_packet("aten::add", *example_args, **example_kwargs)`` -> the
  overload name (``"Tensor"``) ATen's schema matching picks for those arguments (RuntimeError
  when none accepts them);
- ``ir.encode_arg(value, refer)`` writes one FX argument as the IR's JSON form;
  ``ir.module_call(module, x)`` gives the ATen call a leaf module makes;
- ``torch._dynamo.explain(model)(*args)`` -> graph count, op count and ``break_reasons``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn
from torch.export import Dim
from torch.fx import GraphModule, Node

from challenge_05_fx_graph_extraction.breaks import (
    BreakReport,
    Construct,
    ExtractionError,
    GraphBreak,
)
from challenge_05_fx_graph_extraction.ir import (
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

# One entry per example input: None (all static) or {dim index: name or torch.export.Dim}.
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
    """Capture ``model`` as an FX graph and describe it as a standardized ``GraphIR``.

    Args:
        model: the module to capture (the tests pass eval-mode models).
        example_inputs: a tuple or list of tensors, the positional arguments of ``forward``.
        method: ``Method.EXPORT``, ``Method.SYMBOLIC_TRACE`` or ``Method.DYNAMO``, or the same
            as a string (``"export"``...). ``DYNAMO`` captures through ``torch.compile`` with
            a backend that keeps the graph; turn it into a graph called like the model
            (lifted state read with ``get_attr``, size inputs read off the tensors, the user's
            inputs in ``forward``'s order, a single returned tensor not wrapped in a tuple).
        dynamic_dims: (task 5) one entry per example input: ``None`` or ``{dim: name}``, a name
            being a str or a ``torch.export.Dim`` (which can carry min/max); equal names share
            one symbol, e.g. ``({0: "batch", 1: "seq"}, {0: "batch", 1: "seq"})`` for BERT's
            ids and mask. Export and dynamo only.
        strict: export only. ``False`` (torch's default, passed explicitly): non-strict
            export runs ``forward`` as ordinary Python on fake tensors and records the ATen ops
            that reach the dispatcher. ``True``: Dynamo analyses the bytecode first (sound, but
            rejects more Python).
        decompose: export only. ``True`` lowers the exported program to core ATen
            (``run_decompositions()``): every CALL target is then a core ATen operator
            (``torch.Tag.core``) or ``python.operator.getitem``, a fixed op set a backend can
            cover; ``False`` keeps the operators as the model calls them (``aten.linear``).

    Returns:
        ``ExtractedGraph(graph_module, ir)``: ``graph_module(*example_inputs)`` computes what the
        model computes (with dynamic dims, at other sizes too); ``ir`` describes graph_module's
        graph: INPUT nodes named by ``forward``'s arguments, one CALL node per operation with its
        normalized target (``ir.py``: ``aten.<op>.<overload>`` for every ATen operator, the
        overload resolved for torch-level calls), every argument (``args``/``kwargs``, encoded
        with ``ir.encode_arg``: strides, ``dim``, ``eps`` included), the names it reads and its
        outputs' ``TensorMeta``, parameters and buffers by fully qualified name (tied weights
        once), and with dynamic dims each ``TensorMeta.sym_shape`` spelled in the user's names
        (``("batch", "seq", "384")``). The IR alone (plus the weights by name) rebuilds a
        graph that computes what the model computes.
        A CALL node's ``inputs`` are the ``ref``s of its ``args`` then ``kwargs``: every node its
        FX node reads (``node.all_input_nodes``: keyword arguments and lists such as
        ``torch.cat``'s included), in order. A leaf module in ``ir.MODULE_CALLS`` is written as
        the ATen call it makes (``embedding(weight, indices)``, ``conv2d(x, weight, bias,
        stride, ...)``); another module is ``module.<module>.<Class>`` with its parameters and
        buffers added to ``inputs``. ``forward`` arguments with defaults that
        ``example_inputs`` does not reach keep their defaults (``forward(x, mask=None)`` called
        with ``(x,)``): with symbolic_trace pass them as ``concrete_args`` and drop the
        placeholders and checks FX keeps for them, so the graph takes exactly the given inputs.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``; ``example_inputs`` is not a tuple/list of
            tensors; ``method`` is neither a Method nor a str; ``dynamic_dims`` is not a sequence
            of mappings from int dims to str/Dim names; ``strict`` or ``decompose`` is not a
            bool.
        ValueError: an unknown method string; ``dynamic_dims`` with symbolic_trace, with one entry
            too many or too few, a dim out of range, an example size below 2 (torch specializes
            0 and 1), a name that is not an identifier, or one name used for two sizes;
            ``strict=True`` or ``decompose=True`` with a method other than export.
        ExtractionError: the method cannot capture the model. Catch the tracer's exception and
            raise ``ExtractionError(method, Construct.classify(message), message, model_name)``
            from it, so the caller learns which construct (``breaks.Construct``) to fix.
    """
    raise NotImplementedError(
        "TODO(05.1): validate the arguments (types and values above), then return "
        "ExtractedGraph(gm, _build_ir(...)) with gm from _capture - see README task 1"
    )


def _capture(
    model: nn.Module,
    inputs: tuple[Tensor, ...],
    method: Method,
    shapes: tuple[dict[int, Dim] | None, ...] | None,
    strict: bool,
    decompose: bool,
) -> GraphModule:
    """The method's GraphModule, called like the model (``gm(*inputs)``), with a shape on every
    node (``node.meta["val"]`` or ``["example_value"]``). ``shapes`` is ``_dynamic_shapes``'s
    result. Let the tracer's exception propagate: ``extract_graph`` wraps it."""
    raise NotImplementedError(
        "TODO(05.1): capture with export (strict as given, decomposed on request), "
        "symbolic_trace (defaults as concrete_args, then shape propagation) or torch.compile "
        "- see README task 1"
    )


def _normalize_target(node: Node) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """A ``call_function``/``call_method`` node as ``(target, args, kwargs)`` in the IR's
    vocabulary (rules: ``ir.py``): ``aten.<op>.<overload>`` for an ATen operator (an
    ``OpOverload`` as it is; a torch-level call - a C-bound torch function, a Python operator on
    a tensor, a tensor method - with the overload its example arguments select, ``x.view(2,
    -1)``'s sizes packed into one list), ``python.<module>.<qualname>`` or ``method.<name>``
    for what is no ATen call. ``args``/``kwargs`` are the FX node's, in the target's order."""
    raise NotImplementedError(
        "TODO(05.1): map OpOverloads, Python operators, torch functions and methods to the "
        "IR's target names, resolving each ATen overload - see README task 1"
    )


def _build_ir(
    gm: GraphModule,
    model: nn.Module,
    method: Method,
    n_inputs: int,
    dim_names: Mapping[tuple[int, int], str],
) -> GraphIR:
    """Walk ``gm.graph`` once and describe every node (``extract_graph``'s Returns section):
    INPUT nodes, CALL nodes with ``_normalize_target``'s (or ``ir.module_call``'s) target and
    arguments encoded by ``ir.encode_arg``, the names each reads, state by FQN (found by tensor
    identity) and ``TensorMeta``s (``dim_names`` maps (input index, dim) to the user's name for
    ``sym_shape``)."""
    raise NotImplementedError(
        "TODO(05.1): walk the graph once: inputs, calls with every argument, the names each "
        "reads, state by FQN, TensorMeta per output - see README task 1"
    )


def _dynamic_shapes(
    dynamic_dims: DynamicDims | None, inputs: tuple[Tensor, ...], method: Method
) -> tuple[dict[int, Dim] | None, ...] | None:
    """Check ``dynamic_dims`` and turn it into torch.export's tuple form of ``dynamic_shapes``:
    one ``{dim: Dim}`` (or None) per input, with ONE ``Dim`` object per name (a ``Dim`` the
    caller passed is reused for every use of its name). Raises the TypeError/ValueError that
    ``extract_graph`` documents. Called by your ``extract_graph``."""
    raise NotImplementedError(
        "TODO(05.5): validate dynamic_dims and map each name to one shared torch.export.Dim "
        "- see README task 5"
    )


def summarize(ir: GraphIR) -> GraphSummary:
    """Op histogram, parameter count, FLOPs and peak activation memory, from the IR alone.

    Args:
        ir: a ``GraphIR`` from any method (use ``ir.tensor(ref)`` to get the ``TensorMeta`` an
            input name refers to, and ``NodeIR.op`` for an operator's base name).

    Returns:
        ``GraphSummary`` with
        - ``node_count``: CALL nodes; ``op_histogram``: target -> count, most common first;
        - ``parameter_count``: elements over ``ir.parameters`` (buffers excluded);
        - ``flops`` and ``flops_by_op`` (keyed by ``NodeIR.op``), 2 FLOPs per multiply-add, for
          ATen-vocabulary targets only: ``linear``/``matmul``/``mm``/``bmm`` (K = last size of
          input 0), ``addmm``/``baddbmm`` (K = last size of input 1), convolutions
          (``conv1d/2d/3d``, ``convolution``, ``_convolution``: K = prod(weight.shape[1:]),
          weight = input 1), transposed convolutions (``conv_transpose1d/2d/3d``, and
          ``convolution``/``_convolution`` whose ``args[6]`` (``transposed``) is true: weight
          (C_in, C_out / groups, *kernel), so FLOPs = 2 * input0.numel * prod(weight.shape[1:]))
          and scaled-dot-product attention (q (..., L, E), k (..., S, E),
          v (..., S, Ev): 2*prod(q.shape[:-1])*S*(E + Ev)); FLOPs = 2 * out.numel * K for the
          others; skip a node with any -1 size;
        - ``peak_activation_bytes``: a node's outputs are live from its own step through the
          step of its last reader (through the last step if the graph returns it); the peak
          is the largest sum of live ``TensorMeta.nbytes`` at any step. Parameters, buffers and
          constants do not count.

    Raises:
        TypeError: ``ir`` is not a ``GraphIR``.
    """
    raise NotImplementedError(
        "TODO(05.2): histogram the targets, count parameters, estimate FLOPs per node and walk "
        "the liveness of every output for the peak - see README task 2"
    )


def to_dot(ir: GraphIR) -> str:
    """Graphviz DOT text for the IR, one statement per line.

    Format (the tests parse it):
    - first line ``digraph "<method>" {``, last line ``}``;
    - one line per node: ``"<name>" [label="...", ...];`` - the label (lines joined by DOT's
      ``\\n``) holds the name, the target, ``reads <name>`` for each parameter/buffer/constant
      read, and each output as ``(<sizes>) <dtype>`` (the sym_shape when there is one);
      INPUT nodes get ``shape=ellipse``, nodes the graph returns get ``peripheries=2``;
    - one line per (source node, reader) pair: ``"<src>" -> "<dst>";``;
    - escape ``\\`` and ``"`` inside quoted strings.

    Raises:
        TypeError: ``ir`` is not a ``GraphIR``.
    """
    raise NotImplementedError(
        "TODO(05.3): write one DOT node per IR node and one edge per node-to-node input - see "
        "README task 3"
    )


def explain_breaks(model: nn.Module, example_inputs: Sequence[Tensor]) -> BreakReport:
    """Where and why dynamo breaks the model's graph, via ``torch._dynamo.explain``.

    Runs ``model`` once on ``example_inputs`` (side effects happen).

    Args:
        model: the module to inspect.
        example_inputs: a tuple or list of tensors, the positional arguments of ``forward``.

    Returns:
        ``BreakReport(graph_count, op_count, breaks)`` with one ``GraphBreak`` per break reason:
        the reason's first line, ``Construct.classify(full reason)``, and ``"<file>:<line>"``
        of the innermost frame of the reason's ``user_stack`` ("" when it is empty).

    Raises:
        TypeError: ``model`` is not an ``nn.Module`` or ``example_inputs`` is not a tuple/list
            of tensors.
    """
    raise NotImplementedError(
        "TODO(05.4): run torch._dynamo.explain and turn each break reason into a GraphBreak - "
        "see README task 4"
    )
