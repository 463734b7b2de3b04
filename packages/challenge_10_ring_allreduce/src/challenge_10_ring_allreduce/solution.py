"""Challenge 10 - reference solution.

What is special here: the ring can cut each of its ``world_size`` chunks into slices and keep
a software pipeline across steps, so slice ``j`` travels while slice ``j - 1`` is being
reduced and the next step's send of slice ``j`` starts as soon as that slice is reduced (on
CUDA the waits only order streams; the CPU never blocks). It pipelines where that was
measured to pay and sends whole chunks where it did not (see ``SLICE_BYTES``). Every send
and receive of a step is one ``batch_isend_irecv``, which NCCL needs to run them together.
``tree_allreduce`` is recursive halving-doubling (Rabenseifner). ``GradientAverager`` fills
DDP-style buckets from post-accumulate-grad hooks and starts each bucket's all-reduce during
backward, in a fixed bucket order so every rank issues the same collectives.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed import ProcessGroup, Work

# The naive schedule has nothing to tune: the baseline's is the reference for task 2.
from challenge_10_ring_allreduce.baseline import naive_allreduce
from challenge_10_ring_allreduce.comm import (
    ReduceOp,
    RingCost,
    check_averager_args,
    check_collective,
    check_cost_args,
    combine_,
    global_rank,
    world_of,
)

__all__ = [
    "GradientAverager",
    "ReduceOp",
    "RingCost",
    "naive_allreduce",
    "ring_allreduce",
    "ring_cost",
    "tree_allreduce",
]

# The pipeline: a ring chunk is cut into at most MAX_SLICES slices of at least the device's
# slice size. On CPU (gloo) gloo's I/O threads move one slice while the CPU reduces another.
# On CUDA no slice size is listed, so each chunk travels whole: measured on H100s with NCCL
# (README, Measured results), 64 MiB slices made a 1 GiB ring slower (218 vs 275 GB/s bus
# bandwidth on 2 GPUs, 143 vs 254 on 4). Likely causes, not yet profiled: every slice adds a
# grouped NCCL launch and cross-stream waits, and the overlapped reduction kernel competes
# with NCCL's copy kernels for SMs and HBM bandwidth.
MAX_SLICES = 8
SLICE_BYTES = {"cpu": 1 << 20}


def _bounds(numel: int, parts: int) -> list[int]:
    """``parts + 1`` offsets cutting ``numel`` elements into near-equal contiguous parts.

    The first ``numel % parts`` parts get one extra element, so sizes that are not
    divisible by ``parts`` still cover every element exactly once."""
    base, extra = divmod(numel, parts)
    offsets = [0]
    for k in range(parts):
        offsets.append(offsets[-1] + base + (1 if k < extra else 0))
    return offsets


def _neighbours(group: ProcessGroup, rank: int, world: int) -> tuple[int, int]:
    """(left, right): the global ranks this rank receives from and sends to."""
    return global_rank(group, (rank - 1) % world), global_rank(group, (rank + 1) % world)


def _reduce_scatter_chunks(rank: int, world: int, step: int) -> tuple[int, int]:
    """(chunk sent, chunk received and reduced) at reduce-scatter ``step``.

    Step 0 sends the rank's own chunk; each later step forwards the chunk it reduced last.
    After ``world - 1`` steps, chunk ``(rank + 1) % world`` holds every rank's data."""
    return (rank - step) % world, (rank - step - 1) % world


def _all_gather_chunks(rank: int, world: int, step: int) -> tuple[int, int]:
    """(chunk sent, chunk received) at all-gather ``step``: start from the fully reduced
    chunk ``rank + 1``; each later step forwards the chunk received last."""
    return (rank + 1 - step) % world, (rank - step) % world


def _average(tensor: Tensor, world: int) -> None:
    """Divide a sum by the world size in place (integers truncate toward zero, as NCCL)."""
    if tensor.dtype.is_floating_point:
        tensor.div_(world)
    else:
        tensor.div_(world, rounding_mode="trunc")


def _exchange(send: Tensor, recv: Tensor, right: int, left: int, group: ProcessGroup) -> list[Work]:
    """Post one send to ``right`` and one receive from ``left`` as a single batch.

    Batching matters on NCCL: a lone send and receive between the same two ranks would
    each wait for the other's kernel; grouped, they run as one. Empty slices are skipped
    (both ends know the sizes, so they skip the same ones)."""
    ops = []
    if send.numel():
        ops.append(dist.P2POp(dist.isend, send, right, group))
    if recv.numel():
        ops.append(dist.P2POp(dist.irecv, recv, left, group))
    return dist.batch_isend_irecv(ops) if ops else []


