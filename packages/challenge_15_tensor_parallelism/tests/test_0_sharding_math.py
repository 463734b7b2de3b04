"""Single-process checks of the pure logic: which heads each rank holds (task 1), the memory
plan (task 4) and the communication-volume formulas (task 5). Fast, and first: a head
assignment in the wrong order is caught here before any process starts."""

from __future__ import annotations

import math
from types import ModuleType

import pytest
import torch
from challenge_15_tensor_parallelism.models import medium_config, tiny_config
from hypothesis import given
from hypothesis import strategies as st


@st.composite
def head_layouts(draw: st.DrawFn) -> tuple[int, int, int]:
    """(n_heads, n_kv_heads, world_size) that tensor parallelism can shard."""
    world = draw(st.sampled_from([1, 2, 4, 8]))
    n_kv = draw(st.sampled_from([k for k in (1, 2, 4, 8, 16) if k % world == 0 or world % k == 0]))
    group = draw(st.sampled_from([1, 2, 4]))
    return math.lcm(n_kv, world) * group, n_kv, world


@pytest.mark.task(1)
@given(head_layouts())
def test_head_ranges_keep_each_query_head_with_its_kv_head(
    impl: ModuleType, layout: tuple[int, int, int]
) -> None:
    n_heads, n_kv, world = layout
    group = n_heads // n_kv  # query heads per kv head
    q_seen: list[int] = []
    kv_holders: dict[int, list[int]] = {}
    for rank in range(world):
        q, kv = impl.head_ranges(n_heads, n_kv, world, rank)
        assert isinstance(q, range)
        assert isinstance(kv, range)
        assert len(q) == n_heads // world, f"rank {rank} of {world} holds {len(q)} query heads"
        q_seen += list(q)
        for h in q:  # the kv head each local query head attends with must be local too
            assert h // group in kv, (
                f"{n_heads} heads, {n_kv} kv heads, {world} ranks: rank {rank} holds query "
                f"head {h} but not its kv head {h // group} (it holds {list(kv)})"
            )
        for k in kv:
            kv_holders.setdefault(k, []).append(rank)
    # contiguous blocks in rank order: rank r holds heads [r * n / world, (r + 1) * n / world)
    assert q_seen == list(range(n_heads)), f"query heads by rank: {q_seen}"
    assert sorted(kv_holders) == list(range(n_kv)), "some kv head is held by no rank"
    for k, ranks in kv_holders.items():
        if world > n_kv:  # replicated on world / n_kv neighbouring ranks
            expected = list(range(k * world // n_kv, (k + 1) * world // n_kv))
        else:  # sharded: n_kv / world heads per rank
            expected = [k // (n_kv // world)]
        assert ranks == expected, f"kv head {k} is held by ranks {ranks}, expected {expected}"


@pytest.mark.task(1)
@pytest.mark.parametrize(
    ("args", "name"),
    [((6, 6, 4, 0), "n_heads"), ((8, 3, 2, 0), "n_kv_heads"), ((12, 3, 4, 0), "n_kv_heads"),
     ((8, 4, 2, 2), "rank"), ((8, 4, 2, -1), "rank")],
)  # fmt: skip
def test_head_ranges_bad_layout_names_the_argument(
    impl: ModuleType, args: tuple[int, int, int, int], name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        impl.head_ranges(*args)


# The worked example of the README: a Llama-2-70B-shaped model (80 layers, 8 kv heads of 128,
# width 8192, MLP 28672) in bf16 on 4 x 80 GB, serving 16 sequences of 4096 tokens.
LLAMA_70B = {
    "n_layers": 80, "n_kv_heads": 8, "head_dim": 128, "hidden": 8192, "ffn_hidden": 28672,
}  # fmt: skip


@pytest.mark.task(4)
def test_memory_plan_70b_on_four_80gb_gpus(impl: ModuleType) -> None:
    plan = impl.memory_plan(
        70 * 10**9, torch.bfloat16, 4, batch=16, seq_len=4096, kv_dtype=torch.bfloat16,
        **LLAMA_70B,
    )  # fmt: skip
    assert plan.weights_bytes == 35 * 10**9  # 70e9 params x 2 bytes / 4
    # K and V, 80 layers, 65536 tokens, 2 of the 8 kv heads, 128 x 2 bytes each
    assert plan.kv_cache_bytes == 2 * 80 * 16 * 4096 * 2 * 128 * 2
    # residual + normed copy (2 x 8192) and a quarter of the MLP (7168), 2 bytes, 65536 tokens
    assert plan.activation_bytes == 16 * 4096 * (2 * 8192 + 28672 // 4) * 2
    assert plan.fits
    assert plan.gpu_bytes == 80 * 10**9
    one_gpu = impl.memory_plan(70 * 10**9, torch.bfloat16, 1, batch=16, seq_len=4096, **LLAMA_70B)
    assert not one_gpu.fits
    assert one_gpu.weights_bytes == 140 * 10**9


@pytest.mark.task(4)
@given(
    world=st.sampled_from([1, 2, 4, 8]),
    n_kv=st.sampled_from([1, 2, 4, 8, 16]),
    batch=st.integers(1, 64),
    seq_len=st.integers(1, 32768),
    kv_dtype=st.sampled_from([torch.float32, torch.bfloat16, torch.float8_e4m3fn]),
)
def test_memory_plan_kv_cache_shards_or_replicates(
    impl: ModuleType, world: int, n_kv: int, batch: int, seq_len: int, kv_dtype: torch.dtype
) -> None:
    kw = {"n_layers": 4, "head_dim": 64, "hidden": 1024, "batch": batch, "seq_len": seq_len}
    plan = impl.memory_plan(10**9, torch.bfloat16, world, n_kv_heads=n_kv, kv_dtype=kv_dtype, **kw)
    whole = impl.memory_plan(10**9, torch.bfloat16, 1, n_kv_heads=n_kv, kv_dtype=kv_dtype, **kw)
    item = torch.empty((), dtype=kv_dtype).element_size()
    assert whole.kv_cache_bytes == 2 * 4 * batch * seq_len * n_kv * 64 * item
    # sharded while every rank has a head of its own; once heads run out, one head per rank
    holders = min(world, n_kv)
    assert plan.kv_cache_bytes * holders == whole.kv_cache_bytes
    assert plan.weights_bytes == -(-2 * 10**9 // world)
    assert plan.total_bytes == plan.weights_bytes + plan.kv_cache_bytes + plan.activation_bytes
    assert plan.fits == (plan.total_bytes <= plan.gpu_bytes)


@pytest.mark.task(4)
@pytest.mark.parametrize(
    ("change", "error", "name"),
    [({"world_size": 0}, ValueError, "world_size"), ({"n_kv_heads": 3}, ValueError, "n_kv_heads"),
     ({"dtype": "bf16"}, TypeError, "dtype"), ({"kv_dtype": 2}, TypeError, "kv_dtype"),
     ({"batch": -1}, ValueError, "batch")],
)  # fmt: skip
def test_memory_plan_bad_input_names_the_argument(
    impl: ModuleType, change: dict[str, object], error: type[Exception], name: str
) -> None:
    kw: dict[str, object] = {"n_params": 10**9, "dtype": torch.bfloat16, "world_size": 4}
    kw |= {"batch": 1, "seq_len": 128, "kv_dtype": torch.bfloat16, **LLAMA_70B} | change
    with pytest.raises(error, match=name):
        impl.memory_plan(**kw)


@pytest.mark.task(5)
@given(
    world=st.sampled_from([2, 4, 8]),
    batch=st.integers(1, 16),
    blocks=st.integers(1, 64),
    dtype=st.sampled_from([torch.float32, torch.bfloat16]),
)
def test_comm_volume_sequence_parallel_moves_what_tensor_parallel_does(
    impl: ModuleType, world: int, batch: int, blocks: int, dtype: torch.dtype
) -> None:
    config = medium_config()
    seq_len = blocks * world
    tp = impl.comm_volume(config, world, seq_len, batch, dtype=dtype)
    sp = impl.comm_volume(config, world, seq_len, batch, sequence_parallel=True, dtype=dtype)
    activation = batch * seq_len * 1024 * torch.empty((), dtype=dtype).element_size()
    # two all-reduces forward (after attention and MLP), two backward (before them)
    assert (tp.all_reduce_calls, tp.all_reduce_bytes) == (4, 4 * activation)
    assert tp.all_gather_calls == tp.reduce_scatter_calls == 0
    # each all-reduce becomes a reduce-scatter + all-gather of the same activation...
    assert (sp.all_gather_calls, sp.all_gather_bytes) == (4, 4 * activation)
    assert (sp.reduce_scatter_calls, sp.reduce_scatter_bytes) == (4, 4 * activation)
    # ...so the wire traffic is the same but for the small all-reduce of the gradients of
    # the parameters applied on shards (2 LayerNorms' weight and bias, 2 row-parallel biases)
    small = sp.all_reduce_bytes
    assert sp.all_reduce_calls == 6
    assert small == 6 * 1024 * torch.empty((), dtype=dtype).element_size()
    share = (world - 1) / world
    assert sp.wire_bytes_per_rank == pytest.approx(tp.wire_bytes_per_rank + 2 * share * small)


@pytest.mark.task(5)
def test_comm_volume_one_rank_moves_nothing_and_bad_input_is_named(impl: ModuleType) -> None:
    assert impl.comm_volume(tiny_config(), 1, 16, 2).payload_bytes == 0
    with pytest.raises(ValueError, match="seq_len"):
        impl.comm_volume(tiny_config(), 4, 6, 2, sequence_parallel=True)
    with pytest.raises(ValueError, match="world_size"):
        impl.comm_volume(tiny_config(), 0, 16, 2)
    with pytest.raises(TypeError, match="config"):
        impl.comm_volume({"n_embd": 32}, 2, 16, 2)
