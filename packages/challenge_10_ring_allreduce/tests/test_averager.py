"""Task 4: GradientAverager on real gloo ranks, against per-parameter ``dist.all_reduce`` and
against one process training on the whole batch. (test_torchrun_collectives.py compares it
with DistributedDataParallel itself, under torchrun: DDP's import alone costs seconds.)"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
import torch.distributed as dist
from torch import nn

from prep.impl import load
from prep.testing import assert_close

PACKAGE = "challenge_10_ring_allreduce"
pytestmark = pytest.mark.task(4)

# Small enough that the MLP below spreads over several buckets of several parameters each.
BUCKET_MB = 1024 / 2**20
BATCH = 6  # per rank
STEPS = 3


def make_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4)
    ).double()


def batch_of(rank: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1000 * step + rank)
    x = torch.randn(BATCH, 8, generator=gen, dtype=torch.float64)
    y = torch.randn(BATCH, 4, generator=gen, dtype=torch.float64)
    return x, y


def sgd_step(models: tuple[nn.Module, ...], lr: float = 0.1) -> None:
    """Plain SGD by hand: torch.optim imports torch._dynamo, seconds of work in every rank."""
    with torch.no_grad():
        for model in models:
            for p in model.parameters():
                assert p.grad is not None
                p.sub_(lr * p.grad)


def job_matches_reference(rank: int, world: int, set_to_none: bool) -> None:
    """After every step, the gradients equal each parameter's gradient all-reduced by
    ``dist.all_reduce`` and divided by the world size; after STEPS steps of SGD, the
    parameters equal those of one process training on the whole batch (every rank's
    micro-batch)."""
    impl = load(PACKAGE)
    loss_fn = nn.MSELoss()  # a mean: averaging the ranks' gradients = the full batch's gradient
    ours = make_model(seed=rank)  # each rank starts elsewhere: rank 0's weights must win
    reference, single = make_model(seed=0), make_model(seed=0)
    averager = impl.GradientAverager(ours, bucket_mb=BUCKET_MB)
    models = (ours, reference, single)
    for step in range(STEPS):
        for m in models:
            m.zero_grad(set_to_none=set_to_none)
        x, y = batch_of(rank, step)
        loss_fn(ours(x), y).backward()
        averager.wait()
        loss_fn(reference(x), y).backward()
        for p in reference.parameters():
            assert p.grad is not None
            dist.all_reduce(p.grad)
            p.grad.div_(world)
        full = [batch_of(r, step) for r in range(world)]
        loss_fn(single(torch.cat([b[0] for b in full])), torch.cat([b[1] for b in full])).backward()
        for (name, p), q in zip(ours.named_parameters(), reference.parameters(), strict=True):
            # float64 sums of `world` terms, possibly in another order
            assert_close(
                p.grad, q.grad, rtol=1e-12, atol=1e-14, task=4,
                what=f"grad of {name} after step {step} on rank {rank} of {world}",
            )  # fmt: skip
        sgd_step(models)
    for (name, p), q in zip(ours.named_parameters(), single.parameters(), strict=True):
        assert_close(
            p, q.detach(), rtol=1e-10, atol=1e-12, task=4,
            what=f"{name} after {STEPS} steps vs full-batch training, rank {rank} of {world}",
        )  # fmt: skip


@pytest.mark.parametrize("set_to_none", [True, False], ids=["grads-to-none", "grads-zeroed"])
@pytest.mark.parametrize("world", [2, 3])
def test_matches_all_reduce_and_full_batch_training(
    worlds: Any, world: int, set_to_none: bool
) -> None:
    worlds(world).run(job_matches_reference, set_to_none)


def job_buckets(rank: int, world: int) -> tuple[list[list[str]], int, int, int]:
    impl = load(PACKAGE)
    model = make_model(seed=0)
    averager = impl.GradientAverager(model, bucket_mb=BUCKET_MB)
    x, y = batch_of(rank, 0)
    nn.functional.mse_loss(model(x), y).backward()
    started = averager.in_flight  # before wait(): what backward itself started
    averager.wait()
    return averager.buckets, started, averager.in_flight, len(averager.buckets)


def test_buckets_cover_every_parameter_once_and_respect_the_cap(worlds: Any) -> None:
    replies = worlds(2).run(job_buckets)
    buckets = replies[0][0]
    assert replies[1][0] == buckets, (
        "ranks disagree on the buckets: their collectives would mismatch"
    )
    model = make_model(seed=0)
    sizes = {n: p.numel() * p.element_size() for n, p in model.named_parameters()}
    flat = [n for bucket in buckets for n in bucket]
    assert sorted(flat) == sorted(sizes), f"buckets {buckets} do not cover {sorted(sizes)} once"
    assert flat == list(sizes)[::-1], "buckets take parameters in reverse order (backward's)"
    cap = BUCKET_MB * 2**20
    for bucket in buckets:  # a bucket closes once it reaches the cap: all but its last fit
        assert sum(sizes[n] for n in bucket[:-1]) < cap, f"bucket {bucket} overflows {cap} bytes"


def test_every_all_reduce_starts_during_backward(worlds: Any) -> None:
    for buckets, started, after_wait, count in worlds(2).run(job_buckets):
        assert started == count == len(buckets), (
            f"{started} of {count} bucket all-reduces had started when backward returned: "
            "each must start from a hook as soon as its bucket is full"
        )
        assert after_wait == 0, "wait() must finish every all-reduce"


def job_unused_parameter(rank: int, world: int) -> None:
    impl = load(PACKAGE)
    model = nn.ModuleDict({"used": nn.Linear(3, 3), "unused": nn.Linear(3, 3)})
    averager = impl.GradientAverager(model)
    model["used"](torch.randn(2, 3)).sum().backward()
    averager.wait()


def test_a_parameter_without_gradient_is_reported(worlds: Any) -> None:
    # NotImplementedError is a RuntimeError too: an unfinished task must not pass this test.
    with pytest.raises(RuntimeError) as raised:
        worlds(2).run(job_unused_parameter)
    if isinstance(raised.value, NotImplementedError):
        raise raised.value
    assert "unused" in str(raised.value), f"the error should name the parameters: {raised.value}"


def job_bad_averager(rank: int, world: int, case: str) -> None:
    impl = load(PACKAGE)
    if case == "model":
        impl.GradientAverager("not a model")
    elif case == "bucket_mb":
        impl.GradientAverager(nn.Linear(2, 2), bucket_mb=0)
    elif case == "no parameters":
        impl.GradientAverager(nn.ReLU())


@pytest.mark.parametrize(
    ("case", "error", "match"),
    [
        ("model", TypeError, "model must be a torch.nn.Module"),
        ("bucket_mb", ValueError, "bucket_mb must be > 0"),
        ("no parameters", ValueError, "model has no parameter"),
    ],
)
def test_bad_arguments_are_rejected(
    worlds: Any, case: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        worlds(2).run(job_bad_averager, case)


def test_without_a_process_group_says_so(impl: ModuleType) -> None:
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="group: no process group"):
        impl.GradientAverager(nn.Linear(2, 2))
