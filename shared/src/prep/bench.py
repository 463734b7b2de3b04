"""Benchmark harness: time each implementation of a workload and print a table of ratios.

A challenge's ``bench.py`` defines ``workloads(quick: bool) -> list[Workload]``; ``prep bench NN``
times every candidate of every workload (warm-up, repeats, median/min/max; CUDA events and an L2
flush on GPU), re-checks the result it timed, and prints median times, the ratio against the
reference (baseline unless the workload says otherwise) and, when the workload states its work,
the achieved GFLOP/s or GB/s and the share of the device's datasheet peak.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import torch

from prep import device as devices
from prep import impl as impl_switch

_L2_FLUSH_BYTES = 256 * 1024 * 1024  # larger than any current GPU's L2 (H100: 50 MB)


@dataclass(frozen=True)
class Workload:
    """One problem size, timed for each candidate.

    Each candidate is a zero-argument callable (build inputs outside it). ``check`` receives the
    candidate's name and the value it returned on the timed run, and raises when it is wrong.
    """

    name: str  # e.g. "MLP 2x64 fwd+bwd, batch 256"
    candidates: dict[str, Callable[[], object]]  # label -> callable, in table order
    check: Callable[[str, object], None] | None = None  # validates a timed result
    flops: float | None = None  # floating-point operations per call, for TFLOP/s
    bytes_moved: float | None = None  # bytes read + written per call, for GB/s
    reference: str = "baseline"  # the row the ratios are against
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    notes: str = ""  # printed under the table


@dataclass(frozen=True)
class Timing:
    """Seconds per call over the timed repeats."""

    median: float
    min: float
    max: float
    repeats: int


@dataclass(frozen=True)
class Row:
    """One table row: a candidate on a workload, its timing, or why there is none."""

    workload: str
    candidate: str
    timing: Timing | None
    status: str  # "ok", "not implemented", "wrong result: ...", "error: ..."
    ratio: float | None  # reference median / this median (>1 means faster than the reference)
    gflops: float | None
    gbs: float | None
    peak_share: float | None  # achieved / datasheet peak (GPU only)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "timing"}
        if self.timing is not None:
            out.update(median_s=self.timing.median, min_s=self.timing.min, max_s=self.timing.max)
            out.update(repeats=self.timing.repeats)
        return out


def implementations(package: str) -> dict[str, ModuleType]:
    """The challenge's starter, baseline and solution modules, in that order."""
    return {name: impl_switch.load(package, name) for name in impl_switch.IMPLS}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_callable(
    fn: Callable[[], object],
    *,
    device: torch.device | None = None,
    warmup: int = 2,
    repeats: int = 15,
    budget_s: float = 3.0,
) -> tuple[Timing, object]:
    """Time ``fn``: ``warmup`` untimed calls, then up to ``repeats`` timed calls within about
    ``budget_s`` (at least 3). On CUDA each call is timed with events after an L2 flush.

    Returns the timing and the value of the last timed call (for re-checking).
    """
    device = torch.device("cpu") if device is None else device
    start = time.perf_counter()
    result = fn()
    _sync(device)
    first = time.perf_counter() - start
    for _ in range(max(0, warmup - 1)):
        result = fn()
    _sync(device)
    n = max(3, min(repeats, int(budget_s / max(first, 1e-9))))
    samples: list[float] = []
    if device.type == "cuda":
        flush = torch.empty(_L2_FLUSH_BYTES, dtype=torch.uint8, device=device)
        for _ in range(n):
            flush.zero_()
            begin = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            begin.record()
            result = fn()
            end.record()
            end.synchronize()
            samples.append(begin.elapsed_time(end) / 1e3)
    else:
        for _ in range(n):
            t0 = time.perf_counter()
            result = fn()
            samples.append(time.perf_counter() - t0)
    return Timing(statistics.median(samples), min(samples), max(samples), n), result


