"""prep.bench: sizing, equal sample counts, grouping, ceilings, peaks, rows and tables."""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import pytest
import torch
from rich.console import Console

from prep import bench, device
from prep.device import Precision


def _todo() -> None:
    raise NotImplementedError("TODO(99.1): x - see README task 1")


def _slow_first_call(first_s: float, then_s: float) -> bench.Workload:
    """A candidate whose first call is slow (a compile step), next to a steady one."""
    calls: list[int] = []

    def compiled() -> int:
        calls.append(1)
        time.sleep(first_s if len(calls) == 1 else then_s)
        return 1

    def steady() -> int:
        time.sleep(then_s)
        return 1

    return bench.Workload("sizing", {"baseline": steady, "compiled": compiled})


def test_time_callable_returns_the_value_and_a_bounded_sample_count() -> None:
    timing, value = bench.time_callable(lambda: 42, warmup=2, repeats=7, budget_s=0.05)
    assert value == 42
    assert 5 <= timing.repeats <= 7
    assert 0 <= timing.min <= timing.median <= timing.max


def test_every_candidate_gets_the_same_samples_sized_from_warmed_calls() -> None:
    # Old behaviour: a 0.3 s first call sized the compiled row to the 3-sample minimum while the
    # steady row got 15. Sized from warmed calls (2 ms each), both get the full 15.
    rows = bench.run([_slow_first_call(0.3, 0.002)], repeats=15, budget_s=0.2)
    counts = {r.candidate: r.timing.repeats for r in rows if r.timing is not None}
    assert counts == {"baseline": 15, "compiled": 15}


def test_the_slowest_candidate_sets_the_common_count_within_the_budget() -> None:
    work = bench.Workload(
        "budget",
        {"baseline": lambda: time.sleep(0.02), "fast": lambda: time.sleep(0.002)},
    )
    rows = bench.run([work], repeats=50, budget_s=0.2)
    counts = {r.timing.repeats for r in rows if r.timing is not None}
    assert len(counts) == 1  # the fast row is not given more samples than the slow one
    assert 6 <= counts.pop() <= 10  # about 0.2 s / 20 ms (sleep overshoots on a busy machine)


def test_fast_cpu_calls_are_grouped_into_samples_of_at_least_a_millisecond() -> None:
    timing, _ = bench.time_callable(lambda: None, repeats=5, budget_s=0.05)
    # A no-op call takes ~50 ns: a millisecond holds ~20,000 of them. The bound leaves room for
    # a sizing block that a busy machine preempted (which makes the estimate look slower).
    assert timing.number > 50


def test_the_garbage_collector_is_off_while_timing() -> None:
    states: list[bool] = []
    bench.time_callable(lambda: states.append(gc.isenabled()), warmup=0, repeats=5, budget_s=0.01)
    assert gc.isenabled()
    assert states[0] is True  # the sizing call runs as the user's code would
    assert not any(states[-5:])  # the timed samples ran with the collector off


def test_threads_limits_torch_and_numpy_blas_alike() -> None:
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    with bench.threads(1):
        assert torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
        np.ones((64, 64)) @ np.ones((64, 64))
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_threads_rejects_non_positive_counts(bad: object) -> None:
    with pytest.raises(ValueError, match="threads must be a positive integer"), bench.threads(bad):  # type: ignore[arg-type]
        pass


def test_rows_report_ratios_unfinished_and_wrong_candidates() -> None:
    def check(name: str, value: object) -> None:
        assert value == 1, f"{name} returned {value}"

    work = bench.Workload(
        name="demo",
        candidates={
            "starter": _todo,
            "baseline": lambda: sum(range(20_000)) * 0 + 1,
            "solution": lambda: 1,
            "broken": lambda: 2,
            "crashes": lambda: 1 // 0,
        },
        check=check,
        flops=1e6,
    )
    rows = {r.candidate: r for r in bench.run([work], repeats=5, budget_s=0.2)}
    assert rows["starter"].status == "not implemented"
    assert rows["starter"].timing is None
    assert rows["crashes"].status.startswith("error: ZeroDivisionError")
    assert rows["baseline"].ratio == 1.0
    assert rows["solution"].ratio is not None
    assert rows["solution"].ratio > 1.0
    assert rows["broken"].status.startswith("wrong result: broken returned 2")
    assert rows["solution"].gflops is not None
    assert rows["solution"].peak_share is None  # no datasheet peak on a CPU
    assert rows["solution"].device.startswith("cpu")
    console = Console(record=True, width=160)
    console.print(bench.render(list(rows.values()), [work], "Demo"))
    text = console.export_text()
    assert "not implemented" in text
    assert "speed-up vs baseline" in text
    assert "samples" in text
    assert rows["solution"].as_dict()["median_s"] > 0
    table = bench.markdown(list(rows.values()), [work])
    header = "| implementation | median | min | max | samples | speed-up vs baseline | GFLOP/s |"
    assert header in table
    assert "| starter | not implemented |" in table
    assert "| baseline |" in table
    assert all(line.count("|") == header.count("|") for line in table.splitlines() if "|" in line)


