"""Benchmarks for challenge 06 (``uv run prep bench 06``).

Three workloads, on the CPU (the passes target CPU inference; ``prep.device`` is not consulted):

1. CNN forward, at batch 1 (latency) and batch 8 (throughput): the eager model, the graph after
   the baseline's and the solution's pipeline (all five passes), and
   ``torch.fx.experimental.optimization.fuse`` - the library's own conv-bn folding - as the
   library row. Ratios are against eager: the speedup folding buys.
2. MLP forward: the same rows; here the gain is linear+activation fusion.
3. Pass pipeline: how long the five passes take on a deep CNN's graph (the compile-time cost),
   baseline vs solution, with ``fuse`` (which also traces) for scale.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch
import torch.fx as fx
from torch import nn
from torch.fx.experimental.optimization import fuse as torch_fuse

from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import ATOL, RTOL
from prep import bench

PACKAGE = "challenge_06_fx_pass"
PIPELINE = (
    "fold_conv_bn",
    "fuse_linear_activation",
    "fold_constants",
    "eliminate_common_subexpressions",
    "eliminate_dead_code",
)


# Per forward workload, the eager model and the solution's graph, for report()'s paired timing.
_PAIRS: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {}


def _not_implemented(exc: NotImplementedError) -> Callable[[], object]:
    def raise_it() -> object:
        raise exc

    return raise_it


def _run_pipeline(impl: ModuleType, gm: fx.GraphModule) -> fx.GraphModule:
    for name in PIPELINE:
        gm = getattr(impl, name)(gm)
    return gm


def _forward_candidates(model: nn.Module, x: torch.Tensor) -> dict[str, Callable[[], object]]:
    """eager, starter, baseline, solution (each after its pipeline), torch fuse."""
    candidates: dict[str, Callable[[], object]] = {"eager": lambda: model(x)}
    gm = models.trace(model)
    for label, impl in bench.implementations(PACKAGE).items():
        try:
            optimized = _run_pipeline(impl, gm)
        except NotImplementedError as exc:  # an unfinished starter: its row says so
            candidates[label] = _not_implemented(exc)
            continue
        candidates[label] = functools.partial(optimized, x)
    library = torch_fuse(model)
    candidates["torch fx fuse"] = lambda: library(x)
    return candidates


def _check_against(want: torch.Tensor) -> Callable[[str, object], None]:
    def check(name: str, value: object) -> None:
        if not isinstance(value, torch.Tensor) or value.shape != want.shape:
            raise AssertionError(
                f"{name} returned {type(value).__name__}, not a {tuple(want.shape)} tensor"
            )
        if not torch.allclose(value, want, rtol=RTOL, atol=ATOL):
            err = float((value - want).abs().max())
            raise AssertionError(f"{name} differs from eager by {err:.3g}")

    return check


def _pipeline_candidates(model: nn.Module) -> dict[str, Callable[[], object]]:
    gm = models.trace(model)
    candidates: dict[str, Callable[[], object]] = {}
    for label, impl in bench.implementations(PACKAGE).items():
        candidates[label] = functools.partial(_run_pipeline, impl, gm)
    candidates["torch fx fuse (traces too)"] = lambda: torch_fuse(model)
    return candidates


def _check_graph(model: nn.Module, x: torch.Tensor) -> Callable[[str, object], None]:
    with torch.no_grad():
        want = model(x)

    def check(name: str, value: object) -> None:
        if not isinstance(value, nn.Module):
            raise AssertionError(f"{name} returned {type(value).__name__}, not a module")
        with torch.no_grad():
            _check_against(want)(name, value(x))

    return check


def _cnn_workload(channels: tuple[int, ...], batch: int, size: int) -> bench.Workload:
    cnn = models.build(lambda: models.SmallCNN(channels=channels))
    x = torch.randn(batch, channels[0], size, size, generator=torch.Generator().manual_seed(0))
    name = f"CNN {channels} fwd, batch {batch}, {size}x{size}"
    candidates = _forward_candidates(cnn, x)
    _PAIRS[name] = (candidates["eager"], candidates["solution"])
    return bench.Workload(name, candidates, check=_check_against(cnn(x)), reference="eager")


def workloads(quick: bool) -> list[bench.Workload]:
    torch.set_grad_enabled(False)  # inference: autograd bookkeeping is not what we measure
    # One thread: on a small shared CPU, OpenMP threads spinning against other jobs swamp the
    # effect we measure (medians 100x the minimum); single-threaded numbers are reproducible.
    torch.set_num_threads(1)
    sizes = (128, 256, 256, 10) if quick else (256, 512, 512, 512, 10)
    mlp = models.build(lambda: models.MLP(sizes=sizes))
    x_vec = torch.randn(
        256 if quick else 1024, sizes[0], generator=torch.Generator().manual_seed(1)
    )
    blocks = 8 if quick else 32
    deep = models.build(lambda: models.SmallCNN(channels=(3, *([8] * blocks))))
    x_small = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    cnns = [_cnn_workload((3, 16, 32, 32), 1, 32)]  # latency: one small image
    if not quick:
        cnns.append(_cnn_workload((3, 32, 32, 64, 64), 8, 64))  # throughput: conv-bound
    mlp_name = f"MLP {sizes} fwd, batch {x_vec.shape[0]}"
    mlp_candidates = _forward_candidates(mlp, x_vec)
    _PAIRS[mlp_name] = (mlp_candidates["eager"], mlp_candidates["solution"])
    return [
        *cnns,
        bench.Workload(
            name=mlp_name,
            candidates=mlp_candidates,
            check=_check_against(mlp(x_vec)),
            reference="eager",
            notes="GEMM-bound: fusing the activation saves a node and an allocation, not a kernel",
        ),
        bench.Workload(
            name=f"5-pass pipeline on a {blocks}-block CNN graph",
            candidates=_pipeline_candidates(deep),
            check=_check_graph(deep, x_small),
            notes="time to transform the graph (compile time), not to run it",
        ),
    ]


def _paired_speedup(
    eager: Callable[[], object], optimized: Callable[[], object], pairs: int
) -> tuple[float, float, float]:
    """Median, 10th and 90th percentile of t_eager / t_optimized over back-to-back pairs.

    On a shared machine the load drifts during a sequential benchmark (each candidate timed
    for seconds in turn); timing the two in alternation puts both under the same load.
    """
    eager(), optimized()
    ratios = []
    for k in range(pairs):
        first, second = (eager, optimized) if k % 2 == 0 else (optimized, eager)  # no order bias
        start = time.perf_counter()
        first()
        middle = time.perf_counter()
        second()
        t_first, t_second = middle - start, time.perf_counter() - middle
        ratios.append(t_first / t_second if k % 2 == 0 else t_second / t_first)
    ratios.sort()
    return ratios[len(ratios) // 2], ratios[len(ratios) // 10], ratios[(9 * len(ratios)) // 10]


def report(rows: list[bench.Row], quick: bool) -> dict[str, Any]:
    """Paired eager-vs-solution speedups, and node counts per pass (solution's PassManager on
    the test CNN and MLP)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    paired = Table(title="Speed-up of the solution's graph over eager, timed in alternation")
    for column in ("workload", "median", "p10", "p90", "pairs"):
        paired.add_column(column, justify="left" if column == "workload" else "right")
    pairs = 50 if quick else 300
    speedups: dict[str, float] = {}
    for name, (eager, optimized) in _PAIRS.items():
        try:
            median, low, high = _paired_speedup(eager, optimized, pairs)
        except NotImplementedError:
            continue
        speedups[name] = median
        paired.add_row(name, f"{median:.3f}x", f"{low:.3f}x", f"{high:.3f}x", str(pairs))
    console.print(paired)
    solution = bench.implementations(PACKAGE)["solution"]
    table = Table(title="Nodes after each pass (solution, verified)", title_justify="left")
    table.add_column("model")
    table.add_column("traced", justify="right")
    for name in PIPELINE:
        table.add_column(name.replace("eliminate_", "").replace("_", " "), justify="right")
    counts: dict[str, list[int]] = {}
    for label, case in (("cnn", models.make_case("cnn")), ("mlp", models.make_case("mlp"))):
        gm = models.trace(case.model)
        pm = solution.PassManager([getattr(solution, n) for n in PIPELINE])
        result = pm.run(gm, case.inputs)
        counts[label] = [len(gm.graph.nodes), *(r.nodes_after for r in result.records)]
        table.add_row(label, *(str(c) for c in counts[label]))
    console.print(table)
    return {"nodes_after_each_pass": counts, "paired_speedup_vs_eager": speedups}
