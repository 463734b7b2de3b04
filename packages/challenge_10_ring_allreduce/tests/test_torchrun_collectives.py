"""Under torchrun: every rank is one pytest process (NCCL with one GPU each, else gloo).

    uv run nox -s torchrun-challenge_10
    torchrun --standalone --nproc-per-node=4 -m pytest tests/test_torchrun_collectives.py

The all-reduces must equal ``dist.all_reduce`` on the launched backend (on GPUs: NCCL, with
sizes where the solution's ring pipelines several slices), and ``GradientAverager`` must give
the same gradients and parameters as ``DistributedDataParallel``. Every rank runs the same
tests in the same order, so each collective meets its peers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from prep.testing import assert_close

pytestmark = pytest.mark.torchrun

FUNCTIONS = (
    pytest.param("naive_allreduce", marks=pytest.mark.task(2), id="naive"),
    pytest.param("ring_allreduce", marks=pytest.mark.task(1), id="ring"),
    pytest.param("tree_allreduce", marks=pytest.mark.task(3), id="tree"),
)
TASK = {"naive_allreduce": 2, "ring_allreduce": 1, "tree_allreduce": 3}


@pytest.fixture(scope="module")
def device() -> Iterator[torch.device]:
    backend = os.environ.get("PREP_BACKEND", "gloo")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    place = torch.device("cuda", local_rank) if backend == "nccl" else torch.device("cpu")
    if place.type == "cuda":
        torch.cuda.set_device(place)
    # A short timeout: a deadlocking implementation fails the run instead of hanging it.
    dist.init_process_group(backend=backend, timeout=timedelta(seconds=60))
    dist.all_reduce(torch.zeros(1, device=place))  # the first NCCL call is a collective
    yield place
    dist.destroy_process_group()


def sizes_for(device: torch.device) -> tuple[int, ...]:
    # On a GPU, 40M + 3 fp32 elements (160 MB) gives 2-ranks' chunks of 80 MB: two slices.
    return (0, 1, 7, 1_000_003) + ((40_000_003,) if device.type == "cuda" else ())


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("op", ["sum", "avg", "max"])
def test_matches_dist_all_reduce(impl: ModuleType, device: torch.device, op: str, fn: str) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    for dtype in (torch.float32, torch.int64):
        for numel in sizes_for(device):
            gen = torch.Generator().manual_seed(1009 * numel + rank)
            if dtype.is_floating_point:
                x = (torch.randn(numel, generator=gen) * 4).clamp(-16, 16).to(device)
            else:
                x = torch.randint(-50, 51, (numel,), generator=gen).to(device)
            mine, expected = x.clone(), x.clone()
            getattr(impl, fn)(mine, op)
            dist.all_reduce(expected, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
            if op == "avg":
                if dtype.is_floating_point:
                    expected.div_(world)
                else:
                    expected.div_(world, rounding_mode="trunc")
            # Sums in another order: world - 1 roundings of partial sums below world * 16.
            atol = (
                world * world * 16 * torch.finfo(torch.float32).eps
                if dtype.is_floating_point
                else 0
            )
            assert_close(
                mine, expected, rtol=0.0, atol=atol, task=TASK[fn],
                what=f"{fn}(op={op!r}) of {numel} {dtype} on rank {rank} of {world}",
            )  # fmt: skip


def make_model(device: torch.device, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 64), nn.Linear(64, 8)).to(
        device
    )


@pytest.mark.task(4)
def test_gradient_averager_matches_ddp(impl: ModuleType, device: torch.device) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    bucket_mb = 8 * 1024 / 2**20  # a few buckets of several parameters
    ours, theirs = make_model(device, seed=rank), make_model(device, seed=rank)
    averager = impl.GradientAverager(ours, bucket_mb=bucket_mb)
    ddp = DistributedDataParallel(theirs, bucket_cap_mb=bucket_mb)
    opt_ours = torch.optim.SGD(ours.parameters(), lr=0.05)
    opt_theirs = torch.optim.SGD(ddp.parameters(), lr=0.05)
    for step in range(4):
        gen = torch.Generator().manual_seed(100 * step + rank)
        x = torch.randn(16, 32, generator=gen).to(device)
        y = torch.randn(16, 8, generator=gen).to(device)
        for opt in (opt_ours, opt_theirs):
            opt.zero_grad(set_to_none=step % 2 == 0)
        nn.functional.mse_loss(ours(x), y).backward()
        averager.wait()
        nn.functional.mse_loss(ddp(x), y).backward()
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
            # fp32 sums of `world` gradients, in DDP's order or ours
            assert_close(
                p.grad, q.grad, rtol=1e-5, atol=1e-7, task=4,
                what=f"grad of {name}, step {step}, rank {rank} of {world}",
            )  # fmt: skip
        opt_ours.step()
        opt_theirs.step()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert_close(
            p.detach(), q.detach(), rtol=1e-5, atol=1e-6, task=4,
            what=f"{name} after 4 steps, rank {rank} of {world}",
        )  # fmt: skip
    averager.remove()
