"""``prep bench 15``: one training step (forward + backward) of a GPT-2 body, tensor-parallel,
against one device and against DTensor's ``parallelize_module``; and the bus bandwidth of the
collectives tensor parallelism makes.

    torchrun --standalone --nproc-per-node=4 -m prep.cli bench 15   # NCCL, one GPU per rank
    uv run prep bench 15                                            # 2 gloo ranks on the CPU

Under torchrun each rank is one process (NCCL when every rank has a GPU, else gloo). Without
torchrun this module starts ``PREP_WORLD_SIZE - 1`` helper processes itself (default 2 ranks)
and uses gloo on the CPU.

Rank 0 runs the harness; the other ranks follow it: before each timed call rank 0 broadcasts,
over a small gloo side group, which candidate of which workload it is about to call, so every
rank makes the same collectives in the same order however many repeats the harness picks. The
"1 device" row runs on rank 0 alone (the others wait): the single-device speed the sharded
versions are compared with, measured in the same run.

The model is a stack of GPT-2 blocks (GPT-2 medium's shape on a GPU: width 1024, 16 heads,
MLP 4096, 24 layers; bf16; 8 sequences of 1024 tokens); each step is forward, then backward of
``sum(out * g)`` for a fixed ``g``, gradients reset first. TFLOP/s counts the whole step's work
(all ranks together): 6 x parameters x tokens plus attention's 12 x B x T^2 x width per layer.
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
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from challenge_15_tensor_parallelism.models import medium_config, seeded_gpt2
from challenge_15_tensor_parallelism.reference import Block, parallelize_block
from challenge_15_tensor_parallelism.solution import comm_volume
from prep.bench import Precision, Row, Workload, implementations, lazy

PACKAGE = "challenge_15_tensor_parallelism"
LIBRARY = "DTensor TP"
ONE_DEVICE = "1 device"
COLLECTIVE_REPS = 20  # collectives per timed call: the announcement costs little beside them
_STOP = -1


@dataclass(frozen=True)
class Size:
    """One benchmark shape."""

    n_layer: int
    n_embd: int
    n_head: int
    batch: int
    seq_len: int
    dtype: torch.dtype

    def describe(self) -> str:
        kind = "GPT-2 medium" if self.n_embd == 1024 and self.n_layer == 24 else "GPT-2"
        return (
            f"{kind} body ({self.n_layer} x width {self.n_embd}, {self.n_head} heads), "
            f"{self.batch} x {self.seq_len} tokens, {str(self.dtype).removeprefix('torch.')}"
        )


def _size(device: torch.device, quick: bool) -> Size:
    if device.type == "cuda":
        return (
            Size(4, 1024, 16, 2, 512, torch.bfloat16)
            if quick
            else Size(24, 1024, 16, 8, 1024, torch.bfloat16)
        )
    return (
        Size(2, 256, 8, 2, 64, torch.float32) if quick else Size(4, 256, 8, 2, 128, torch.float32)
    )


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
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", size))
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
    dist.all_reduce(torch.zeros(1, device=device))  # every rank's first NCCL call is a collective
    return _World(rank, size, backend, device, control)


def _helper_main(rank: int, size: int, init_method: str, quick: bool) -> None:
    """A helper rank started by ``prep bench 15`` without torchrun: follow rank 0."""
    global _world
    torch.set_num_threads(max(1, torch.get_num_threads() // size))
    _world = _join(rank, size, init_method)
    _follow(_world, _build(_world, quick))


def _setup() -> _World:
    global _world
    if _world is not None:
        return _world
    if "WORLD_SIZE" in os.environ:  # torchrun
        _world = _join(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), None)
        return _world
    raise RuntimeError("unreachable: _start_helpers runs first without torchrun")


def _start_helpers(quick: bool) -> _World:
    """Without torchrun: start the other ranks here (gloo on the CPU) and join them."""
    global _world
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


# ------------------------------------------------------------------------------------------
# The step workload


@dataclass
class _Model:
    """The single-device GPT-2 (float32 weights on the CPU, seeded) and the step's data."""

    hf: Any
    x: Tensor  # (B, T, width) on the device, in the benchmark dtype
    g: Tensor  # (B, T, width): the output gradient


_models: dict[str, _Model] = {}


def _model(world: _World, size: Size) -> _Model:
    if "m" not in _models:
        config = medium_config(size.n_layer)
        config.n_embd, config.n_head = size.n_embd, size.n_head
        hf = seeded_gpt2(config, seed=0, dtype=torch.float32)
        gen = torch.Generator().manual_seed(1)
        shape = (size.batch, size.seq_len, size.n_embd)
        x = torch.randn(shape, generator=gen).to(world.device, size.dtype)
        g = torch.randn(shape, generator=gen).to(world.device, size.dtype)
        _models["m"] = _Model(hf, x, g)
    return _models["m"]


