"""The result types of ``memory_plan`` and ``comm_volume``, shared by every implementation."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CommVolume", "MemoryPlan"]


@dataclass(frozen=True)
class MemoryPlan:
    """Bytes one GPU holds when a model is served with tensor parallelism."""

    weights_bytes: int  # this rank's shard of the parameters
    kv_cache_bytes: int  # this rank's K and V heads for every layer, sequence and token
    activation_bytes: int  # the largest per-layer working set of a prefill step
    gpu_bytes: int  # the card's memory

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.kv_cache_bytes + self.activation_bytes

    @property
    def fits(self) -> bool:
        """Whether the three together fit the card."""
        return self.total_bytes <= self.gpu_bytes


@dataclass(frozen=True)
class CommVolume:
    """Collectives of one transformer layer for one training step (forward and backward).

    Bytes are payloads as the call sees them: the tensor an all-reduce reduces, the *output*
    of an all-gather, the *input* of a reduce-scatter (the full, unsharded activation).
    """

    world_size: int
    all_reduce_calls: int
    all_reduce_bytes: int
    all_gather_calls: int
    all_gather_bytes: int
    reduce_scatter_calls: int
    reduce_scatter_bytes: int

    @property
    def payload_bytes(self) -> int:
        return self.all_reduce_bytes + self.all_gather_bytes + self.reduce_scatter_bytes

    @property
    def wire_bytes_per_rank(self) -> float:
        """Bytes each rank sends with ring algorithms: an all-reduce of S bytes sends
        2 (n - 1) / n * S, an all-gather or reduce-scatter of S bytes (n - 1) / n * S."""
        n = self.world_size
        share = (n - 1) / n
        return share * (
            2 * self.all_reduce_bytes + self.all_gather_bytes + self.reduce_scatter_bytes
        )
