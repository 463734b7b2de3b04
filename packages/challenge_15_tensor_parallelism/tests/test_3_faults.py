"""Bad input and broken worlds: clear errors, never a hang. A rank that never joins, or one
whose tensors have another shape, makes the others fail within the process group's timeout;
building a parallel layer outside an initialised process group says how to start one."""

from __future__ import annotations

import pickle
import time
from typing import Any

import pytest
import torch
from challenge_15_tensor_parallelism.models import seeded_gpt2, tiny_config

from prep.impl import load

PACKAGE = "challenge_15_tensor_parallelism"
TIMEOUT_S = 2.0  # the gloo group's timeout in these tests


def job_fault(rank: int, world: int, fault: str) -> tuple[str, float]:
    """The last rank skips the forward ("absent") or calls it with another batch size
    ("shape"); the others report how their forward ended and after how long."""
    impl = load(PACKAGE)
    row = impl.RowParallelLinear(16, 8, dtype=torch.float64)
    batch = 3 if fault == "shape" and rank == world - 1 else 2
    if fault == "absent" and rank == world - 1:
        return ("absent", 0.0)
    start = time.monotonic()
    try:
        row(torch.ones(batch, 4, 16 // world, dtype=torch.float64))
    except NotImplementedError:
        raise
    except Exception as exc:
        return (f"raised {type(exc).__name__}", time.monotonic() - start)
    return ("returned", time.monotonic() - start)


@pytest.mark.task(1)
@pytest.mark.parametrize("fault", ["absent", "shape"])
def test_a_rank_that_is_absent_or_mismatched_fails_the_others(
    worlds: Any, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if fault == "shape":
        # Collectives trust every rank to pass the same shape (gloo aborts the process on a
        # size mismatch, NCCL reads garbage); torch's debug wrapper checks shapes first and
        # raises on every rank. The ranks fork from here, so they inherit the setting.
        monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "DETAIL")
    pool = worlds(2, timeout_s=TIMEOUT_S)
    try:
        replies = pool.replies(job_fault, fault)
    finally:
        pool.close()  # the group is broken now: the next test gets a fresh one
    for kind, value in replies:
        if kind == "err":
            raise pickle.loads(value)
    checked = replies[:-1] if fault == "absent" else replies
    for rank, (kind, value) in enumerate(checked):
        assert kind == "ok", f"rank {rank}: {kind} {value}"
        how, seconds = value
        assert how.startswith("raised"), f"rank {rank} {how} although the ranks disagreed ({fault})"
        assert seconds < 3 * TIMEOUT_S + 2.0, f"rank {rank} took {seconds:.1f} s to fail"


def test_a_layer_outside_a_process_group_says_how_to_start_one(impl: Any) -> None:
    # the test process itself has no process group (the ranks live in the pool's children)
    with pytest.raises(RuntimeError, match="init_process_group"):
        impl.ColumnParallelLinear(8, 8)


def job_bad_shard_arguments(rank: int, world: int) -> None:
    impl = load(PACKAGE)
    hf = seeded_gpt2(tiny_config(n_layer=1))
    with pytest.raises(ValueError, match="world_size"):
        impl.shard_model(hf, world + 1)
    with pytest.raises(TypeError, match="model"):
        impl.shard_model(torch.nn.Linear(4, 4), world)
    with pytest.raises(TypeError, match="module"):
        impl.gather_state_dict(torch.nn.Linear(4, 4))


@pytest.mark.task(3)
def test_shard_model_refuses_a_wrong_world_or_model(worlds: Any) -> None:
    worlds(2).run(job_bad_shard_arguments)


def job_sequence_not_divisible(rank: int, world: int) -> None:
    impl = load(PACKAGE)
    block = impl.shard_model(
        seeded_gpt2(tiny_config(n_layer=1)).h[0], world, sequence_parallel=True
    )
    with pytest.raises(ValueError, match="sequence length"):
        # a shard of 3 tokens per rank is fine; the model cuts (B, T) and T = 6 is not
        impl.scatter_to_sequence_parallel(torch.zeros(1, 6, 32, dtype=torch.float64))
    assert block is not None


@pytest.mark.task(2)
def test_a_sequence_that_does_not_divide_is_refused(worlds: Any) -> None:
    worlds(4).run(job_sequence_not_divisible)
