"""What the starter, baseline and solution share (given, not a task): the reduction enum, the
argument checks every collective runs first, rank translation, the local reduce, and the
result type of ``ring_cost``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed import ProcessGroup

__all__ = [
    "ReduceOp",
    "RingCost",
    "check_collective",
    "check_cost_args",
    "combine_",
    "global_rank",
    "world_of",
]

# Backend -> the device type its point-to-point ops move.
_BACKEND_DEVICE = {"gloo": "cpu", "nccl": "cuda"}


class ReduceOp(StrEnum):
    """How the ranks' tensors combine. A plain string ("sum", "avg", "max") also works."""

    SUM = "sum"
    AVG = "avg"  # the sum divided by the world size; integers truncate toward zero, like NCCL
    MAX = "max"


@dataclass(frozen=True)
class RingCost:
    """The alpha-beta cost of one ring all-reduce (``ring_cost``'s result).

    ``n_bytes`` is the buffer size S; every rank holds all of it before and after.
    """

    n_ranks: int  # n
    n_bytes: float  # S, the buffer each rank reduces
    steps: int  # 2 (n - 1): n - 1 of reduce-scatter, n - 1 of all-gather
    bytes_sent_per_rank: float  # 2 (n - 1) / n * S
    seconds: float  # steps * latency + bytes_sent_per_rank / bandwidth

    @property
    def algbw(self) -> float:
        """Algorithm bandwidth S / t, bytes per second (``inf`` for a free all-reduce)."""
        return self.n_bytes / self.seconds if self.seconds > 0 else float("inf")

    @property
    def busbw(self) -> float:
        """Bus bandwidth: algbw * 2 (n - 1) / n, the nccl-tests figure comparable across n."""
        factor = 2 * (self.n_ranks - 1) / self.n_ranks
        return self.algbw * factor if self.seconds > 0 else 0.0


def world_of(group: ProcessGroup | None, name: str = "group") -> ProcessGroup:
    """``group``, or the default process group; ``ValueError`` when there is none."""
    if not dist.is_available() or not dist.is_initialized():
        raise ValueError(
            f"{name}: no process group is initialized; launch with torchrun and call "
            "torch.distributed.init_process_group() first"
        )
    resolved = dist.group.WORLD if group is None else group
    if resolved is None or dist.get_rank(resolved) < 0:
        raise ValueError(f"{name}: this process is not a member of the given process group")
    return resolved


def check_collective(
    tensor: object, op: ReduceOp | str, group: ProcessGroup | None
) -> tuple[ProcessGroup, ReduceOp]:
    """Validate an all-reduce's arguments; return the resolved group and op.

    Raises:
        TypeError: ``tensor`` is not a tensor, or its dtype is bool or complex.
        ValueError: ``op`` is not sum/avg/max; ``tensor`` is not contiguous or not on the
            device the group's backend moves (CPU for gloo, CUDA for nccl); no process group.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dtype == torch.bool or tensor.dtype.is_complex:
        raise TypeError(f"tensor must hold real numbers, got dtype {tensor.dtype}")
    try:
        reduce_op = ReduceOp(op)
    except ValueError:
        valid = ", ".join(repr(o.value) for o in ReduceOp)
        raise ValueError(f"op must be one of {valid}, got {op!r}") from None
    resolved = world_of(group)
    if not tensor.is_contiguous():
        raise ValueError(
            f"tensor must be contiguous (got strides {tensor.stride()} for shape "
            f"{tuple(tensor.shape)}): reduce t.contiguous() and copy the result back"
        )
    backend = str(dist.get_backend(resolved))
    wanted = _BACKEND_DEVICE.get(backend)
    if wanted is not None and tensor.device.type != wanted:
        raise ValueError(
            f"tensor is on {tensor.device}, but the {backend} backend moves {wanted} tensors"
        )
    return resolved, reduce_op


def check_averager_args(model: object, bucket_mb: object) -> list[tuple[str, nn.Parameter]]:
    """Validate ``GradientAverager``'s arguments; return the (name, parameter) pairs that
    require grad, in registration order.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``bucket_mb`` is not a number.
        ValueError: ``bucket_mb <= 0``, or ``model`` has no parameter that requires grad.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(bucket_mb, bool) or not isinstance(bucket_mb, (int, float)):
        raise TypeError(f"bucket_mb must be a number, got {type(bucket_mb).__name__}")
    if not bucket_mb > 0:
        raise ValueError(f"bucket_mb must be > 0, got {bucket_mb}")
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("model has no parameter that requires grad: nothing to average")
    return named


def check_cost_args(n_ranks: object, n_bytes: object, bandwidth: object, latency: object) -> None:
    """Validate ``ring_cost``'s arguments.

    Raises:
        TypeError: ``n_ranks`` is not an int, or another argument is not a number.
        ValueError: ``n_ranks < 1``, ``n_bytes < 0``, ``bandwidth <= 0``, ``latency < 0``, or
            a value that is not finite.
    """
    if isinstance(n_ranks, bool) or not isinstance(n_ranks, int):
        raise TypeError(f"n_ranks must be an int, got {type(n_ranks).__name__}")
    if n_ranks < 1:
        raise ValueError(f"n_ranks must be >= 1, got {n_ranks}")
    for name, value, positive in (
        ("n_bytes", n_bytes, False),
        ("bandwidth", bandwidth, True),
        ("latency", latency, False),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            bound = "> 0" if positive else ">= 0"
            raise ValueError(f"{name} must be finite and {bound}, got {value}")


def global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of ``group_rank`` in ``group`` (point-to-point ops take global ranks)."""
    return dist.get_global_rank(group, group_rank)


def combine_(into: Tensor, other: Tensor, op: ReduceOp) -> None:
    """``into = into (op) other`` in place; AVG adds (the division comes once, at the end)."""
    if op is ReduceOp.MAX:
        torch.maximum(into, other, out=into)
    else:
        into.add_(other)
