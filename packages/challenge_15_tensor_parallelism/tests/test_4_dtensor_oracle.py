"""The library oracle: the same GPT-2 block sharded by PyTorch's own tensor-parallel API
(``parallelize_module`` with ``ColwiseParallel`` / ``RowwiseParallel``, and ``SequenceParallel``
for the LayerNorms) gives the same outputs and input gradients as ``shard_model``'s block."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from challenge_15_tensor_parallelism.models import seeded_gpt2, tiny_config
from challenge_15_tensor_parallelism.reference import Block, parallelize_block
from torch import Tensor

from prep.impl import load
from prep.testing import assert_close

PACKAGE = "challenge_15_tensor_parallelism"
RTOL, ATOL = 1e-9, 1e-11  # float64, two implementations summing in different orders
B, T = 2, 8


def seeded(shape: tuple[int, ...], seed: int) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=torch.float64)


def job_against_dtensor(rank: int, world: int, sequence_parallel: bool) -> None:
    from torch.distributed.device_mesh import init_device_mesh

    impl = load(PACKAGE)
    task = 2 if sequence_parallel else 1
    hf = seeded_gpt2(tiny_config(n_layer=1), seed=11)
    ours = impl.shard_model(hf.h[0], world, sequence_parallel=sequence_parallel)
    mesh = init_device_mesh("cpu", (world,))
    theirs = parallelize_block(Block.from_hf(hf.h[0]), mesh, sequence_parallel=sequence_parallel)
    x = seeded((B, T, 32), seed=12)
    g = seeded((B, T, 32), seed=13)
    if sequence_parallel:
        x, g = x.chunk(world, dim=1)[rank], g.chunk(world, dim=1)[rank]
    results = []
    for block in (ours, theirs):
        x_in = x.clone().requires_grad_(True)
        out = block(x_in)
        out = out.to_local() if hasattr(out, "to_local") else out
        (out * g).sum().backward()
        results.append((out.detach(), x_in.grad))
    what = f"rank {rank} of {world}{', sequence parallel' if sequence_parallel else ''}"
    assert_close(results[0][0], results[1][0], rtol=RTOL, atol=ATOL, task=task,
                 what=f"block output vs DTensor's, {what}")  # fmt: skip
    assert_close(results[0][1], results[1][1], rtol=RTOL, atol=ATOL, task=task,
                 what=f"block input grad vs DTensor's, {what}")  # fmt: skip


@pytest.mark.parametrize(
    "sequence_parallel",
    [pytest.param(False, marks=pytest.mark.task(1), id="tp"),
     pytest.param(True, marks=pytest.mark.task(2), id="sp")],
)  # fmt: skip
@pytest.mark.parametrize("world", [2, 4])
def test_block_matches_dtensor_parallelize_module(
    worlds: Any, world: int, sequence_parallel: bool
) -> None:
    worlds(world).run(job_against_dtensor, sequence_parallel)
