"""Known wrong: the fused q/k/v weight is cut into ``world`` contiguous blocks of rows.

HF's ``c_attn`` stacks [Q | K | V]; ``weight.chunk(world)`` gives rank 0 of 2 all of Q and
half of K, rank 1 the rest of K and all of V. Shapes all line up and ``gather_state_dict``
round-trips, but each rank's "heads" mix queries, keys and values of the wrong heads."""

from __future__ import annotations

import torch
from torch import Tensor

from prep.impl import patched


def _qkv_rows(attn: object) -> Tensor:
    local = attn.qkv_proj.weight.shape[0]  # type: ignore[attr-defined]
    rank = attn.rank  # type: ignore[attr-defined]
    return torch.arange(rank * local, (rank + 1) * local)  # the bug: a contiguous block


IMPLEMENTATION = patched("challenge_15_tensor_parallelism.solution", _qkv_rows=_qkv_rows)


TASK = 1  # whose tests reject it: `prep verify` runs them first