def test_library_row_is_the_measured_ceiling() -> None:
    work = bench.Workload(
        "gemm",
        # Sleeps long enough that a loaded machine's wake-up latency cannot swamp the 2:1 ratio.
        {"baseline": lambda: time.sleep(0.04), "library": lambda: time.sleep(0.02)},
        flops=1e9,
        library="library",
    )
    rows = {r.candidate: r for r in bench.run([work], repeats=3, budget_s=0.2)}
    assert rows["library"].ceiling_share == pytest.approx(1.0)
    assert rows["baseline"].ceiling_share is not None
    assert 0.2 < rows["baseline"].ceiling_share < 0.8
    assert "% of library" in bench.markdown(list(rows.values()), [work])


def test_a_bandwidth_workload_with_a_library_row_is_judged_against_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(device, "peak", lambda _device=None: device.peak_by_name("NVIDIA H200"))
    work = bench.Workload(
        "all-reduce",
        {"ring": lambda: time.sleep(0.004), "nccl": lambda: time.sleep(0.002)},
        bytes_moved=1e9,
        reference="nccl",
        library="nccl",
        datasheet=False,  # an interconnect, not the HBM the datasheet figure describes
    )
    rows = {r.candidate: r for r in bench.run([work], repeats=5, budget_s=0.05)}
    assert rows["nccl"].ceiling_share == pytest.approx(1.0)
    assert rows["ring"].ceiling_share is not None
    assert 0.2 < rows["ring"].ceiling_share < 0.8
    assert rows["ring"].peak_share is None
    assert "% of nccl" in bench.markdown(list(rows.values()), [work])


@pytest.mark.parametrize(
    ("precision", "peak_tflops"),
    [
        (Precision.FP32, 67.0),
        (Precision.TF32, 494.7),
        (Precision.BF16, 989.4),
        (Precision.INT8, 1978.9),
    ],
)
def test_datasheet_share_uses_the_workloads_precision(
    monkeypatch: pytest.MonkeyPatch, precision: Precision, peak_tflops: float
) -> None:
    h100 = device.peak_by_name("NVIDIA H100 80GB HBM3")
    monkeypatch.setattr(device, "peak", lambda _device=None: h100)
    work = bench.Workload(
        "w", {"baseline": lambda: time.sleep(0.001)}, flops=1e12, precision=precision
    )
    (row,) = bench.run([work], repeats=5, budget_s=0.05)
    assert row.gflops is not None
    assert row.peak_share == pytest.approx(row.gflops / 1e3 / peak_tflops)
    unlabelled = bench.Workload("w", {"baseline": lambda: None}, flops=1e12)
    (row,) = bench.run([unlabelled], repeats=5, budget_s=0.05)
    assert row.peak_share is None  # no precision stated: no datasheet figure to compare with


def test_peaks_match_gpu_names_exactly_and_by_precision() -> None:
    sxm = device.peak_by_name("NVIDIA H100 80GB HBM3")
    pcie = device.peak_by_name("NVIDIA H100 PCIe")
    assert sxm is not None
    assert pcie is not None
    assert sxm.bandwidth_gbs == 3350.0
    assert pcie.bandwidth_gbs == 2000.0
    assert sxm.tflops_for(Precision.FP32) == 67.0
    assert sxm.tflops_for(Precision.BF16) == sxm.tflops_for(Precision.FP16) == 989.4
    assert sxm.tflops_for(Precision.FP8) == 1978.9
    h200 = device.peak_by_name("NVIDIA H200")
    assert h200 is not None
    assert h200.bandwidth_gbs == 4800.0
    l4 = device.peak_by_name("NVIDIA L4")
    assert l4 is not None
    assert l4.bandwidth_gbs == 300.0
    assert device.peak_by_name("NVIDIA L40") is None  # not the L4's, nor the L40S's
    assert device.peak_by_name("NVIDIA H100") is None  # a prefix is not a part
    t4 = device.peak_by_name("Tesla T4")
    assert t4 is not None
    assert t4.tflops_for(Precision.BF16) is None  # Turing has no bf16 tensor cores
    a100 = device.peak_by_name("NVIDIA A100-SXM4-80GB")
    assert a100 is not None
    assert a100.tflops_for(Precision.FP8) is None


