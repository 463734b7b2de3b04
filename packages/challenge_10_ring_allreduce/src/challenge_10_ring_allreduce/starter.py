"""Challenge 10 - ring all-reduce and DDP-style gradient bucketing. YOUR FILE: fill in every TODO.

Everything here runs inside one rank of a ``torch.distributed`` process group: torchrun (or
the tests' forked gloo worlds) starts one process per rank, and each process calls the same
function on its own tensor. Use point-to-point ``dist.isend``/``dist.irecv`` (or
``dist.batch_isend_irecv`` with ``dist.P2POp``: NCCL needs a send and a receive between the
same two ranks batched together), never ``dist.all_reduce`` inside an all-reduce.

Given (``comm.py``):
- ``check_collective(tensor, op, group)`` validates an all-reduce's arguments and returns the
  resolved ``(group, ReduceOp)``: call it first; it raises the errors the docstrings list.
- ``global_rank(group, k)``: point-to-point ops take *global* ranks, not group ranks.
- ``combine_(into, other, op)``: ``into = into (op) other`` in place (AVG adds).
- ``check_averager_args(model, bucket_mb)`` validates ``GradientAverager``'s arguments and
  returns the (name, parameter) pairs that require grad.
- ``check_cost_args(...)`` validates ``ring_cost``'s arguments; ``RingCost`` is its result.
- ``world_of(group)``: the group, or the default group; ``ValueError`` without one.

Run the tests with ``uv run prep test 10`` (``--task K`` for one task); they start real
processes. ``uv run nox -s torchrun-challenge_10`` runs the torchrun tests (NCCL on GPUs).
"""

from __future__ import annotations

import torch.distributed as dist  # noqa: F401 - isend, irecv, batch_isend_irecv, P2POp...
from torch import Tensor, nn
from torch.distributed import ProcessGroup

