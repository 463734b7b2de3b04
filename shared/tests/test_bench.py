"""prep.bench: timing, failure rows, ratios and the rendered table."""

from __future__ import annotations

import pytest
import torch
from rich.console import Console

from prep import bench, device


def _todo() -> None:
    raise NotImplementedError("TODO(99.1): x - see README task 1")


def test_time_callable_repeats_and_returns_the_value() -> None:
    calls: list[int] = []

    def work() -> int:
        calls.append(1)
        return 42

    timing, value = bench.time_callable(work, warmup=2, repeats=5, budget_s=1.0)
    assert value == 42
    assert timing.repeats == 5
    assert len(calls) == 2 + 5
    assert 0 <= timing.min <= timing.median <= timing.max


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
        },
        check=check,
        flops=1e6,
    )
    rows = {r.candidate: r for r in bench.run([work], repeats=3, budget_s=0.2)}
    assert rows["starter"].status == "not implemented"
    assert rows["starter"].timing is None
    assert rows["baseline"].ratio == 1.0
    assert rows["solution"].ratio is not None
    assert rows["solution"].ratio > 1.0
    assert rows["broken"].status.startswith("wrong result: broken returned 2")
    assert rows["solution"].gflops is not None
    console = Console(record=True, width=120)
    console.print(bench.render(list(rows.values()), [work], "Demo"))
    text = console.export_text()
    assert "not implemented" in text
    assert "speed-up vs baseline" in text
    assert rows["solution"].as_dict()["median_s"] > 0
    table = bench.markdown(list(rows.values()), [work])
    assert "| implementation | median | min | max | speed-up vs baseline | GFLOP/s |" in table
    assert "| starter | not implemented |" in table
    assert "| baseline |" in table


def test_device_helpers_on_this_machine() -> None:
    best = device.best()
    assert best.type in ("cuda", "mps", "cpu")
    assert "torch" in device.describe(best)
    assert device.peak(torch.device("cpu")) is None


@pytest.mark.gpu
def test_cuda_timing_uses_events_and_reports_peak_share() -> None:
    cuda = torch.device("cuda")
    a = torch.randn(2048, 2048, device=cuda, dtype=torch.bfloat16)
    flops = 2.0 * 2048**3
    work = bench.Workload(
        name="bf16 matmul",
        candidates={"torch": lambda: a @ a},
        flops=flops,
        reference="torch",
        device=cuda,
    )
    (row,) = bench.run([work], repeats=5, budget_s=0.5)
    assert row.timing is not None
    assert row.timing.repeats >= 3
    assert row.gflops is not None
    assert row.gflops > 1_000, f"a 2048^3 bf16 matmul ran at only {row.gflops:.0f} GFLOP/s"
    if device.peak(cuda) is not None:
        assert row.peak_share is not None
        assert 0 < row.peak_share < 1.2