def _wait(works: list[Work]) -> None:
    for work in works:
        work.wait()


def _ring(
    tensor: Tensor, op: ReduceOp, group: ProcessGroup, max_slices: int, slice_bytes: int | None
) -> None:
    """The ring on a validated, contiguous ``tensor``: each chunk cut into up to
    ``max_slices`` slices of at least ``slice_bytes`` (``None``: whole chunks)."""
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    flat = tensor.view(-1)  # (N,)
    if world == 1 or flat.numel() == 0:
        return
    left, right = _neighbours(group, rank, world)
    chunks = _bounds(flat.numel(), world)  # chunk c is flat[chunks[c]:chunks[c + 1]]
    longest = chunks[1] - chunks[0]
    wanted = math.ceil(longest * flat.element_size() / slice_bytes) if slice_bytes else 1
    n_slices = max(1, min(max_slices, wanted))
    # Every rank cuts chunk c the same way: slice j of chunk c is flat[cuts[c][j]:cuts[c][j+1]].
    cuts = [
        [chunks[c] + o for o in _bounds(chunks[c + 1] - chunks[c], n_slices)] for c in range(world)
    ]
    slot = math.ceil(longest / n_slices)
    # Slice j of a received chunk lands in its own slot, so reusing slot j for the next step
    # can never overwrite a slice that is still waiting to be reduced.
    scratch = torch.empty(n_slices * slot, dtype=flat.dtype, device=flat.device)

    def piece(c: int, j: int) -> Tensor:
        return flat[cuts[c][j] : cuts[c][j + 1]]

    def landing(c: int, j: int) -> Tensor:
        return scratch[j * slot : j * slot + cuts[c][j + 1] - cuts[c][j]]

    steps = world - 1
    pending: dict[int, list[Work]] = {}
    # Reduce-scatter: every slice of step 0 goes out at once; as soon as slice j of step s is
    # reduced, slice j of step s + 1 (that very slice) is posted.
    send_c, recv_c = _reduce_scatter_chunks(rank, world, 0)
    for j in range(n_slices):
        pending[j] = _exchange(piece(send_c, j), landing(recv_c, j), right, left, group)
    for step in range(steps):
        _, recv_c = _reduce_scatter_chunks(rank, world, step)
        for j in range(n_slices):
            _wait(pending.pop(j))
            combine_(piece(recv_c, j), landing(recv_c, j), op)
            if step + 1 < steps:
                send_c, next_c = _reduce_scatter_chunks(rank, world, step + 1)
                pending[j] = _exchange(piece(send_c, j), landing(next_c, j), right, left, group)
    if op is ReduceOp.AVG:  # divide once, on the chunk this rank owns: 1/n of the work
        owned = (rank + 1) % world
        _average(flat[chunks[owned] : chunks[owned + 1]], world)

    # All-gather: slices arrive in place; slice j of step t + 1 forwards the slice j that
    # arrived at step t, so it waits for that receive only.
    for step in range(steps):
        send_c, recv_c = _all_gather_chunks(rank, world, step)
        for j in range(n_slices):
            if step:
                _wait(pending.pop(j))
            pending[j] = _exchange(piece(send_c, j), piece(recv_c, j), right, left, group)
    for works in pending.values():
        _wait(works)


def ring_allreduce(
    tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM, group: ProcessGroup | None = None
) -> None:
    """Ring all-reduce, in place: reduce-scatter then all-gather over ``world_size`` chunks;
    on CPU each chunk is cut into up to ``MAX_SLICES`` slices so sending and reducing overlap."""
    resolved, reduce_op = check_collective(tensor, op, group)
    _ring(tensor, reduce_op, resolved, MAX_SLICES, SLICE_BYTES.get(tensor.device.type))


