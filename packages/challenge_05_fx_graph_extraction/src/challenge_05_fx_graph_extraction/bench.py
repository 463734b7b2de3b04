"""Benchmarks for challenge 05: ``uv run prep bench 05`` (``--quick`` for a smoke run).

Three kinds of workload:
- capture: ``extract_graph`` per model and method (starter, baseline, solution) against the bare
  library call (``torch.export.export``, ``torch.fx.symbolic_trace``, ``torch.compile`` with a
  backend that keeps the graph) that captures without building an IR; the gap is the IR's cost, and for symbolic_trace the
  shape propagation's (the baseline runs real tensors, the solution fake ones);
- run: the extracted graphs re-executed against the eager model (is a captured graph slower?);
- summarize: the IR-only FLOP/memory estimate against ``FlopCounterMode``, which must run the
  model to count.

``report`` prints the graphs' sizes and estimates (nodes, FLOPs, parameters, peak memory).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch
from torch import Tensor, nn
from torch.export import Dim
from torch.utils.flop_counter import FlopCounterMode

from challenge_05_fx_graph_extraction import models
from challenge_05_fx_graph_extraction.ir import ExtractedGraph, GraphIR
from prep.bench import Row, Workload, implementations

PACKAGE = "challenge_05_fx_graph_extraction"
LIBRARY = {
    "export": "torch.export.export",
    "symbolic_trace": "torch.fx.symbolic_trace",
    "dynamo": "torch.compile (graph-keeping backend)",
}
RTOL, ATOL = 1e-4, 1e-4  # a re-run graph repeats the model's float32 ops


@dataclass(frozen=True)
class Case:
    """A model, its inputs, and the methods that can capture it."""

    label: str
    model: nn.Module
    inputs: tuple[Tensor, ...]
    methods: tuple[str, ...]
    dynamic_dims: tuple[dict[int, Any], ...] | None = None  # passed to every capture

    def eager(self) -> Tensor:
        with torch.no_grad():
            out: Tensor = self.model(*self.inputs)
        return out


def _cases(quick: bool) -> list[Case]:
    batch, side = (8, 32) if quick else (32, 128)
    gen = torch.Generator().manual_seed(0)
    cnn = Case(
        f"ResNetCNN (B={batch}, {side}x{side})",
        models.resnet_cnn(),
        (torch.randn(batch, 3, side, side, generator=gen),),
        ("symbolic_trace", "export", "dynamo"),
    )
    gpt2 = Case(
        "GPT-2 tiny (1 layer, B=2, T=12)",
        models.tiny_gpt2(),
        (torch.randint(0, 512, (2, 12), generator=gen),),
        ("export", "dynamo"),
    )
    if quick:
        return [cnn, gpt2]
    seq = Dim("seq", max=models.MINILM_MAX_POSITIONS)
    batch_dim = Dim("batch")
    minilm = Case(
        "all-MiniLM-L6-v2 (dynamic batch, seq)",
        models.load_minilm(),
        models.minilm_inputs(),
        ("export",),
        ({0: batch_dim, 1: seq}, {0: batch_dim, 1: seq}),
    )
    return [cnn, gpt2, minilm]


def _library_capture(case: Case, method: str) -> Callable[[], object]:
    if method == "export":
        return lambda: torch.export.export(
            case.model, case.inputs, dynamic_shapes=case.dynamic_dims
        )
    if method == "symbolic_trace":
        return lambda: torch.fx.symbolic_trace(case.model)

    def compile_capture() -> object:
        def keep(gm: torch.fx.GraphModule, example_inputs: list[Any]) -> Callable[..., Any]:
            return gm.forward

        args = [x.detach() for x in case.inputs]
        for x, spec in zip(args, case.dynamic_dims or (), strict=False):
            for d in spec or {}:
                torch._dynamo.mark_dynamic(x, d)
        torch.compiler.reset()  # a cached compile would skip the capture being timed
        compiled = torch.compile(case.model, backend=keep, fullgraph=True)
        compiled(*args)
        return compiled

    return compile_capture


def _runnable(value: object) -> Callable[..., Tensor]:
    """The callable graph inside whatever a capture returned."""
    if isinstance(value, ExtractedGraph):
        return value.graph_module
    if isinstance(value, torch.export.ExportedProgram):
        return value.module()
    if isinstance(value, torch.nn.Module):  # a GraphModule, or torch.compile's wrapper
        return value
    raise AssertionError(f"a capture returned {type(value).__name__}")


def _capture_workload(impls: dict[str, ModuleType], case: Case, method: str) -> Workload:
    expected = case.eager()

    def check(name: str, value: object) -> None:
        with torch.no_grad():
            out = _runnable(value)(*case.inputs)
        if not torch.allclose(out, expected, rtol=RTOL, atol=ATOL):
            raise AssertionError(f"{name}: re-executed graph differs from eager")
        if isinstance(value, ExtractedGraph) and not value.ir.nodes:
            raise AssertionError(f"{name}: empty IR")

    def capture(impl: ModuleType) -> Callable[[], object]:
        return lambda: impl.extract_graph(
            case.model, case.inputs, method=method, dynamic_dims=case.dynamic_dims
        )

    candidates: dict[str, Callable[[], object]] = {n: capture(m) for n, m in impls.items()}
    candidates[LIBRARY[method]] = _library_capture(case, method)
    return Workload(
        name=f"capture {case.label} via {method}",
        candidates=candidates,
        check=check,
        notes="library row: the bare capture, no IR" if method != "symbolic_trace" else "",
    )


# Solution extractions, built on first use and shared by the run workloads and the report.
_EXTRACTED: dict[tuple[str, str], ExtractedGraph] = {}


def _extracted(solution: ModuleType, case: Case, method: str) -> ExtractedGraph:
    key = (case.label, method)
    if key not in _EXTRACTED:
        _EXTRACTED[key] = solution.extract_graph(
            case.model, case.inputs, method=method, dynamic_dims=case.dynamic_dims
        )
    return _EXTRACTED[key]


def _run_workload(solution: ModuleType, case: Case) -> Workload:
    expected = case.eager()

    def check(name: str, value: object) -> None:
        if not isinstance(value, Tensor) or not torch.allclose(
            value, expected, rtol=RTOL, atol=ATOL
        ):
            raise AssertionError(f"{name}: output differs from eager")

    def eager() -> Tensor:
        with torch.no_grad():
            out: Tensor = case.model(*case.inputs)
        return out

    def rerun(method: str) -> Callable[[], Tensor]:
        def call() -> Tensor:  # the first (untimed) call extracts
            gm = _extracted(solution, case, method).graph_module
            with torch.no_grad():
                out: Tensor = gm(*case.inputs)
            return out

        return call

    candidates: dict[str, Callable[[], object]] = {"eager": eager}
    candidates.update({f"{m} graph": rerun(m) for m in case.methods})
    return Workload(name=f"run {case.label}", candidates=candidates, check=check, reference="eager")


def _summarize_workload(impls: dict[str, ModuleType], case: Case) -> Workload:
    ir: GraphIR = _extracted(impls["solution"], case, "export").ir
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        case.model(*case.inputs)
    flops = counter.get_total_flops()

    def check(name: str, value: object) -> None:
        got = value if isinstance(value, int) else getattr(value, "flops", None)
        if got != flops:
            raise AssertionError(f"{name}: {got} FLOPs, FlopCounterMode says {flops}")

    def count_by_running() -> int:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            case.model(*case.inputs)
        total: int = counter.get_total_flops()
        return total

    def summarize(impl: ModuleType) -> Callable[[], object]:
        return lambda: impl.summarize(ir)

    candidates: dict[str, Callable[[], object]] = {n: summarize(m) for n, m in impls.items()}
    candidates["FlopCounterMode (runs the model)"] = count_by_running
    return Workload(
        name=f"summarize {case.label} ({len(ir.nodes)} IR nodes)",
        candidates=candidates,
        check=check,
        notes="baseline: O(n^2) liveness walk; solution: one pass",
    )


def workloads(quick: bool) -> list[Workload]:
    """Capture every case by every method it supports, re-run the graphs, summarize the IR.

    Single-threaded: on a small CPU shared with other jobs, two OpenMP threads wait on each
    other at every op (ResNetCNN's 1.5 ms forward took 290 ms), which would time the machine's
    load rather than the code.
    """
    torch.set_num_threads(1)
    impls = implementations(PACKAGE)
    cases = _cases(quick)
    work = [_capture_workload(impls, case, m) for case in cases for m in case.methods]
    work += [_run_workload(impls["solution"], case) for case in cases]
    work.append(_summarize_workload(impls, cases[-1]))
    return work


def report(rows: list[Row], quick: bool) -> dict[str, Any]:
    """Print and return each solution graph's size and estimates."""
    from rich.console import Console
    from rich.table import Table

    solution = implementations(PACKAGE)["solution"]
    table = Table(title="What each capture holds (solution's IR)", title_justify="left")
    for column in ("model", "method", "IR nodes", "distinct ops", "GFLOP", "params", "peak act."):
        table.add_column(column, justify="left" if column in ("model", "method") else "right")
    figures: dict[str, Any] = {}
    for (label, method), extracted in sorted(_EXTRACTED.items()):
        summary = solution.summarize(extracted.ir)
        figures[f"{label} / {method}"] = {
            "ir_nodes": summary.node_count,
            "distinct_targets": len(summary.op_histogram),
            "flops": summary.flops,
            "parameters": summary.parameter_count,
            "peak_activation_bytes": summary.peak_activation_bytes,
        }
        table.add_row(
            label,
            method,
            str(summary.node_count),
            str(len(summary.op_histogram)),
            f"{summary.flops / 1e9:.3f}",
            f"{summary.parameter_count:,}",
            f"{summary.peak_activation_bytes / 2**20:.1f} MiB",
        )
    Console().print(table)
    return {"graphs": figures}
