"""Under torchrun: every rank is one pytest process (NCCL with one GPU each, else gloo).

    uv run nox -s torchrun-challenge_15
    torchrun --standalone --nproc-per-node=4 -m pytest tests/test_torchrun_gpt2.py

The launched world, whatever its size, shards a small GPT-2 (float64, at least as many heads
as ranks) and must equal the single-device Hugging Face model forward and backward, with and
without sequence parallelism, equal DTensor's ``parallelize_module`` on one block, and make
the collectives ``comm_volume`` predicts. Every rank runs the same tests in the same order,
so each collective meets its peers.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType

import pytest
import torch
import torch.distributed as dist
from challenge_15_tensor_parallelism.collectives import count_collectives
from challenge_15_tensor_parallelism.models import seeded_gpt2, tiny_config
from challenge_15_tensor_parallelism.reference import Block, parallelize_block
from transformers import GPT2Config

from prep.testing import assert_close

pytestmark = pytest.mark.torchrun
RTOL, ATOL = 1e-9, 1e-11  # float64 sums in another order, through LayerNorms


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


def config() -> GPT2Config:
    return tiny_config(n_layer=2, n_head=max(4, dist.get_world_size()))


def tokens() -> int:
    return 4 * dist.get_world_size()  # divisible by the world, for sequence parallelism


@pytest.mark.parametrize(
    "sequence_parallel",
    [pytest.param(False, marks=pytest.mark.task(3), id="tp"),
     pytest.param(True, marks=pytest.mark.task(2), id="sp")],
)  # fmt: skip
def test_sharded_model_matches_hugging_face(
    impl: ModuleType, device: torch.device, sequence_parallel: bool
) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    hf = seeded_gpt2(config(), seed=1, device=device)
    ours = impl.shard_model(hf, world, sequence_parallel=sequence_parallel)
    gen = torch.Generator().manual_seed(2)
    ids = torch.randint(0, 64, (2, tokens()), generator=gen).to(device)
    g = torch.randn(2, tokens(), hf.config.n_embd, generator=gen, dtype=torch.float64).to(device)
    out, expected = ours(ids), hf(ids).last_hidden_state
    what = f"GPT2Model on rank {rank} of {world} ({'TP+SP' if sequence_parallel else 'TP'})"
    task = 2 if sequence_parallel else 3
    assert_close(out, expected.detach(), rtol=RTOL, atol=ATOL, task=task, what=what)
    (out * g).sum().backward()
    (expected * g).sum().backward()
    holder = copy.deepcopy(ours)
    with torch.no_grad():
        for name, p in ours.named_parameters():
            assert p.grad is not None, f"{name} got no gradient"
            holder.get_parameter(name).copy_(p.grad)
    grads = impl.gather_state_dict(holder)
    for name, p in hf.named_parameters():
        assert_close(
            grads[name], p.grad, rtol=RTOL, atol=ATOL, task=task, what=f"grad of {name}, {what}"
        )


@pytest.mark.parametrize(
    "sequence_parallel",
    [pytest.param(False, marks=pytest.mark.task(1), id="tp"),
     pytest.param(True, marks=pytest.mark.task(2), id="sp")],
)  # fmt: skip
def test_block_matches_dtensor(
    impl: ModuleType, device: torch.device, sequence_parallel: bool
) -> None:
    from torch.distributed.device_mesh import init_device_mesh

    rank, world = dist.get_rank(), dist.get_world_size()
    hf = seeded_gpt2(config(), seed=3, device=device)
    ours = impl.shard_model(hf.h[0], world, sequence_parallel=sequence_parallel)
    mesh = init_device_mesh(device.type, (world,))
    theirs = parallelize_block(Block.from_hf(hf.h[0]), mesh, sequence_parallel=sequence_parallel)
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, tokens(), hf.config.n_embd, generator=gen, dtype=torch.float64).to(device)
    if sequence_parallel:
        x = x.chunk(world, dim=1)[rank]
    mine, library = ours(x), theirs(x)
    library = library.to_local() if hasattr(library, "to_local") else library
    assert_close(mine, library, rtol=RTOL, atol=ATOL, task=2 if sequence_parallel else 1,
                 what=f"block vs DTensor on rank {rank} of {world}")  # fmt: skip


@pytest.mark.task(5)
@pytest.mark.parametrize("sequence_parallel", [False, True], ids=["tp", "sp"])
def test_counted_collectives_match_comm_volume(
    impl: ModuleType, device: torch.device, sequence_parallel: bool
) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    hf = seeded_gpt2(config(), seed=5, device=device)
    block = impl.shard_model(hf.h[0], world, sequence_parallel=sequence_parallel)
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(2, tokens(), hf.config.n_embd, generator=gen, dtype=torch.float64).to(device)
    x = (x.chunk(world, dim=1)[rank] if sequence_parallel else x).requires_grad_(True)
    with count_collectives() as log:
        block(x).square().sum().backward()
    volume = impl.comm_volume(
        config(), world, tokens(), 2, sequence_parallel=sequence_parallel, dtype=torch.float64
    )
    assert (log.count("all_reduce"), log.bytes("all_reduce")) == (
        volume.all_reduce_calls, volume.all_reduce_bytes,
    )  # fmt: skip
    assert (log.count("all_gather"), log.bytes("all_gather")) == (
        volume.all_gather_calls, volume.all_gather_bytes,
    )  # fmt: skip
    assert (log.count("reduce_scatter"), log.bytes("reduce_scatter")) == (
        volume.reduce_scatter_calls, volume.reduce_scatter_bytes,
    )  # fmt: skip