def _on_device(module: nn.Module, world: _World, size: Size) -> nn.Module:
    return module.to(device=world.device, dtype=size.dtype)


def _stepper(blocks: list[nn.Module], x: Tensor, g: Tensor) -> Callable[[], Tensor]:
    params = [p for b in blocks for p in b.parameters()]

    def step() -> Tensor:
        for p in params:
            p.grad = None
        h = x.detach().requires_grad_(True)
        for block in blocks:
            h = block(h)
        h.backward(g)
        out = h.detach()
        return out.to_local() if hasattr(out, "to_local") else out

    return step


def _shard(x: Tensor, world: _World, sequence_parallel: bool) -> Tensor:
    return x.chunk(world.size, dim=1)[world.rank].contiguous() if sequence_parallel else x


def _ours(module: Any, world: _World, size: Size, sp: bool) -> Callable[[], Callable[[], Any]]:
    def build() -> Callable[[], Any]:
        m = _model(world, size)
        blocks = [
            _on_device(module.shard_model(_on_device(b, world, size), world.size,
                                          sequence_parallel=sp), world, size)
            for b in m.hf.h
        ]  # fmt: skip
        return _stepper(blocks, _shard(m.x, world, sp), _shard(m.g, world, sp))

    return build


def _dtensor(world: _World, size: Size, sp: bool) -> Callable[[], Callable[[], Any]]:
    def build() -> Callable[[], Any]:
        from torch.distributed.device_mesh import init_device_mesh

        m = _model(world, size)
        mesh = init_device_mesh(world.device.type, (world.size,))
        blocks: list[nn.Module] = [
            parallelize_block(Block.from_hf(_on_device(b, world, size)), mesh, sequence_parallel=sp)
            for b in m.hf.h
        ]
        return _stepper(blocks, _shard(m.x, world, sp), _shard(m.g, world, sp))

    return build


def _one_device(world: _World, size: Size) -> Callable[[], Callable[[], Any]]:
    def build() -> Callable[[], Any]:
        if world.rank != 0:  # the single-device row runs on rank 0; the others wait
            return lambda: None
        m = _model(world, size)
        blocks: list[nn.Module] = [Block.from_hf(_on_device(b, world, size)) for b in m.hf.h]
        return _stepper(blocks, m.x, m.g)

    return build


def _step_candidates(world: _World, size: Size) -> dict[str, Callable[[], object]]:
    impls = implementations(PACKAGE)
    return {
        ONE_DEVICE: lazy(_one_device(world, size)),
        "starter TP": lazy(_ours(impls["starter"], world, size, False)),
        "baseline TP": lazy(_ours(impls["baseline"], world, size, False)),
        "solution TP": lazy(_ours(impls["solution"], world, size, False)),
        "solution TP+SP": lazy(_ours(impls["solution"], world, size, True)),
        LIBRARY: lazy(_dtensor(world, size, False)),
        "DTensor TP+SP": lazy(_dtensor(world, size, True)),
    }