def tree_allreduce(
    tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM, group: ProcessGroup | None = None
) -> None:
    """Recursive halving-doubling (Rabenseifner), in place.

    With p the largest power of two <= n and r = n - p, ranks 0 .. 2r - 1 first pair up:
    each even rank hands its tensor to the odd rank above it and sits out; the p remaining
    ranks halve (reduce-scatter in log2 p exchanges of shrinking halves) and double
    (all-gather in log2 p exchanges of growing halves); then each odd rank hands the
    result back down."""
    resolved, reduce_op = check_collective(tensor, op, group)
    world, rank = dist.get_world_size(resolved), dist.get_rank(resolved)
    flat = tensor.view(-1)  # (N,)
    if world == 1 or flat.numel() == 0:
        return
    p = 1 << (world.bit_length() - 1)
    extra = world - p

    def peer(group_rank: int) -> int:
        return global_rank(resolved, group_rank)

    if rank < 2 * extra and rank % 2 == 0:  # sits out: give, then take back the result
        dist.send(flat, peer(rank + 1), resolved)
        dist.recv(flat, peer(rank + 1), resolved)
        return
    if rank < 2 * extra:
        incoming = torch.empty_like(flat)
        dist.recv(incoming, peer(rank - 1), resolved)
        combine_(flat, incoming, reduce_op)
    virtual = rank // 2 if rank < 2 * extra else rank - extra

    def actual(v: int) -> int:
        return peer(2 * v + 1 if v < extra else v + extra)

    chunks = _bounds(flat.numel(), p)  # virtual rank v ends the halving owning chunk v
    scratch = torch.empty(chunks[p // 2] if p > 1 else 0, dtype=flat.dtype, device=flat.device)
    lo, hi = 0, p  # the chunk range this rank still reduces
    mask = p // 2
    while mask:  # halving: keep the half of [lo, hi) holding chunk `virtual`, send the other
        mid = (lo + hi) // 2
        keep, give = ((lo, mid), (mid, hi)) if virtual & mask == 0 else ((mid, hi), (lo, mid))
        partner = actual(virtual ^ mask)
        kept = flat[chunks[keep[0]] : chunks[keep[1]]]
        landing = scratch[: kept.numel()]
        _wait(
            _exchange(flat[chunks[give[0]] : chunks[give[1]]], landing, partner, partner, resolved)
        )
        combine_(kept, landing, reduce_op)
        lo, hi = keep
        mask //= 2
    if reduce_op is ReduceOp.AVG:
        _average(flat[chunks[lo] : chunks[hi]], world)
    mask = 1
    while mask < p:  # doubling: swap owned ranges with the partner, growing them to 2x
        partner = actual(virtual ^ mask)
        base = virtual & ~(mask - 1)  # this rank owns chunks [base, base + mask)
        other = base ^ mask
        _wait(
            _exchange(
                flat[chunks[base] : chunks[base + mask]],
                flat[chunks[other] : chunks[other + mask]],
                partner,
                partner,
                resolved,
            )
        )
        mask *= 2
    if rank < 2 * extra:
        dist.send(flat, peer(rank - 1), resolved)


class _Bucket:
    """Parameters whose gradients travel in one all-reduce, and that all-reduce's state."""

    def __init__(self, named: list[tuple[str, nn.Parameter]]) -> None:
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        self.offsets = [0]  # parameter k is flat[offsets[k]:offsets[k + 1]]
        for p in self.params:
            self.offsets.append(self.offsets[-1] + p.numel())
        first = self.params[0]
        self.flat = torch.zeros(self.offsets[-1], dtype=first.dtype, device=first.device)
        self.arrived = 0  # gradients accumulated since the last wait()
        self.ready = False
        self.work: Work | None = None


class GradientAverager:
    """DDP-style gradient averaging with buckets that start their all-reduce during backward.

    Buckets take parameters in reverse registration order (roughly the order backward
    produces their gradients) until they hold ``bucket_mb`` MiB. A post-accumulate-grad hook
    counts each bucket's arrivals; a full bucket is packed and its all-reduce starts at once
    (async), but only in bucket order, so every rank issues the same collectives in the same
    order. ``wait()`` finishes them and writes the averages back into ``.grad``. The
    constructor broadcasts rank 0's parameters so every replica starts equal.
    """

    def __init__(
        self, model: nn.Module, bucket_mb: float = 25.0, group: ProcessGroup | None = None
    ) -> None:
        named = check_averager_args(model, bucket_mb)
        self._group = world_of(group)
        self._world = dist.get_world_size(self._group)
        with torch.no_grad():
            for _, p in named:
                dist.broadcast(p, global_rank(self._group, 0), self._group)
        self._buckets = self._fill_buckets(named[::-1], int(bucket_mb * 2**20))
        self._next = 0  # the first bucket whose all-reduce has not started
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._hooks = [p.register_post_accumulate_grad_hook(self._on_grad) for _, p in named]

    @staticmethod
    def _fill_buckets(named: list[tuple[str, nn.Parameter]], cap: int) -> list[_Bucket]:
        """Greedy: a bucket closes once it reaches ``cap`` bytes, or when the next parameter
        has another dtype or device (one flat buffer holds one dtype on one device)."""
        groups: list[list[tuple[str, nn.Parameter]]] = []
        size = 0
        for name, p in named:
            last = groups[-1][-1][1] if groups else None
            if last is None or size >= cap or (p.dtype, p.device) != (last.dtype, last.device):
                groups.append([])
                size = 0
            groups[-1].append((name, p))
            size += p.numel() * p.element_size()
        return [_Bucket(members) for members in groups]

    @property
    def buckets(self) -> list[list[str]]:
        """Parameter names per bucket, in the order their all-reduces start."""
        return [list(b.names) for b in self._buckets]

    @property
    def in_flight(self) -> int:
        """Bucket all-reduces started and not yet finished by ``wait()``."""
        return sum(b.work is not None for b in self._buckets)

    def _is_ready(self, bucket: _Bucket) -> bool:
        """Every gradient of the bucket has been accumulated in this backward pass."""
        return bucket.arrived == len(bucket.params)

    def _on_grad(self, param: Tensor) -> None:
        bucket = self._bucket_of[id(param)]
        bucket.arrived += 1
        if bucket.arrived > len(bucket.params):
            raise RuntimeError("a second backward pass before wait(): call wait() after each")
        if self._is_ready(bucket):
            bucket.ready = True
        while self._next < len(self._buckets) and self._buckets[self._next].ready:
            self._launch(self._buckets[self._next])
            self._next += 1

    def _launch(self, bucket: _Bucket) -> None:
        with torch.no_grad():
            for p, lo, hi in zip(bucket.params, bucket.offsets, bucket.offsets[1:], strict=False):
                if p.grad is None:
                    bucket.flat[lo:hi].zero_()
                else:
                    bucket.flat[lo:hi].copy_(p.grad.reshape(-1))
        bucket.work = dist.all_reduce(bucket.flat, group=self._group, async_op=True)

    def wait(self) -> None:
        """Finish every bucket's all-reduce and write the averaged gradients into ``.grad``.
        Call it after ``loss.backward()`` and before ``optimizer.step()``.

        Raises:
            RuntimeError: some parameters got no gradient in this backward pass (a bucket
                never filled), naming them.
        """
        unlaunched = [k for k, b in enumerate(self._buckets) if b.work is None]
        if unlaunched:
            names = self._buckets[unlaunched[0]].names
            self._reset()
            raise RuntimeError(
                f"bucket {unlaunched[0]} ({', '.join(names)}) never filled: every parameter "
                "that requires grad must get a gradient in each backward pass"
            )
        with torch.no_grad():
            for bucket in self._buckets:
                assert bucket.work is not None
                bucket.work.wait()
                _average(bucket.flat, self._world)
                for p, lo, hi in zip(
                    bucket.params, bucket.offsets, bucket.offsets[1:], strict=False
                ):
                    averaged = bucket.flat[lo:hi].view_as(p)
                    if p.grad is None:
                        p.grad = averaged.clone()
                    else:
                        p.grad.copy_(averaged)
        self._reset()

    def _reset(self) -> None:
        for bucket in self._buckets:
            bucket.arrived, bucket.ready, bucket.work = 0, False, None
        self._next = 0

    def remove(self) -> None:
        """Detach the hooks: backward no longer starts all-reduces."""
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()


def ring_cost(n_ranks: int, n_bytes: float, bandwidth: float, latency: float) -> RingCost:
    """Alpha-beta cost of a ring all-reduce: 2 (n - 1) steps, each costing ``latency`` plus
    one chunk of S / n bytes at ``bandwidth``; closed form."""
    check_cost_args(n_ranks, n_bytes, bandwidth, latency)
    steps = 2 * (n_ranks - 1)
    sent = steps * n_bytes / n_ranks
    return RingCost(n_ranks, float(n_bytes), steps, sent, steps * latency + sent / bandwidth)