# Given helpers (see the module docstring); imported for your code to use.
from challenge_10_ring_allreduce.comm import (  # noqa: F401
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


def ring_allreduce(
    tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM, group: ProcessGroup | None = None
) -> None:
    """All-reduce ``tensor`` in place over ``group`` with a ring: reduce-scatter, then
    all-gather, each ``world_size - 1`` steps of one chunk sent to the right neighbour and
    one received from the left.

    Cut the flattened tensor into ``world_size`` contiguous chunks whose sizes differ by at
    most one element (sizes need not divide). At reduce-scatter step s, rank r sends chunk
    ``(r - s) % n`` and reduces the chunk it receives into its own; afterwards rank r holds
    the full reduction of exactly one chunk. The all-gather passes the reduced chunks round.

    Args:
        tensor: any shape, contiguous, a real dtype the backend supports, on the backend's
            device (CPU for gloo, the rank's CUDA device for nccl). Overwritten with the result.
        op: ``"sum"``, ``"avg"`` (the sum divided by the world size; integer tensors truncate
            toward zero, like NCCL) or ``"max"`` - a ``ReduceOp`` or its string.
        group: the process group; ``None`` means the default (world) group.

    Returns:
        None (in place, like ``dist.all_reduce``). Every rank ends with the same values.

    Raises:
        TypeError: ``tensor`` is not a tensor, or is bool or complex.
        ValueError: bad ``op``; ``tensor`` not contiguous or on the wrong device for the
            backend; no process group (``group: no process group ...``).
        RuntimeError: a peer never takes part (gloo's timeout), instead of hanging.
    """
    raise NotImplementedError(
        "TODO(10.1): ring all-reduce - reduce-scatter then all-gather over world_size chunks "
        "- see README task 1"
    )


def naive_allreduce(
    tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM, group: ProcessGroup | None = None
) -> None:
    """All-reduce ``tensor`` in place the obvious way: gather every rank's tensor on group
    rank 0, reduce there, broadcast the result (``dist.gather`` and ``dist.broadcast``).

    Args, Returns and Raises: as ``ring_allreduce``.
    """
    raise NotImplementedError(
        "TODO(10.2): naive all-reduce - gather to rank 0, reduce, broadcast - see README task 2"
    )


def tree_allreduce(
    tensor: Tensor, op: ReduceOp | str = ReduceOp.SUM, group: ProcessGroup | None = None
) -> None:
    """All-reduce ``tensor`` in place by recursive halving-doubling: log2(n) exchanges with
    partner ``rank ^ mask`` that halve the range each rank reduces (reduce-scatter), then
    log2(n) that double it back (all-gather).

    For a world size n that is not a power of two, with p the largest power of two below n
    and r = n - p: ranks 0 .. 2r - 1 pair up first (each even rank sends its tensor to the
    odd rank above, which reduces and takes part; the even rank waits), p ranks run the
    halving-doubling, and each odd rank sends the result back to its even partner.

    Args, Returns and Raises: as ``ring_allreduce``.
    """
    raise NotImplementedError(
        "TODO(10.3): recursive halving-doubling all-reduce, with the fallback for world sizes "
        "that are not a power of two - see README task 3"
    )


class GradientAverager:
    """Average gradients across ranks like DistributedDataParallel: in buckets, started
    during backward.

    The constructor broadcasts rank 0's parameters (every replica starts equal), then puts
    the parameters that require grad into buckets: in *reverse* registration order (about
    the order backward produces gradients), a bucket closing once it holds ``bucket_mb`` MiB
    (or when dtype or device changes). It registers a hook on each parameter
    (``Tensor.register_post_accumulate_grad_hook``); when every gradient of a bucket has
    arrived in this backward pass, the bucket is packed into one flat tensor and its
    all-reduce starts with ``async_op=True`` - but always in bucket order, so all ranks
    issue the same collectives in the same order. ``wait()`` finishes them and writes the
    averages back into ``.grad``.

    Use::

        averager = GradientAverager(model, bucket_mb=25)
        loss.backward()      # all-reduces start here, bucket by bucket
        averager.wait()      # before optimizer.step()

    Args:
        model: the module whose parameters' gradients to average.
        bucket_mb: bucket capacity in MiB (2**20 bytes), > 0.
        group: the process group; ``None`` means the default group.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``bucket_mb`` is not a number.
        ValueError: ``bucket_mb <= 0``; ``model`` has no parameter that requires grad; no
            process group (``group: no process group ...``).
    """

    def __init__(
        self, model: nn.Module, bucket_mb: float = 25.0, group: ProcessGroup | None = None
    ) -> None:
        raise NotImplementedError(
            "TODO(10.4): bucket the parameters, broadcast them from rank 0 and register "
            "gradient hooks - see README task 4"
        )

    @property
    def buckets(self) -> list[list[str]]:
        """Parameter names (``model.named_parameters()`` names) per bucket, in the order their
        all-reduces start."""
        raise NotImplementedError("TODO(10.4): the buckets' parameter names - see README task 4")

    @property
    def in_flight(self) -> int:
        """How many bucket all-reduces have started and are not yet finished by ``wait()``."""
        raise NotImplementedError("TODO(10.4): count started all-reduces - see README task 4")

    def wait(self) -> None:
        """Finish every bucket's all-reduce and write the averaged gradients into ``.grad``.

        Raises:
            RuntimeError: a bucket never filled because some parameter got no gradient in
                this backward pass; the message names the bucket's parameters.
        """
        raise NotImplementedError(
            "TODO(10.4): wait for the all-reduces and write back averaged gradients "
            "- see README task 4"
        )

    def remove(self) -> None:
        """Detach the hooks: backward no longer starts all-reduces."""
        raise NotImplementedError("TODO(10.4): remove the gradient hooks - see README task 4")


def ring_cost(n_ranks: int, n_bytes: float, bandwidth: float, latency: float) -> RingCost:
    """The alpha-beta cost of a ring all-reduce of an ``n_bytes`` buffer over ``n_ranks``.

    Each of the 2 (n - 1) steps costs ``latency`` plus one chunk of S / n bytes at
    ``bandwidth``: t = 2 (n - 1) alpha + 2 (n - 1) / n * S / B.

    Args:
        n_ranks: n >= 1 (one rank: nothing to send, zero cost).
        n_bytes: S >= 0, the buffer size in bytes.
        bandwidth: B > 0, bytes per second of one link, one direction.
        latency: alpha >= 0, seconds per step.

    Returns:
        ``RingCost(n_ranks, n_bytes, steps, bytes_sent_per_rank, seconds)``; its ``algbw`` and
        ``busbw`` properties follow.

    Raises:
        TypeError, ValueError: as ``check_cost_args`` (each names the argument).
    """
    raise NotImplementedError("TODO(10.5): the alpha-beta cost of the ring - see README task 5")