def _collective_candidates(world: _World, size: Size) -> dict[str, Callable[[], object]]:
    """An all-reduce of one activation, as TP makes 4 per layer and step, and the
    reduce-scatter + all-gather pair SP makes instead."""
    shape = (size.batch, size.seq_len, size.n_embd)
    buffers: dict[str, Tensor] = {}

    def activation() -> Tensor:
        if "x" not in buffers:
            buffers["x"] = torch.ones(shape, device=world.device, dtype=size.dtype)
            buffers["shard"] = torch.empty(
                (size.seq_len // world.size, size.batch, size.n_embd),
                device=world.device, dtype=size.dtype,
            )  # fmt: skip
        return buffers["x"]

    def all_reduce() -> Tensor:
        x = activation()
        for _ in range(COLLECTIVE_REPS):
            dist.all_reduce(x)
            x.div_(world.size)  # stays all ones
        return x

    def reduce_scatter_all_gather() -> Tensor:
        x = activation().view(size.seq_len, size.batch, size.n_embd)  # the sequence leads
        shard = buffers["shard"]
        for _ in range(COLLECTIVE_REPS):
            dist.reduce_scatter_tensor(shard, x)
            shard.div_(world.size)
            dist.all_gather_into_tensor(x, shard)
        return x

    return {"dist.all_reduce": all_reduce, "reduce_scatter + all_gather": reduce_scatter_all_gather}


def _build(world: _World, quick: bool) -> list[list[Callable[[], object]]]:
    """calls[w][c]: candidate c of workload w, the same list on every rank."""
    size = _size(world.device, quick)
    return [
        list(_step_candidates(world, size).values()),
        list(_collective_candidates(world, size).values()),
    ]


def _announced(world: _World, w: int, c: int, call: Callable[[], object]) -> Callable[[], object]:
    def announce_then_call() -> object:
        dist.broadcast(torch.tensor([w, c]), src=0, group=world.control)
        return call()

    return announce_then_call


def _step_flops(size: Size) -> float:
    E, L = size.n_embd, size.n_layer
    tokens = size.batch * size.seq_len
    params = L * 12 * E * E  # q, k, v, o (4 E^2) and the MLP (8 E^2) per layer
    attention = L * 4 * size.batch * size.seq_len**2 * E  # QK^T and PV, forward
    return 6 * params * tokens + 3 * attention


def workloads(quick: bool = False) -> list[Workload]:
    world = _setup() if "WORLD_SIZE" in os.environ else _start_helpers(quick)
    calls = _build(world, quick)
    if world.rank != 0:
        _follow(world, calls)
        raise SystemExit(0)  # a follower has nothing to print
    atexit.register(_stop)
    size = _size(world.device, quick)
    n = world.size
    step_names = list(_step_candidates(world, size))
    collective_names = list(_collective_candidates(world, size))
    expected: dict[str, Tensor] = {}

    def check_step(name: str, value: object) -> None:
        if name == ONE_DEVICE:
            assert isinstance(value, Tensor)
            expected["out"] = value.float()
            return
        assert isinstance(value, Tensor), f"{name} returned {type(value).__name__}"
        if "out" not in expected:
            return
        want = expected["out"][:, : value.shape[1]]  # rank 0's tokens under SP
        # low-precision sums in other orders over many layers: compare the whole output
        error = float((value.float() - want).norm() / want.norm())
        assert error < 0.05, f"{name}: relative error {error:.3g} against one device"

    activation_bytes = size.batch * size.seq_len * size.n_embd * size.dtype.itemsize
    bus = 2 * (n - 1) / n * activation_bytes * COLLECTIVE_REPS if n > 1 else None
    return [
        Workload(
            name=f"{size.describe()}, fwd+bwd, {n} ranks, {world.backend}",
            candidates={
                name: _announced(world, 0, c, call)
                for c, (name, call) in enumerate(zip(step_names, calls[0], strict=True))
            },
            check=check_step,
            flops=_step_flops(size),
            reference=LIBRARY,
            device=world.device,
            precision=Precision.BF16 if size.dtype == torch.bfloat16 else Precision.FP32,
            library=LIBRARY,
            datasheet=False,  # the work is spread over n devices: no one-card peak bounds it
            notes=(
                f"TFLOP/s: the whole step's work over its time (all {n} ranks); "
                f"'{ONE_DEVICE}' runs on rank 0 alone"
            ),
        ),
        Workload(
            name=f"all-reduce of one activation ({size.batch} x {size.seq_len} x {size.n_embd}), "
            f"{n} ranks, {world.backend}",
            candidates={
                name: _announced(world, 1, c, call)
                for c, (name, call) in enumerate(zip(collective_names, calls[1], strict=True))
            },
            bytes_moved=bus,
            reference="dist.all_reduce",
            device=world.device,
            library="dist.all_reduce",
            datasheet=False,
            notes=(
                f"GB/s is bus bandwidth, 2(n-1)/n x bytes / time; each call runs "
                f"{COLLECTIVE_REPS} back to back"
            ),
        ),
    ]


def report(rows: list[Row], quick: bool) -> dict[str, Any]:
    """Stop the followers; return the communication per step (from ``comm_volume``) and the
    share of the TP step the collectives would take at the bus bandwidth measured here."""
    world = _world
    _stop()
    if world is None:
        return {}
    size = _size(world.device, quick)
    config = medium_config(size.n_layer)
    config.n_embd = size.n_embd
    out: dict[str, Any] = {"world_size": world.size, "backend": world.backend}
    times = {r.candidate: r.timing.median for r in rows if r.timing is not None}
    for sp in (False, True):
        volume = comm_volume(config, world.size, size.seq_len, size.batch,
                             sequence_parallel=sp, dtype=size.dtype)  # fmt: skip
        key = "tp_sp" if sp else "tp"
        out[f"{key}_payload_bytes_per_step"] = volume.payload_bytes * size.n_layer
        out[f"{key}_wire_bytes_per_rank_per_step"] = volume.wire_bytes_per_rank * size.n_layer
    all_reduce = times.get("dist.all_reduce")
    step = times.get("solution TP")
    if all_reduce and step:
        # 4 all-reduces of one activation per layer and step, each timed above
        comm = 4 * size.n_layer * all_reduce / COLLECTIVE_REPS
        out["tp_allreduce_seconds_per_step"] = comm
        out["tp_comm_share_of_step"] = comm / step
    return out
