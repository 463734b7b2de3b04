"""Known wrong: paged attention takes row b's block table from the b-th allocated sequence
instead of ``seq_ids[b]``: correct only when the batch lists sequences in allocation order."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from prep.impl import patched


def _tables_by_allocation_order(cache: Any, seq_ids: list[int]) -> Tensor:
    tables = list(cache.block_tables.values())[: len(seq_ids)]  # the bug
    width = max(1, max(len(t) for t in tables))
    padded = [t + [0] * (width - len(t)) for t in tables]
    return torch.tensor(padded, dtype=torch.long, device=cache.k_pool.device)


IMPLEMENTATION = patched(
    "challenge_07_kv_cache_attention.solution", _block_table_tensor=_tables_by_allocation_order
)

TASK = 4  # whose tests reject it: `prep verify` runs them first
