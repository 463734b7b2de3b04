"""Proof that the torchrun path works: ranks all-reduce a tensor (gloo on CPU, NCCL on GPUs).

Run by `uv run nox -s torchrun-shared`, which launches
`torchrun --standalone --nproc-per-node=N -m pytest shared/tests/test_torchrun_allreduce.py`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch
import torch.distributed as dist

pytestmark = pytest.mark.torchrun


@pytest.fixture(scope="module")
def process_group() -> Iterator[torch.device]:
    backend = os.environ.get("PREP_BACKEND", "gloo")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend)
    yield device
    dist.destroy_process_group()


def test_all_reduce_sums_every_rank(process_group: torch.device) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    x = torch.full((4,), float(rank + 1), device=process_group)
    dist.all_reduce(x, op=dist.ReduceOp.SUM)
    expected = world * (world + 1) / 2
    assert torch.equal(x.cpu(), torch.full((4,), expected)), (
        f"rank {rank}: {x.tolist()} != {expected}"
    )


def test_all_gather_orders_by_rank(process_group: torch.device) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    parts = [torch.empty(1, device=process_group) for _ in range(world)]
    dist.all_gather(parts, torch.tensor([float(rank)], device=process_group))
    assert [p.item() for p in parts] == [float(r) for r in range(world)]