def test_a_workload_that_says_cpu_but_returns_other_tensors_gets_an_error_row() -> None:
    work = bench.Workload(
        "mislabelled",
        {"baseline": lambda: torch.empty(4, device="meta")},
        device=torch.device("cpu"),
    )
    (row,) = bench.run([work], repeats=5, budget_s=0.05)
    assert row.timing is None
    assert "workload says cpu" in row.status


def test_device_helpers_on_this_machine() -> None:
    best = device.best()
    assert best.type in ("cuda", "mps", "cpu")
    assert "torch" in device.describe(best)
    assert device.peak(torch.device("cpu")) is None


def test_paired_reports_the_ratio_of_alternating_calls() -> None:
    result = bench.paired(lambda: time.sleep(0.002), lambda: time.sleep(0.001), pairs=10)
    assert result.pairs == 10
    assert 1.3 < result.median < 3.0
    assert result.p10 <= result.median <= result.p90
    with pytest.raises(ValueError, match="pairs"):
        bench.paired(lambda: None, lambda: None, pairs=0)


def test_seeded_runs_on_clones_with_a_fixed_seed() -> None:
    x = torch.zeros(3)

    def noisy(t: torch.Tensor) -> torch.Tensor:
        t.add_(1)
        return t + torch.rand(3)

    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first, second = bench.seeded(noisy, x, seed=5), bench.seeded(noisy, x, seed=5)
    assert torch.equal(first, second)
    assert torch.equal(x, torch.zeros(3))  # the caller's tensor is untouched
    assert torch.equal(torch.random.get_rng_state(), state)  # and so is its RNG


def test_prep_imports_and_benches_without_torch() -> None:
    """A challenge that does not use torch (03) gets a working harness without installing it."""
    script = """
import sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
import prep, prep.bench, prep.catalog, prep.cli, prep.device, prep.impl, prep.pytest_plugin, prep.testing
from prep import bench
work = bench.Workload("numpy", {"baseline": lambda: sum(range(100))})
rows = bench.run([work], repeats=5, budget_s=0.05)
assert rows[0].timing is not None, rows
assert "torch not loaded" in rows[0].device, rows[0].device
print(bench.markdown(rows, [work]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| baseline |" in done.stdout


@pytest.mark.gpu
def test_cuda_timing_uses_events_and_reports_both_shares() -> None:
    cuda = torch.device("cuda")
    a = torch.randn(4096, 4096, device=cuda, dtype=torch.bfloat16)
    work = bench.Workload(
        name="bf16 matmul",
        candidates={"torch": lambda: a @ a, "twice": lambda: (a @ a, a @ a)[1]},
        flops=2.0 * 4096**3,
        reference="torch",
        precision=Precision.BF16,
        library="torch",
    )  # no device: derived from the returned tensors
    rows = {r.candidate: r for r in bench.run([work], repeats=10, budget_s=0.5)}
    row = rows["torch"]
    assert row.timing is not None
    assert row.timing.repeats == rows["twice"].timing.repeats  # type: ignore[union-attr]
    assert row.device.startswith("NVIDIA")
    assert row.gflops is not None
    assert row.gflops > 100_000, f"a 4096^3 bf16 matmul ran at only {row.gflops:.0f} GFLOP/s"
    assert row.ceiling_share == pytest.approx(1.0)
    assert rows["twice"].ceiling_share is not None
    assert 0.3 < rows["twice"].ceiling_share < 0.7
    if device.peak(cuda) is not None:
        assert row.peak_share is not None
        assert 0.2 < row.peak_share < 1.1


@pytest.mark.gpu
def test_cuda_copy_ceiling_is_measured_for_bandwidth_workloads() -> None:
    cuda = torch.device("cuda")
    x = torch.randn(64 * 2**20, device=cuda)
    work = bench.Workload(
        "sum", {"baseline": lambda: x.sum()}, bytes_moved=x.numel() * 4, device=cuda
    )
    (row,) = bench.run([work], repeats=10, budget_s=0.5)
    copy = bench.copy_bandwidth(cuda)
    assert copy > 500, f"device-to-device copy measured at {copy:.0f} GB/s"
    assert row.ceiling_share is not None
    assert 0.3 < row.ceiling_share < 1.5


def test_lazy_builds_once_inside_the_harness() -> None:
    builds: list[int] = []

    def build() -> Callable[[], int]:
        builds.append(1)
        return lambda: 7

    def unfinished() -> Callable[[], int]:
        raise NotImplementedError("TODO(99.1): x - see README task 1")

    work = bench.Workload(
        "lazy", {"baseline": bench.lazy(build), "starter": bench.lazy(unfinished)}
    )
    rows = {r.candidate: r for r in bench.run([work], repeats=5, budget_s=0.05)}
    assert builds == [1]
    assert rows["baseline"].status == "ok"
    assert rows["starter"].status == "not implemented"
