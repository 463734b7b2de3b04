"""Challenge 15 - baseline: the plainest correct version (see ``starter.py`` for the spec).

Three pieces are written the plain way: attention spelled out (scores, causal mask, softmax,
weighted sum) with the key/value heads repeated for their query groups, and the
sequence-parallel collectives in their list forms, ``dist.all_gather`` (then ``torch.cat``) and
``dist.reduce_scatter`` (of ``chunk``s). Everything else - the autograd functions, the layers,
loading and gathering the state dict, the memory and communication models - has one right
form, so the baseline is the solution's code running on these three pieces (a private copy of
the solution with them swapped in), not a second copy of it.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import Tensor
from torch.distributed import ProcessGroup
from torch.nn import functional

from prep.impl import patched

__all__ = [
    "ColumnParallelLinear",
    "CopyToTensorParallel",
    "GatherFromSequenceParallel",
    "ParallelGPT2Block",
    "ParallelGPT2Model",
    "ParallelMLP",
    "ParallelSelfAttention",
    "ReduceFromTensorParallel",
    "ReduceScatterToSequenceParallel",
    "RowParallelLinear",
    "ScatterToSequenceParallel",
    "comm_volume",
    "copy_to_tensor_parallel",
    "gather_from_sequence_parallel",
    "gather_state_dict",
    "head_ranges",
    "memory_plan",
    "reduce_from_tensor_parallel",
    "reduce_scatter_to_sequence_parallel",
    "scatter_to_sequence_parallel",
    "shard_model",
]


def _attend(q: Tensor, k: Tensor, v: Tensor, dropout_p: float) -> Tensor:
    """Causal attention of (B, hq, T, D) queries over (B, hkv, T, D) keys and values."""
    _, hq, T, D = q.shape
    hkv = k.shape[1]
    k = k.repeat_interleave(hq // hkv, dim=1)  # (B, hq, T, D): each query head's kv head
    v = v.repeat_interleave(hq // hkv, dim=1)  # (B, hq, T, D)
    scores = q @ k.transpose(-2, -1) / math.sqrt(D)  # (B, hq, T, T)
    future = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    probs = scores.masked_fill(future, float("-inf")).softmax(dim=-1)  # (B, hq, T, T)
    probs = functional.dropout(probs, dropout_p, dropout_p > 0)
    return probs @ v  # (B, hq, T, D)


def _all_gather_seq(x: Tensor, group: ProcessGroup | None) -> Tensor:
    """Concatenate every rank's ``x`` along dim 1: (B, t, ...) -> (B, world * t, ...)."""
    x = x.contiguous()
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size(group))]
    dist.all_gather(parts, x, group=group)
    return torch.cat(parts, dim=1)  # (B, world * t, ...)


def _reduce_scatter_seq(x: Tensor, group: ProcessGroup | None) -> Tensor:
    """Sum ``x`` over ranks and keep this rank's block of dim 1: (B, T, ...) -> (B, T / world, ...)."""
    world = dist.get_world_size(group)
    if x.shape[1] % world:
        raise ValueError(f"sequence length {x.shape[1]} is not divisible by the world size {world}")
    chunks = [c.contiguous() for c in x.chunk(world, dim=1)]  # rank r gets the sum of chunk r
    out = torch.empty_like(chunks[0])  # (B, T / world, ...)
    dist.reduce_scatter(out, chunks, group=group)
    return out


_impl = patched(
    "challenge_15_tensor_parallelism.solution",
    _attend=_attend,
    _all_gather_seq=_all_gather_seq,
    _reduce_scatter_seq=_reduce_scatter_seq,
)
# The public names, from the private copy.
ColumnParallelLinear = _impl.ColumnParallelLinear
CopyToTensorParallel = _impl.CopyToTensorParallel
GatherFromSequenceParallel = _impl.GatherFromSequenceParallel
ParallelGPT2Block = _impl.ParallelGPT2Block
ParallelGPT2Model = _impl.ParallelGPT2Model
ParallelMLP = _impl.ParallelMLP
ParallelSelfAttention = _impl.ParallelSelfAttention
ReduceFromTensorParallel = _impl.ReduceFromTensorParallel
ReduceScatterToSequenceParallel = _impl.ReduceScatterToSequenceParallel
RowParallelLinear = _impl.RowParallelLinear
ScatterToSequenceParallel = _impl.ScatterToSequenceParallel
comm_volume = _impl.comm_volume
copy_to_tensor_parallel = _impl.copy_to_tensor_parallel
gather_from_sequence_parallel = _impl.gather_from_sequence_parallel
gather_state_dict = _impl.gather_state_dict
head_ranges = _impl.head_ranges
memory_plan = _impl.memory_plan
reduce_from_tensor_parallel = _impl.reduce_from_tensor_parallel
reduce_scatter_to_sequence_parallel = _impl.reduce_scatter_to_sequence_parallel
scatter_to_sequence_parallel = _impl.scatter_to_sequence_parallel
shard_model = _impl.shard_model
