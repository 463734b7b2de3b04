"""Challenge 10 - baseline: simple and obviously correct, not fast.

Every all-reduce here is the naive one: gather every rank's tensor on rank 0, reduce there,
broadcast the result. Rank 0 receives and sends (n - 1) * S bytes, so its link is the
bottleneck and the time grows linearly with the number of ranks; the ring keeps every
rank's traffic at 2 (n - 1) / n * S. ``GradientAverager`` starts one all-reduce per
parameter as soon as its gradient is ready: it overlaps with backward, but pays a collective's
latency once per parameter instead of once per bucket. ``ring_cost`` adds up the schedule
step by step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed import ProcessGroup, Work

from challenge_10_ring_allreduce.comm import (
    ReduceOp,
    RingCost,
    check_averager_args,
    check_collective,
    check_cost_args,
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


def naive_allreduce(
    tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM, group: ProcessGroup | None = None
) -> None:
    """Gather to rank 0, reduce there, broadcast back; in place."""
    resolved, reduce_op = check_collective(tensor, op, group)
    world, rank = dist.get_world_size(resolved), dist.get_rank(resolved)
    if world == 1 or tensor.numel() == 0:
        return
    root = global_rank(resolved, 0)
    if rank == 0:
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.gather(tensor, parts, dst=root, group=resolved)
        stacked = torch.stack(parts)  # (world, *tensor.shape)
        if reduce_op is ReduceOp.MAX:
            tensor.copy_(stacked.amax(dim=0))
        else:
            total = stacked.sum(dim=0, dtype=tensor.dtype)
            if reduce_op is ReduceOp.AVG:
                total = (
                    total / world
                    if tensor.dtype.is_floating_point
                    else torch.div(total, world, rounding_mode="trunc")
                )
            tensor.copy_(total)
    else:
        dist.gather(tensor, None, dst=root, group=resolved)
    dist.broadcast(tensor, src=root, group=resolved)


def ring_allreduce(
    tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM, group: ProcessGroup | None = None
) -> None:
    """The baseline's all-reduce is the naive one (see ``naive_allreduce``)."""
    naive_allreduce(tensor, op, group)


def tree_allreduce(
    tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM, group: ProcessGroup | None = None
) -> None:
    """The baseline's all-reduce is the naive one (a tree of depth one rooted at rank 0)."""
    naive_allreduce(tensor, op, group)


class GradientAverager:
    """One async all-reduce per parameter, started by its post-accumulate-grad hook.

    ``bucket_mb`` is accepted and checked, but every parameter is its own bucket."""

    def __init__(
        self, model: nn.Module, bucket_mb: float = 25.0, group: ProcessGroup | None = None
    ) -> None:
        named = check_averager_args(model, bucket_mb)
        self._group = world_of(group)
        self._world = dist.get_world_size(self._group)
        with torch.no_grad():
            for _, p in named:
                dist.broadcast(p, global_rank(self._group, 0), self._group)
        # Reverse order, as backward produces them; a hook fires once per parameter.
        self._named = named[::-1]
        self._works: dict[str, tuple[Tensor, Work]] = {}
        self._hooks = [
            p.register_post_accumulate_grad_hook(self._hook_for(n)) for n, p in self._named
        ]

    def _hook_for(self, name: str) -> Callable[[Tensor], None]:
        def hook(param: Tensor) -> None:
            if name in self._works:
                raise RuntimeError("a second backward pass before wait(): call wait() after each")
            assert param.grad is not None
            buffer = param.grad.detach().clone()
            self._works[name] = (buffer, dist.all_reduce(buffer, group=self._group, async_op=True))

        return hook

    @property
    def buckets(self) -> list[list[str]]:
        """One bucket per parameter, in reverse registration order."""
        return [[n] for n, _ in self._named]

    @property
    def in_flight(self) -> int:
        """Per-parameter all-reduces started and not yet finished by ``wait()``."""
        return len(self._works)

    def wait(self) -> None:
        """Finish every all-reduce and write the averaged gradients into ``.grad``."""
        missing = [n for n, _ in self._named if n not in self._works]
        if missing:
            self._works.clear()
            raise RuntimeError(
                f"{', '.join(missing)} never got a gradient: every parameter that requires "
                "grad must get a gradient in each backward pass"
            )
        with torch.no_grad():
            for name, p in self._named:
                buffer, work = self._works[name]
                work.wait()
                if buffer.dtype.is_floating_point:
                    buffer.div_(self._world)
                else:
                    buffer.div_(self._world, rounding_mode="trunc")
                assert p.grad is not None
                p.grad.copy_(buffer)
        self._works.clear()

    def remove(self) -> None:
        """Detach the hooks: backward no longer starts all-reduces."""
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()


def ring_cost(n_ranks: int, n_bytes: float, bandwidth: float, latency: float) -> RingCost:
    """Walk the 2 (n - 1) steps; each sends one chunk of S / n bytes."""
    check_cost_args(n_ranks, n_bytes, bandwidth, latency)
    steps, sent, seconds = 0, 0.0, 0.0
    for _phase in ("reduce-scatter", "all-gather"):
        for _step in range(n_ranks - 1):
            chunk = n_bytes / n_ranks
            steps += 1
            sent += chunk
            seconds += latency + chunk / bandwidth
    return RingCost(n_ranks, float(n_bytes), steps, sent, seconds)
