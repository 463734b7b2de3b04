"""Tasks 1-3: the naive, ring and tree all-reduces equal ``dist.all_reduce`` on real gloo ranks.

Each job runs in every rank of a forked gloo world (see conftest.py): it builds a seeded,
rank-dependent input, reduces one copy with the implementation under test and another with
``torch.distributed.all_reduce`` (the oracle), and compares them on every rank.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
import torch.distributed as dist
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.impl import load
from prep.testing import assert_close

PACKAGE = "challenge_10_ring_allreduce"
OPS = ("sum", "avg", "max")
DTYPES = (torch.float32, torch.float64, torch.int64)
SIZES = (0, 1, 7, (17, 59))  # empty, one element, fewer than ranks, 2-D with uneven chunks
# 1M + 3 elements: uneven chunks cut into several pipeline slices (1 MiB slices on CPU).
BIG = 1_000_003
BIG_CASES = ((2, "avg", torch.float64), (3, "max", torch.float32), (4, "sum", torch.int64))
WORLDS = (3, 2, 4)  # odd first: it is where chunk and neighbour mistakes show
FUNCTIONS = (
    pytest.param("naive_allreduce", marks=pytest.mark.task(2), id="naive"),
    pytest.param("ring_allreduce", marks=pytest.mark.task(1), id="ring"),
    pytest.param("tree_allreduce", marks=pytest.mark.task(3), id="tree"),
)
TASK = {"naive_allreduce": 2, "ring_allreduce": 1, "tree_allreduce": 3}


def rank_input(
    rank: int, shape: int | tuple[int, ...], dtype: torch.dtype, seed: int
) -> torch.Tensor:
    """Seeded and different on every rank; floats bounded by 16 so tolerances can be exact."""
    gen = torch.Generator().manual_seed(seed * 1009 + rank)
    size = (shape,) if isinstance(shape, int) else shape
    if dtype.is_floating_point:
        return (torch.randn(size, generator=gen, dtype=torch.float64) * 4).clamp(-16, 16).to(dtype)
    return torch.randint(-50, 51, size, generator=gen, dtype=dtype)


def oracle_(x: torch.Tensor, op: str, world: int, group: Any = None) -> None:
    """``dist.all_reduce`` in place; avg is the sum divided by the world size (integers
    truncate toward zero), since gloo has no AVG in every torch version."""
    if op == "max":
        dist.all_reduce(x, op=dist.ReduceOp.MAX, group=group)
        return
    dist.all_reduce(x, op=dist.ReduceOp.SUM, group=group)
    if op == "avg":
        if x.dtype.is_floating_point:
            x.div_(world)
        else:
            x.div_(world, rounding_mode="trunc")


def check_against_oracle(
    impl: ModuleType, fn: str, rank: int, world: int, op: str, x: torch.Tensor, group: Any = None
) -> None:
    mine, expected = x.clone(), x.clone()
    out = getattr(impl, fn)(mine, op, group)
    oracle_(expected, op, world, group)
    assert out is None, f"{fn} works in place and returns None, like dist.all_reduce"
    # Ranks add in another order than gloo does: each of the world - 1 additions may round
    # by eps of a partial sum bounded by world * 16.
    atol = world * world * 16 * torch.finfo(x.dtype).eps if x.dtype.is_floating_point else 0.0
    assert_close(
        mine,
        expected,
        rtol=0.0,
        atol=atol,
        check_dtype=True,
        task=TASK[fn],
        what=f"{fn}(op={op!r}) of shape {tuple(x.shape)} {x.dtype} on rank {rank} of {world}",
    )


def job_matches_oracle(rank: int, world: int, fn: str, op: str, seed: int) -> None:
    impl = load(PACKAGE)
    for dtype in DTYPES:
        for shape in SIZES:
            check_against_oracle(impl, fn, rank, world, op, rank_input(rank, shape, dtype, seed))


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("world", WORLDS)
def test_matches_dist_all_reduce(worlds: Any, world: int, op: str, fn: str) -> None:
    worlds(world).run(job_matches_oracle, fn, op, 0)


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize(("world", "op", "dtype"), BIG_CASES)
def test_one_million_and_three(
    worlds: Any, world: int, op: str, dtype: torch.dtype, fn: str
) -> None:
    worlds(world).run(job_one_case, fn, op, dtype, BIG, 1)


def job_one_case(
    rank: int, world: int, fn: str, op: str, dtype: torch.dtype, numel: int, seed: int
) -> None:
    impl = load(PACKAGE)
    check_against_oracle(impl, fn, rank, world, op, rank_input(rank, numel, dtype, seed))


@pytest.mark.parametrize("fn", FUNCTIONS)
@settings(max_examples=8, deadline=None)
@given(
    op=st.sampled_from(OPS),
    dtype=st.sampled_from((*DTYPES, torch.bfloat16, torch.float16, torch.int32)),
    numel=st.integers(0, 300),
    seed=st.integers(0, 2**16),
)
def test_random_sizes_and_dtypes(
    worlds: Any, fn: str, op: str, dtype: torch.dtype, numel: int, seed: int
) -> None:
    worlds(3).run(job_one_case, fn, op, dtype, numel, seed)


def job_subgroup(rank: int, world: int, fn: str) -> None:
    """Ranks 0, 2 and 3 of 4 form a group; group rank k is global rank [0, 2, 3][k], so an
    implementation that sends to group ranks as if they were global ones fails here."""
    impl = load(PACKAGE)
    members = [0, 2, 3]
    group = dist.new_group(members)
    if rank in members:
        x = rank_input(rank, 1_003, torch.float64, 7)
        check_against_oracle(impl, fn, rank, len(members), "sum", x, group)
    dist.barrier()


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_subgroup_uses_global_ranks(worlds: Any, fn: str) -> None:
    worlds(4).run(job_subgroup, fn)


@pytest.mark.task(3)
def test_tree_falls_back_for_six_ranks(worlds: Any) -> None:
    """6 = 4 + 2: two pairs fold before the halving and unfold after the doubling."""
    worlds(6).run(job_one_case, "tree_allreduce", "sum", torch.float64, 1_001, 3)
    worlds(6).run(job_one_case, "tree_allreduce", "avg", torch.int64, 5, 4)


def job_bad_input(rank: int, world: int, fn: str, case: str) -> None:
    impl = load(PACKAGE)
    call = getattr(impl, fn)
    if case == "non-contiguous":
        call(torch.zeros(4, 6).t(), "sum")
    elif case == "wrong device":
        call(torch.zeros(4, device="meta"), "sum")  # gloo moves CPU tensors
    elif case == "op":
        call(torch.zeros(4), "prod")
    elif case == "not a tensor":
        call([1.0, 2.0], "sum")
    elif case == "bool":
        call(torch.zeros(4, dtype=torch.bool), "sum")


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize(
    ("case", "error", "match"),
    [
        ("non-contiguous", ValueError, "tensor must be contiguous"),
        ("wrong device", ValueError, "tensor is on meta"),
        ("op", ValueError, "op must be one of"),
        ("not a tensor", TypeError, "tensor must be a torch.Tensor"),
        ("bool", TypeError, "tensor must hold real numbers"),
    ],
)
def test_bad_input_is_rejected(
    worlds: Any, fn: str, case: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        worlds(2).run(job_bad_input, fn, case)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_without_a_process_group_says_so(impl: ModuleType, fn: str) -> None:
    assert not dist.is_initialized()  # the pytest process itself never joins a group
    with pytest.raises(ValueError, match="group: no process group"):
        getattr(impl, fn)(torch.zeros(3), "sum")