def run(
    workloads: list[Workload],
    *,
    repeats: int = 15,
    budget_s: float = 3.0,
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Time every candidate of every workload; a candidate that raises ``NotImplementedError``
    (an unfinished starter) or returns a wrong result gets a row saying so. ``progress``, if
    given, is told what is being timed (the CLI shows it in a status line)."""
    rows: list[Row] = []
    for work in workloads:
        peak = devices.peak(work.device)
        timings: dict[str, tuple[Timing | None, str]] = {}
        for name, fn in work.candidates.items():
            if progress is not None:
                progress(f"{work.name}: {name}")
            try:
                timing, value = time_callable(
                    fn, device=work.device, repeats=repeats, budget_s=budget_s
                )
            except NotImplementedError:
                timings[name] = (None, "not implemented")
                continue
            except Exception as exc:  # a benchmark reports a broken candidate and goes on
                timings[name] = (None, f"error: {type(exc).__name__}: {exc}"[:120])
                continue
            status = "ok"
            if work.check is not None:
                try:
                    work.check(name, value)
                except AssertionError as exc:
                    status = f"wrong result: {str(exc).splitlines()[0]}"[:120]
            timings[name] = (timing, status)
        ref = timings.get(work.reference, (None, ""))[0]
        for name, (measured, status) in timings.items():
            ratio = gflops = gbs = share = None
            if measured is not None:
                ratio = ref.median / measured.median if ref is not None else None
                if work.flops:
                    gflops = work.flops / measured.median / 1e9
                    share = gflops / 1e3 / peak.tflops_bf16 if peak else None
                if work.bytes_moved:
                    gbs = work.bytes_moved / measured.median / 1e9
                    share = gbs / peak.bandwidth_gbs if peak and not work.flops else share
            rows.append(Row(work.name, name, measured, status, ratio, gflops, gbs, share))
    return rows


def _fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _fmt_rate(value: float | None) -> str:
    if not value:
        return ""
    return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"


def render(rows: list[Row], workloads: list[Workload], title: str) -> Any:
    """Rich tables of the rows, one per workload, grouped under ``title``."""
    from rich.console import Group
    from rich.table import Table

    tables: list[Any] = []
    for work in workloads:
        mine = [r for r in rows if r.workload == work.name]
        table = Table(title=f"{title} - {work.name}", title_justify="left")
        table.add_column("implementation")
        for column in ("median", "min", "max", f"speed-up vs {work.reference}"):
            table.add_column(column, justify="right")
        extras = [
            ("GFLOP/s", [_fmt_rate(r.gflops) for r in mine]),
            ("GB/s", [_fmt_rate(r.gbs) for r in mine]),
            ("% of peak", [f"{100 * r.peak_share:.1f}%" if r.peak_share else "" for r in mine]),
        ]
        extras = [(name, cells) for name, cells in extras if any(cells)]
        for name, _ in extras:
            table.add_column(name, justify="right")
        for k, row in enumerate(mine):
            if row.timing is None:
                cells = [row.candidate, row.status, "", "", ""]
            else:
                t = row.timing
                ratio = (
                    "1.00x"
                    if row.candidate == work.reference
                    else (f"{row.ratio:.2f}x" if row.ratio else "-")
                )
                if row.status != "ok":
                    ratio = row.status
                cells = [
                    row.candidate,
                    _fmt_time(t.median),
                    _fmt_time(t.min),
                    _fmt_time(t.max),
                    ratio,
                ]
            table.add_row(*cells, *(extra[k] for _, extra in extras))
        tables.append(table)
    return Group(*tables)


def markdown(rows: list[Row], workloads: list[Workload]) -> str:
    """The same figures as ``render``, as Markdown tables for a README's Measured results."""
    lines: list[str] = []
    for work in workloads:
        mine = [r for r in rows if r.workload == work.name]
        rate = (
            "GFLOP/s"
            if any(r.gflops for r in mine)
            else ("GB/s" if any(r.gbs for r in mine) else None)
        )
        peak = any(r.peak_share for r in mine)
        header = ["implementation", "median", "min", "max", f"speed-up vs {work.reference}"]
        header += ([rate] if rate else []) + (["% of peak"] if peak else [])
        lines += [
            f"**{work.name}**",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "---|" * len(header),
        ]
        for row in mine:
            if row.timing is None:
                cells = [row.candidate, row.status, "", "", ""]
            else:
                t = row.timing
                ratio = f"{row.ratio:.2f}x" if row.ratio else "-"
                cells = [row.candidate, _fmt_time(t.median), _fmt_time(t.min), _fmt_time(t.max)]
                cells.append(ratio if row.status == "ok" else row.status)
            if rate:
                cells.append(_fmt_rate(row.gflops if rate == "GFLOP/s" else row.gbs))
            if peak:
                cells.append(f"{100 * row.peak_share:.1f}%" if row.peak_share else "")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
