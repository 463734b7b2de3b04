"""``prep bench 10``: bus bandwidth of each all-reduce against ``dist.all_reduce``, 1 MiB .. 1 GiB.

Two ways to run it:

    torchrun --standalone --nproc-per-node=4 -m prep.cli bench 10   # NCCL, one GPU per rank
    uv run prep bench 10                                            # gloo on the CPU

Under torchrun each rank is one process (NCCL when every rank has a GPU, else gloo). Without
torchrun this module starts ``PREP_WORLD_SIZE - 1`` helper processes itself (default 2 ranks)
and uses gloo on the CPU.

Rank 0 runs the harness; the other ranks follow it. Before each timed call, rank 0
broadcasts over a small gloo side group which candidate of which workload it is about to
call, so every rank makes the same collective calls in the same order however many repeats
the harness picks. Each timed call runs the all-reduce ``reps`` times (64 MiB worth, at least
once) so that this announcement costs little next to it.

The GB/s column is the *bus* bandwidth, the nccl-tests figure that is comparable across rank
counts: busbw = algbw * 2 (n - 1) / n, with algbw = bytes / time. ``--json`` adds algbw.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from challenge_10_ring_allreduce import solution
from challenge_10_ring_allreduce.comm import ReduceOp
from prep.bench import Precision, Row, Workload, implementations

PACKAGE = "challenge_10_ring_allreduce"
MIB = 1 << 20
SIZES_MIB = (1, 4, 16, 64, 256, 1024)
QUICK_SIZES_MIB = (1, 4, 16)
REPS_BYTES = 64 * MIB  # each timed call moves at least this much per rank
LIBRARY = "dist.all_reduce"
PIPELINE_SLICE_BYTES = 64 * MIB  # the slices the ring is timed with where it does not pipeline
_STOP = -1

AllReduce = Callable[[Tensor], None]


@dataclass
class _World:
    """This process's place in the benchmark's process group."""

    rank: int
    size: int
    backend: str
    device: torch.device
    control: Any  # the gloo group rank 0 announces each call on
    helpers: list[BaseProcess] = field(default_factory=list)  # started here, without torchrun
    stopped: bool = False


_world: _World | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _join(rank: int, size: int, init_method: str | None) -> _World:
    """Join (or create) the process group; NCCL when every rank has its own GPU."""
    local = int(os.environ.get("LOCAL_RANK", rank))
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", size))  # the same answer on every rank
    nccl = (
        init_method is None and torch.cuda.is_available() and torch.cuda.device_count() >= per_node
    )
    device = torch.device("cuda", local) if nccl else torch.device("cpu")
    if nccl:
        torch.cuda.set_device(device)
    backend = "nccl" if nccl else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(
            backend,
            init_method=init_method,
            rank=rank if init_method else -1,
            world_size=size if init_method else -1,
            timeout=timedelta(minutes=5),  # a rank stuck in a broken candidate fails, late
        )
    control = dist.new_group(backend="gloo")
    warm = torch.zeros(1, device=device)
    dist.all_reduce(warm)  # every rank's first NCCL call is a collective, before any p2p
    return _World(rank, size, backend, device, control)


def _helper_main(rank: int, size: int, init_method: str, quick: bool) -> None:
    """A helper rank started by ``prep bench 10`` without torchrun: follow rank 0."""
    global _world
    torch.set_num_threads(max(1, torch.get_num_threads() // size))
    _world = _join(rank, size, init_method)
    _follow(_world, _build(_world, quick))


def _setup(quick: bool) -> _World:
    global _world
    if _world is not None:
        return _world
    if "WORLD_SIZE" in os.environ:  # torchrun
        _world = _join(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), None)
        return _world
    import multiprocessing as mp

    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # every rank is on this machine
    size = int(os.environ.get("PREP_WORLD_SIZE", "2"))
    init_method = f"tcp://127.0.0.1:{_free_port()}"
    context = mp.get_context("spawn")
    helpers: list[BaseProcess] = []
    for rank in range(1, size):
        proc = context.Process(target=_helper_main, args=(rank, size, init_method, quick))
        proc.start()
        helpers.append(proc)
    torch.set_num_threads(max(1, torch.get_num_threads() // size))
    _world = _join(0, size, init_method)
    _world.helpers = helpers
    return _world


def _stop() -> None:
    """Tell the followers to leave, wait for the helpers started here, close the group."""
    world = _world
    if world is None or world.stopped or world.rank != 0:
        return
    world.stopped = True
    dist.broadcast(torch.tensor([_STOP, 0]), src=0, group=world.control)
    for proc in world.helpers:
        proc.join(timeout=60)
    dist.destroy_process_group()


def _follow(world: _World, calls: list[list[Callable[[], object]]]) -> None:
    """Ranks other than 0: make whichever call rank 0 announces, until it says stop."""
    command = torch.zeros(2, dtype=torch.int64)
    while True:
        dist.broadcast(command, src=0, group=world.control)
        w, c = (int(v) for v in command.tolist())
        if w == _STOP:
            break
        with contextlib.suppress(Exception):  # rank 0 reports a broken candidate in its table
            calls[w][c]()
    dist.destroy_process_group()


# The benchmark buffer: one live at a time (a 1 GiB tensor per candidate would add up).
_live: dict[tuple[int, int], Tensor] = {}


def _pattern(numel: int, device: torch.device) -> Tensor:
    """Small integers 1..7 along the buffer (float32 arange: exact or not, the same on every
    rank and in the check)."""
    return torch.arange(numel, device=device, dtype=torch.float32).remainder_(7).add_(1)


def _buffer(key: tuple[int, int], numel: int, world: _World) -> Tensor:
    """Rank-dependent data whose average is known: (rank + 1) * pattern."""
    if key not in _live:
        _live.clear()
        _live[key] = _pattern(numel, world.device).mul_(world.rank + 1)
    return _live[key]


def _library(world: _World) -> AllReduce:
    def call(x: Tensor) -> None:
        if world.backend == "nccl":
            dist.all_reduce(x, op=dist.ReduceOp.AVG)
        else:  # gloo has no AVG in every torch version: sum, then divide like the others
            dist.all_reduce(x)
            x.div_(world.size)

    return call


def _all_reduces(world: _World) -> dict[str, AllReduce]:
    impls = implementations(PACKAGE)

    def of(module: Any, name: str = "ring_allreduce") -> AllReduce:
        fn = getattr(module, name)
        return lambda x: fn(x, ReduceOp.AVG)

    group = dist.group.WORLD
    assert group is not None
    pipelined = world.device.type in solution.SLICE_BYTES
    other = None if pipelined else PIPELINE_SLICE_BYTES
    alternative = "ring, whole chunks" if pipelined else "ring, pipelined 64 MiB slices"
    return {
        "starter": of(impls["starter"]),
        "baseline": of(impls["baseline"]),  # naive: gather to rank 0, reduce, broadcast
        "solution": of(impls["solution"]),  # the pipelined ring
        # the solution's ring with the other slicing policy of this device, for comparison
        alternative: lambda x: solution._ring(x, ReduceOp.AVG, group, solution.MAX_SLICES, other),
        "tree (halving-doubling)": of(impls["solution"], "tree_allreduce"),
        LIBRARY: _library(world),
    }


def _build(world: _World, quick: bool) -> list[list[Callable[[], object]]]:
    """calls[w][c]: candidate c of workload w, the same list on every rank."""
    calls = []
    for w, mib in enumerate(QUICK_SIZES_MIB if quick else SIZES_MIB):
        numel, reps = mib * MIB // 4, max(1, REPS_BYTES // (mib * MIB))
        reduces = _all_reduces(world).values()
        calls.append([_repeated(world, (w, c), numel, reps, r) for c, r in enumerate(reduces)])
    return calls


def _repeated(
    world: _World, key: tuple[int, int], numel: int, reps: int, reduce: AllReduce
) -> Callable[[], object]:
    def call() -> Tensor:
        x = _buffer(key, numel, world)
        for _ in range(reps):
            reduce(x)
        return x

    return call


def _announced(world: _World, w: int, c: int, call: Callable[[], object]) -> Callable[[], object]:
    def announce_then_call() -> object:
        dist.broadcast(torch.tensor([w, c]), src=0, group=world.control)
        return call()

    return announce_then_call


def workloads(quick: bool = False) -> list[Workload]:
    world = _setup(quick)
    calls = _build(world, quick)
    if world.rank != 0:
        _follow(world, calls)
        raise SystemExit(0)  # a follower has nothing to print
    atexit.register(_stop)
    names = list(_all_reduces(world))
    n = world.size
    out = []
    for w, mib in enumerate(QUICK_SIZES_MIB if quick else SIZES_MIB):
        reps = max(1, REPS_BYTES // (mib * MIB))

        def check(name: str, value: object) -> None:
            assert isinstance(value, Tensor)
            expected = _pattern(value.numel(), value.device).mul_((n + 1) / 2)
            # the average of (rank + 1) * k over the ranks is (n + 1) / 2 * k: exact in
            # float32 when n is a power of two, a rounding per repeat otherwise
            if not torch.allclose(value, expected, rtol=1e-5, atol=0.0):
                bad = int((value - expected).abs().argmax().item())
                raise AssertionError(
                    f"{name}: element {bad} is {value.view(-1)[bad].item()}, "
                    f"expected {expected.view(-1)[bad].item()}"
                )

        out.append(
            Workload(
                name=f"all-reduce (avg) of {mib} MiB fp32, {n} ranks, {world.backend}",
                candidates={
                    name: _announced(world, w, c, call)
                    for c, (name, call) in enumerate(zip(names, calls[w], strict=True))
                },
                check=check,
                bytes_moved=mib * MIB * reps * 2 * (n - 1) / n if n > 1 else None,
                reference=LIBRARY,
                device=world.device,
                notes=(
                    f"GB/s is bus bandwidth, algbw * 2(n-1)/n; each timed call runs {reps} "
                    "all-reduce(s) back to back"
                ),
                precision=Precision.FP32,
                library=LIBRARY,
            )
        )
    return out


def report(rows: list[Row], quick: bool) -> dict[str, Any]:
    """Stop the followers; return algbw and busbw per workload and candidate (GB/s)."""
    world = _world
    _stop()
    n = world.size if world is not None else 1
    busbw: dict[str, dict[str, float]] = {}
    for row in rows:
        if row.gbs is not None:
            busbw.setdefault(row.workload, {})[row.candidate] = row.gbs
    factor = 2 * (n - 1) / n if n > 1 else 1.0
    return {
        "world_size": n,
        "backend": world.backend if world is not None else None,
        "busbw_gbs": busbw,
        "algbw_gbs": {w: {c: v / factor for c, v in d.items()} for w, d in busbw.items()},
    }


def plot(rows: list[Row], path: Path, quick: bool) -> None:
    """Bus bandwidth against message size, one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = QUICK_SIZES_MIB if quick else SIZES_MIB
    workloads_in_order = list(dict.fromkeys(r.workload for r in rows))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for candidate in dict.fromkeys(r.candidate for r in rows):
        points = [
            (mib, r.gbs)
            for mib, work in zip(sizes, workloads_in_order, strict=False)
            for r in rows
            if r.workload == work and r.candidate == candidate and r.gbs
        ]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=candidate)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("message size (MiB)")
    ax.set_ylabel("bus bandwidth (GB/s)")
    title = workloads_in_order[0].split(", ", 1)[-1] if workloads_in_order else ""
    ax.set_title(f"all-reduce bus bandwidth: {title}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
