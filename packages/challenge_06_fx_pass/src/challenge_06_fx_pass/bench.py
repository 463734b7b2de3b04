"""Benchmarks for challenge 06 (``uv run prep bench 06``).

Three workloads, on the CPU (the passes target CPU inference; ``prep.device`` is not consulted):

1. CNN forward, at batch 1 (latency) and batch 8 (throughput): the eager model, the graph after
   the baseline's and the solution's pipeline (all five passes), the solution's pipeline plus
   its CPU extra ``fuse_conv_activation`` (conv + ReLU as one oneDNN kernel, channels_last
   weights; not a task), and three library rows:
   ``torch.fx.experimental.optimization.fuse`` (torch's own conv-bn folding),
   ``optimize_for_inference`` (folding, dropout removal and oneDNN/MKLDNN layouts) and
   ``torch.compile`` (Inductor's generated C++). Ratios are against eager.
2. MLP forward: the same rows; here the gain is linear+activation fusion.
3. Pass pipeline: how long the five passes take on a deep CNN's graph (the compile-time cost),
   baseline vs solution, with ``fuse`` (which also traces) for scale.

``report`` then times every forward row against eager *in alternation* (``prep.bench.paired``),
the figure to trust on a shared machine: sequential medians drift with the load.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch
import torch.fx as fx
from torch import nn
from torch.fx.experimental.optimization import fuse as torch_fuse
from torch.fx.experimental.optimization import optimize_for_inference

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


# Per forward workload, its candidates, for report()'s paired timing against eager.
_FORWARD: dict[str, dict[str, Callable[[], object]]] = {}
EXTENDED = "solution + fuse_conv_activation"
_PAIRED_ROWS = (
    "solution",
    EXTENDED,
    "torch fx fuse",
    "torch optimize_for_inference",
    "torch.compile",
)


def _not_implemented(exc: NotImplementedError) -> Callable[[], object]:
    def raise_it() -> object:
        raise exc

    return raise_it


def _run_pipeline(impl: ModuleType, gm: fx.GraphModule) -> fx.GraphModule:
    for name in PIPELINE:
        gm = getattr(impl, name)(gm)
    return gm


def _forward_candidates(model: nn.Module, x: torch.Tensor) -> dict[str, Callable[[], object]]:
    """eager, starter, baseline, solution (each after its pipeline), the solution's pipeline
    plus ``fuse_conv_activation``, and the library rows."""
    candidates: dict[str, Callable[[], object]] = {"eager": lambda: model(x)}
    gm = models.trace(model)
    for label, impl in bench.implementations(PACKAGE).items():
        try:
            optimized = _run_pipeline(impl, gm)
        except NotImplementedError as exc:  # an unfinished starter: its row says so
            candidates[label] = _not_implemented(exc)
            continue
        candidates[label] = functools.partial(optimized, x)
        if label == "solution":
            extended = impl.fuse_conv_activation(optimized)
            candidates[EXTENDED] = functools.partial(extended, x)
    library = torch_fuse(model)
    candidates["torch fx fuse"] = lambda: library(x)
    frozen = optimize_for_inference(model)  # fold, drop dropout, oneDNN layouts
    candidates["torch optimize_for_inference"] = lambda: frozen(x)
    compiled = torch.compile(model)  # Inductor; compiled on the first (untimed) call
    candidates["torch.compile"] = lambda: compiled(x)
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


_CPU = torch.device("cpu")


def _cnn_workload(channels: tuple[int, ...], batch: int, size: int) -> bench.Workload:
    cnn = models.build(lambda: models.SmallCNN(channels=channels))
    x = torch.randn(batch, channels[0], size, size, generator=torch.Generator().manual_seed(0))
    name = f"CNN {channels} fwd, batch {batch}, {size}x{size}"
    candidates = _forward_candidates(cnn, x)
    _FORWARD[name] = candidates
    return bench.Workload(
        name, candidates, check=_check_against(cnn(x)), reference="eager", device=_CPU
    )


def workloads(quick: bool) -> list[bench.Workload]:
    torch.set_grad_enabled(False)  # inference: autograd bookkeeping is not what we measure
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
    _FORWARD[mlp_name] = mlp_candidates
    return [
        *cnns,
        bench.Workload(
            name=mlp_name,
            candidates=mlp_candidates,
            check=_check_against(mlp(x_vec)),
            reference="eager",
            device=_CPU,
            notes="GEMM-bound: fusing the activation saves a node and an allocation, not a kernel",
        ),
        bench.Workload(
            name=f"5-pass pipeline on a {blocks}-block CNN graph",
            candidates=_pipeline_candidates(deep),
            check=_check_graph(deep, x_small),
            device=_CPU,
            notes="time to transform the graph (compile time), not to run it",
        ),
    ]


def report(rows: list[bench.Row], quick: bool) -> dict[str, Any]:
    """Speed-ups over eager timed in alternation (``prep.bench.paired``: both sides of each pair
    under the same load), and node counts per pass (solution's PassManager on the test CNN and
    MLP)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    pairs = 20 if quick else 60
    paired = Table(
        title=f"Speed-up over eager, timed in alternation ({pairs} pairs, 1 torch thread)"
    )
    for column in ("workload", "implementation", "median", "p10", "p90"):
        paired.add_column(
            column, justify="left" if column in ("workload", "implementation") else "right"
        )
    speedups: dict[str, dict[str, list[float]]] = {}
    for name, candidates in _FORWARD.items():
        for label in _PAIRED_ROWS:
            try:
                # One thread: a pair's two calls then compete for the CPU on equal terms; with
                # two, OpenMP barriers wait out other jobs' time slices on a shared machine.
                with bench.threads(1):
                    timing = bench.paired(candidates["eager"], candidates[label], pairs=pairs)
            except NotImplementedError:
                continue
            speedups.setdefault(name, {})[label] = [timing.median, timing.p10, timing.p90]
            paired.add_row(
                name, label, f"{timing.median:.3f}x", f"{timing.p10:.3f}x", f"{timing.p90:.3f}x"
            )
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
