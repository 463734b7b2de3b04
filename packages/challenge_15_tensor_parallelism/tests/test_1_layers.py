"""Tasks 1-2 on real gloo ranks (float64): each parallel layer against the same layer whole on
one device, forward and backward, for world sizes 2 and 4.

Every job builds the full layer and the full data from a fixed seed (the same on every rank),
takes this rank's shard, and compares its results with the matching slice of the whole."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from challenge_15_tensor_parallelism.reference import MLP, CausalSelfAttention
from torch import Tensor, nn

from prep.impl import load
from prep.testing import assert_close

PACKAGE = "challenge_15_tensor_parallelism"
WORLDS = [2, 4]
# float64 sums of a few products in another order: far below these
RTOL, ATOL = 1e-10, 1e-12
B, T, HIDDEN, FFN = 2, 8, 16, 32


def seeded(shape: tuple[int, ...], seed: int, grad: bool = False) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=torch.float64).requires_grad_(grad)


def linear(d_in: int, d_out: int, seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(d_in, d_out).double()


def check(actual: Tensor | None, expected: Tensor, task: int, what: str) -> None:
    assert actual is not None, f"{what} is None: no gradient reached it"
    assert_close(actual, expected, rtol=RTOL, atol=ATOL, task=task, what=what)


def block_of(t: Tensor, rank: int, world: int, dim: int) -> Tensor:
    return t.chunk(world, dim=dim)[rank]


def job_row_parallel(rank: int, world: int) -> None:
    impl = load(PACKAGE)
    full = linear(FFN, HIDDEN, seed=1)
    row = impl.RowParallelLinear(FFN, HIDDEN, dtype=torch.float64)
    with torch.no_grad():
        row.weight.copy_(block_of(full.weight, rank, world, 1))  # this rank's input features
        row.bias.copy_(full.bias)
    x = seeded((B, T, FFN), seed=2, grad=True)
    x_local = block_of(x.detach(), rank, world, 2).clone().requires_grad_(True)
    g = seeded((B, T, HIDDEN), seed=3)
    out = row(x_local)
    expected = full(x)
    check(out, expected.detach(), 1, f"RowParallelLinear output on rank {rank} of {world}")
    (out * g).sum().backward()
    (expected * g).sum().backward()
    assert x.grad is not None
    assert full.weight.grad is not None
    check(x_local.grad, block_of(x.grad, rank, world, 2), 1, f"input grad, rank {rank}")
    check(row.weight.grad, block_of(full.weight.grad, rank, world, 1), 1, "weight grad")
    assert full.bias.grad is not None
    check(row.bias.grad, full.bias.grad, 1, f"bias grad on rank {rank} of {world}")


def job_column_parallel(rank: int, world: int) -> None:
    impl = load(PACKAGE)
    full = linear(HIDDEN, FFN, seed=4)
    col = impl.ColumnParallelLinear(HIDDEN, FFN, dtype=torch.float64)
    with torch.no_grad():
        col.weight.copy_(block_of(full.weight, rank, world, 0))  # this rank's output features
        col.bias.copy_(block_of(full.bias, rank, world, 0))
    x = seeded((B, T, HIDDEN), seed=5, grad=True)
    x_mine = x.detach().clone().requires_grad_(True)
    g = seeded((B, T, FFN), seed=6)
    out = col(x_mine)
    expected = full(x)
    check(
        out,
        block_of(expected, rank, world, 2).detach(),
        1,
        f"ColumnParallelLinear output, rank {rank}",
    )
    (out * block_of(g, rank, world, 2)).sum().backward()
    (expected * g).sum().backward()
    assert x.grad is not None
    assert full.weight.grad is not None
    assert full.bias.grad is not None
    # each rank's output features contribute their part of dL/dx: the backward sums them
    check(x_mine.grad, x.grad, 1, f"input grad on rank {rank} of {world} (the sum over ranks)")
    check(col.weight.grad, block_of(full.weight.grad, rank, world, 0), 1, "weight grad")
    check(col.bias.grad, block_of(full.bias.grad, rank, world, 0), 1, "bias grad")


def load_mlp(impl: Any, ref: MLP, rank: int, world: int, sequence_parallel: bool) -> Any:
    mlp = impl.ParallelMLP(HIDDEN, FFN, sequence_parallel=sequence_parallel, dtype=torch.float64)
    with torch.no_grad():
        mlp.fc.weight.copy_(block_of(ref.fc.weight, rank, world, 0))
        mlp.fc.bias.copy_(block_of(ref.fc.bias, rank, world, 0))
        mlp.proj.weight.copy_(block_of(ref.proj.weight, rank, world, 1))
        mlp.proj.bias.copy_(ref.proj.bias)
    return mlp


def job_mlp(rank: int, world: int, sequence_parallel: bool) -> None:
    impl = load(PACKAGE)
    task = 2 if sequence_parallel else 1
    torch.manual_seed(7)
    ref = MLP(HIDDEN, FFN).double()
    mlp = load_mlp(impl, ref, rank, world, sequence_parallel)
    x = seeded((B, T, HIDDEN), seed=8, grad=True)
    g = seeded((B, T, HIDDEN), seed=9)
    expected = ref(x)
    (expected * g).sum().backward()
    assert x.grad is not None
    assert ref.proj.bias.grad is not None
    if sequence_parallel:  # input, output and their gradients are this rank's tokens
        x_in = block_of(x.detach(), rank, world, 1).clone().requires_grad_(True)
        want, g_out, want_grad = (block_of(t, rank, world, 1) for t in (expected, g, x.grad))
    else:
        x_in = x.detach().clone().requires_grad_(True)
        want, g_out, want_grad = expected, g, x.grad
    out = mlp(x_in)
    check(out, want.detach(), task, f"ParallelMLP output on rank {rank} of {world}")
    (out * g_out).sum().backward()
    check(x_in.grad, want_grad, task, f"ParallelMLP input grad on rank {rank} of {world}")
    check(mlp.proj.bias.grad, ref.proj.bias.grad, task, f"proj bias grad, rank {rank}")
    assert ref.fc.weight.grad is not None
    check(mlp.fc.weight.grad, block_of(ref.fc.weight.grad, rank, world, 0), task, "fc weight grad")


def job_attention(rank: int, world: int, n_heads: int, n_kv_heads: int) -> None:
    impl = load(PACKAGE)
    torch.manual_seed(10)
    ref = CausalSelfAttention(HIDDEN * 2, n_heads, n_kv_heads).double()
    attn = impl.shard_model(ref, world)
    x = seeded((B, T, HIDDEN * 2), seed=11, grad=True)
    x_mine = x.detach().clone().requires_grad_(True)
    g = seeded((B, T, HIDDEN * 2), seed=12)
    out, expected = attn(x_mine), ref(x)
    what = f"attention ({n_heads} heads, {n_kv_heads} kv) on rank {rank} of {world}"
    check(out, expected.detach(), 1, what)
    (out * g).sum().backward()
    (expected * g).sum().backward()
    assert x.grad is not None
    check(x_mine.grad, x.grad, 1, f"input grad of {what}")
    # the sharded weights gathered back are the single-device module's
    for name, value in impl.gather_state_dict(attn).items():
        check(value, ref.state_dict()[name], 3, f"gathered {name} of {what}")


def job_sequence_collectives(rank: int, world: int) -> None:
    impl = load(PACKAGE)
    shards = [seeded((B, 2, HIDDEN), seed=20 + r) for r in range(world)]  # rank r's tokens
    whole = torch.cat(shards, dim=1)  # (B, 2 world, HIDDEN)
    grads = [seeded((B, 2 * world, HIDDEN), seed=40 + r) for r in range(world)]  # per rank
    total = torch.stack(grads).sum(0)  # what the reductions add up

    def mine(t: Tensor) -> Tensor:
        return t[:, 2 * rank : 2 * rank + 2]

    x = shards[rank].clone().requires_grad_(True)
    out = impl.gather_from_sequence_parallel(x)
    check(out, whole, 2, f"gather_from_sequence_parallel on rank {rank} of {world}")
    out.backward(grads[rank])  # the consumer was tensor-parallel: gradients are partial sums
    check(x.grad, mine(total), 2, "gather_from_sequence_parallel backward (reduce-scatter)")

    x = shards[rank].clone().requires_grad_(True)
    impl.gather_from_sequence_parallel(x, None, False).backward(grads[rank])
    check(x.grad, mine(grads[rank]), 2, "gather backward into replicated work (a split)")

    y = grads[rank].clone().requires_grad_(True)
    out = impl.reduce_scatter_to_sequence_parallel(y)
    check(out, mine(total), 2, f"reduce_scatter_to_sequence_parallel on rank {rank} of {world}")
    out.backward(shards[rank])
    check(y.grad, whole, 2, "reduce_scatter_to_sequence_parallel backward (all-gather)")

    z = whole.clone().requires_grad_(True)
    out = impl.scatter_to_sequence_parallel(z)
    check(out, shards[rank], 2, f"scatter_to_sequence_parallel on rank {rank} of {world}")
    out.backward(shards[rank])
    check(z.grad, whole, 2, "scatter_to_sequence_parallel backward (all-gather)")


@pytest.mark.task(1)
@pytest.mark.parametrize("world", WORLDS)
def test_row_parallel_linear_matches_nn_linear(worlds: Any, world: int) -> None:
    worlds(world).run(job_row_parallel)


@pytest.mark.task(1)
@pytest.mark.parametrize("world", WORLDS)
def test_column_parallel_linear_matches_nn_linear(worlds: Any, world: int) -> None:
    worlds(world).run(job_column_parallel)


@pytest.mark.task(1)
@pytest.mark.parametrize("world", WORLDS)
def test_parallel_mlp_matches_one_device(worlds: Any, world: int) -> None:
    worlds(world).run(job_mlp, False)


@pytest.mark.task(1)
@pytest.mark.task(3)
@pytest.mark.parametrize(
    ("world", "n_heads", "n_kv_heads"),
    [(2, 4, 4), (2, 4, 2), (4, 8, 4), (4, 8, 2), (4, 4, 1)],
    ids=["mha-2", "gqa-sharded-2", "gqa-sharded-4", "gqa-replicated-4", "mqa-4"],
)
def test_parallel_attention_matches_one_device(
    worlds: Any, world: int, n_heads: int, n_kv_heads: int
) -> None:
    worlds(world).run(job_attention, n_heads, n_kv_heads)


@pytest.mark.task(2)
@pytest.mark.parametrize("world", WORLDS)
def test_sequence_parallel_collectives_and_their_backward(worlds: Any, world: int) -> None:
    worlds(world).run(job_sequence_collectives)


@pytest.mark.task(2)
@pytest.mark.parametrize("world", WORLDS)
def test_sequence_parallel_mlp_matches_one_device(worlds: Any, world: int) -> None:
    worlds(world).run(job_mlp, True)


def job_bad_shapes(rank: int, world: int) -> None:
    impl = load(PACKAGE)
    with pytest.raises(ValueError, match="out_features"):
        impl.ColumnParallelLinear(HIDDEN, 4 * world + 1)
    with pytest.raises(ValueError, match="in_features"):
        impl.RowParallelLinear(4 * world + 1, HIDDEN)
    col = impl.ColumnParallelLinear(HIDDEN, FFN, dtype=torch.float64)
    with pytest.raises(ValueError, match="features"):
        col(torch.zeros(B, T, HIDDEN + 1, dtype=torch.float64))


@pytest.mark.parametrize("world", [2])
def test_features_that_do_not_divide_are_refused(worlds: Any, world: int) -> None:
    worlds(world).run(job_bad_shapes)


def job_attention_heads_must_divide(rank: int, world: int) -> None:
    impl = load(PACKAGE)
    with pytest.raises(ValueError, match="n_heads"):
        impl.ParallelSelfAttention(24, 6, dtype=torch.float64)  # 6 heads over 4 ranks


@pytest.mark.task(1)
def test_heads_that_do_not_divide_are_refused(worlds: Any) -> None:
    worlds(4).run(job_attention_heads_must_divide)
