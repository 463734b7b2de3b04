"""Benchmark harness: time each implementation of a workload and print a table of ratios.

A challenge's ``bench.py`` defines ``workloads(quick: bool) -> list[Workload]``; ``prep bench NN``
times every candidate of every workload, re-checks the result it timed, and prints median times,
the ratio against the reference (baseline unless the workload says otherwise), the achieved
GFLOP/s or GB/s, and on a GPU the share of a ceiling measured in the same run (the library row,
or the device-to-device copy bandwidth) and of the datasheet peak for the workload's precision.

How a workload is timed:

1. Each candidate is called once (lazy building, ``torch.compile``), then ``warmup`` more times,
   then one warmed call is timed to size the run. Sizing from the first call would let a
   compile step shrink one candidate's sample count to the minimum.
2. Every candidate of the workload gets the same number of samples: enough for the slowest to
   fill ``budget_s``, between ``min(5, repeats)`` and ``repeats``. The table prints the count.
3. CPU: the garbage collector is off while timing, and calls faster than ``min_sample_s`` are
   grouped so one sample lasts at least that long (``blocked_autorange``'s idea); ``threads``
   limits torch and the BLAS/OpenMP pools numpy uses (threadpoolctl) alike.
   CUDA: the L2 cache is flushed before each sample and every sample is bracketed by CUDA events
   recorded without a host synchronisation in between; the host synchronises once at the end
   (``triton.testing.do_bench``'s idea).

We keep this loop rather than calling ``torch.utils.benchmark.Timer`` or
``triton.testing.do_bench``: the Timer sizes each candidate on its own (so sample counts differ
between rows) and does not flush L2; ``do_bench`` needs Triton and a GPU and has no CPU path.
The loop above is the part of each we need, in one place, for both devices.

torch is imported lazily: a challenge that does not use it can still use this module's CPU path.
"""

from __future__ import annotations

import contextlib
import gc
import math
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from prep import device as devices
from prep import impl as impl_switch
from prep.device import DeviceLike, Precision

if TYPE_CHECKING:
    import torch

__all__ = [
    "PairedTiming",
    "Precision",
    "Row",
    "Timing",
    "Workload",
    "copy_bandwidth",
    "implementations",
    "lazy",
    "markdown",
    "paired",
    "render",
    "run",
    "seeded",
    "threads",
    "time_callable",
]

_L2_FLUSH_BYTES = 256 * 1024 * 1024  # larger than any current GPU's L2 (H100: 50 MB)
_COPY_BYTES = 512 * 1024 * 1024  # copy-ceiling buffer: far beyond L2, small for an 80 GB card
MIN_SAMPLE_S = 1e-3  # a CPU sample groups calls until it lasts this long


@dataclass(frozen=True)
class Workload:
    """One problem size, timed for each candidate.

    Each candidate is a zero-argument callable (build inputs outside it). ``check`` receives the
    candidate's name and the value it returned on the timed run, and raises when it is wrong.
    ``device`` may be left out: it is then taken from the tensors the candidates return (a CUDA
    workload cannot be timed as a CPU one by forgetting it). A workload that states ``cpu`` but
    returns CUDA tensors gets an error row.
    """

    name: str  # e.g. "MLP 2x64 fwd+bwd, batch 256"
    candidates: dict[str, Callable[[], object]]  # label -> callable, in table order
    check: Callable[[str, object], None] | None = None  # validates a timed result
    flops: float | None = None  # floating-point operations per call, for TFLOP/s
    bytes_moved: float | None = None  # bytes read + written per call, for GB/s
    reference: str = "baseline"  # the row the ratios are against
    device: torch.device | str | None = None  # None: the device of the returned tensors
    notes: str = ""  # printed under the table
    precision: Precision | None = None  # arithmetic of ``flops``: picks the datasheet peak
    library: str | None = None  # the library row: the measured ceiling (cuBLAS, NCCL...)
    datasheet: bool = True  # False where no datasheet figure bounds the work (collectives)


@dataclass(frozen=True)
class Timing:
    """Seconds per call over the timed samples."""

    median: float
    min: float
    max: float
    repeats: int  # samples taken
    number: int = 1  # calls per sample (fast CPU calls are grouped)


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
    peak_share: float | None  # achieved / datasheet peak for the precision (GPU only)
    ceiling_share: float | None = None  # achieved / ceiling measured in the same run
    device: str = ""  # what the workload ran on, e.g. "NVIDIA H200 (torch 2.11.0)"

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "timing"}
        if self.timing is not None:
            out.update(median_s=self.timing.median, min_s=self.timing.min, max_s=self.timing.max)
            out.update(repeats=self.timing.repeats, number=self.timing.number)
        return out


@dataclass(frozen=True)
class PairedTiming:
    """``t(first) / t(second)`` over back-to-back pairs: > 1 means ``second`` is faster."""

    median: float
    p10: float
    p90: float
    pairs: int


def implementations(package: str) -> dict[str, ModuleType]:
    """The challenge's starter, baseline and solution modules, in that order."""
    return {name: impl_switch.load(package, name) for name in impl_switch.IMPLS}


# ----------------------------------------------------------------------------- utilities


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Limit torch's intra-op threads and every BLAS/OpenMP pool (numpy's too) to ``n``.

    ``None`` leaves the libraries' own defaults. Raises ``ValueError`` for ``n < 1``.
    """
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {n!r}")
    from threadpoolctl import threadpool_limits

    torch = _torch_if_loaded()
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)


def seeded(fn: Callable[..., Any], *inputs: Any, seed: int = 0) -> Any:
    """``fn(*inputs)`` under a fixed RNG seed, on clones of the tensor inputs, without autograd.

    Two runs of a random or input-mutating model then see the same random numbers and the same
    inputs; the caller's RNG state and tensors are left as they were.
    """
    import torch

    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=cuda), torch.no_grad():
        torch.manual_seed(seed)
        return fn(*[x.clone() if isinstance(x, torch.Tensor) else x for x in inputs])


def paired(
    first: Callable[[], object], second: Callable[[], object], *, pairs: int = 100
) -> PairedTiming:
    """Time two CPU callables in alternation and summarise ``t(first) / t(second)``.

    On a shared machine the load drifts during a sequential benchmark (each candidate timed for
    seconds in turn); timing the two back to back puts both under the same load, and swapping
    the order every pair removes the bias of going first.
    """
    if pairs < 1:
        raise ValueError(f"pairs must be >= 1, got {pairs}")
    first(), second()
    ratios = []
    with _gc_off():
        for k in range(pairs):
            a, b = (first, second) if k % 2 == 0 else (second, first)
            start = time.perf_counter()
            a()
            middle = time.perf_counter()
            b()
            t_a, t_b = middle - start, time.perf_counter() - middle
            ratios.append(t_a / t_b if k % 2 == 0 else t_b / t_a)
    ratios.sort()
    return PairedTiming(
        ratios[len(ratios) // 2], ratios[len(ratios) // 10], ratios[(9 * len(ratios)) // 10], pairs
    )


def lazy(build: Callable[[], Callable[[], Any]]) -> Callable[[], Any]:
    """A candidate that builds its callable on its first call, so building runs inside the
    harness: an unfinished starter raises ``NotImplementedError`` there and gets a
    "not implemented" row instead of stopping ``workloads()``."""
    built: list[Callable[[], Any]] = []

    def call() -> Any:
        if not built:
            built.append(build())
        return built[0]()

    return call


_COPY_CACHE: dict[str, float] = {}


def copy_bandwidth(device: torch.device) -> float:
    """Device-to-device copy bandwidth of ``device`` in GB/s (bytes read + written), measured
    once per process: the memory roofline a bandwidth-bound kernel is judged against."""
    import torch

    key = str(device)
    if key not in _COPY_CACHE:
        src = torch.empty(_COPY_BYTES, dtype=torch.uint8, device=device)
        dst = torch.empty_like(src)
        timing, _ = time_callable(lambda: dst.copy_(src), device=device, repeats=20, budget_s=0.5)
        _COPY_CACHE[key] = 2 * _COPY_BYTES / timing.median / 1e9
        del src, dst
    return _COPY_CACHE[key]


# ----------------------------------------------------------------------------- timing


def _torch_if_loaded() -> Any:
    import sys

    return sys.modules.get("torch")


@contextlib.contextmanager
def _gc_off() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class _Host:
    """The CPU, for workloads that never import torch (numpy, scipy, pure Python)."""

    type: str = "cpu"

    def __str__(self) -> str:
        return "cpu"


def _cpu() -> DeviceLike:
    torch = _torch_if_loaded()
    return torch.device("cpu") if torch is not None else _Host()


def _as_device(value: torch.device | str | None) -> DeviceLike | None:
    if value is None:
        return None
    if str(value) == "cpu":
        return _cpu()
    import torch

    return torch.device(value)


def _devices_in(value: object, depth: int = 0) -> set[str]:
    """Device types of the tensors inside ``value`` (nested tuples, lists and dicts)."""
    torch = _torch_if_loaded()
    if torch is None or depth > 4:
        return set()
    if isinstance(value, torch.Tensor):
        return {str(value.device)}
    if isinstance(value, (tuple, list)):
        return set().union(*(_devices_in(v, depth + 1) for v in value[:64]))
    if isinstance(value, dict):
        return set().union(*(_devices_in(v, depth + 1) for v in list(value.values())[:64]))
    return set()


def _sync(device: DeviceLike) -> None:
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(cast("torch.device", device))


def _estimate(
    fn: Callable[[], object], device: DeviceLike, warmup: int, min_block_s: float = MIN_SAMPLE_S
) -> tuple[object, float]:
    """Call ``fn`` once plus ``warmup`` times, then time warmed calls: seconds per call.

    On the CPU the calls are timed in blocks grown until one lasts ``min_block_s``, so a call
    shorter than the timer's overhead is not overestimated a hundredfold."""
    value = fn()
    for _ in range(warmup):
        value = fn()
    _sync(device)
    block = 1
    while True:
        start = time.perf_counter()
        for _ in range(block):
            value = fn()
        _sync(device)
        elapsed = time.perf_counter() - start
        if device.type == "cuda" or elapsed >= min_block_s or block >= 1 << 22:
            return value, elapsed / block
        block = max(2 * block, math.ceil(1.2 * block * min_block_s / max(elapsed, 1e-9)))


def _measure(
    fn: Callable[[], object], device: DeviceLike, samples: int, number: int
) -> tuple[Timing, object]:
    """``samples`` timed samples of ``number`` calls each."""
    value: object = None
    times: list[float] = []
    if device.type == "cuda":
        import torch

        cuda = cast("torch.device", device)
        flush = torch.empty(_L2_FLUSH_BYTES, dtype=torch.uint8, device=cuda)
        with torch.cuda.device(cuda):
            events = [
                (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                for _ in range(samples)
            ]
            for begin, end in events:
                flush.zero_()  # evict the previous sample's data from L2
                begin.record()
                for _ in range(number):
                    value = fn()
                end.record()
            torch.cuda.synchronize(cuda)  # once, after every sample is queued
            times = [begin.elapsed_time(end) / 1e3 / number for begin, end in events]
    else:
        with _gc_off():
            for _ in range(samples):
                start = time.perf_counter()
                for _ in range(number):
                    value = fn()
                times.append((time.perf_counter() - start) / number)
    return Timing(statistics.median(times), min(times), max(times), samples, number), value


def _plan(estimate: float, device: DeviceLike, min_sample_s: float) -> int:
    """Calls per sample: 1 on CUDA (events resolve microseconds), enough for ``min_sample_s``
    on the CPU, where a single fast call would be lost in the timer's resolution and jitter."""
    if device.type == "cuda":
        return 1
    return max(1, math.ceil(min_sample_s / max(estimate, 1e-9)))


def _sample_count(costs: list[float], repeats: int, budget_s: float) -> int:
    """One sample count for every candidate: the slowest fills ``budget_s``, bounded by
    ``min(5, repeats)`` below and ``repeats`` above."""
    slowest = max(costs, default=0.0)
    wanted = int(budget_s / slowest) if slowest > 0 else repeats
    return max(min(5, repeats), min(repeats, wanted))


def time_callable(
    fn: Callable[[], object],
    *,
    device: torch.device | None = None,
    warmup: int = 2,
    repeats: int = 15,
    budget_s: float = 3.0,
    min_sample_s: float = MIN_SAMPLE_S,
) -> tuple[Timing, object]:
    """Time one callable as ``run`` times each candidate (see the module docstring).

    Returns the timing and the value of the last timed call (for re-checking).
    """
    where: DeviceLike = _cpu() if device is None else device
    _, estimate = _estimate(fn, where, warmup, min_sample_s)
    number = _plan(estimate, where, min_sample_s)
    samples = _sample_count([estimate * number], repeats, budget_s)
    return _measure(fn, where, samples, number)


def _error_row(work: Workload, name: str, status: str, label: str) -> Row:
    return Row(work.name, name, None, status, None, None, None, None, None, label)


def _describe(exc: BaseException) -> str:
    return f"error: {type(exc).__name__}: {exc}"[:120]


def run(
    workloads: list[Workload],
    *,
    repeats: int = 15,
    budget_s: float = 3.0,
    warmup: int = 2,
    threads: int | None = None,
    min_sample_s: float = MIN_SAMPLE_S,
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Time every candidate of every workload; a candidate that raises ``NotImplementedError``
    (an unfinished starter) or returns a wrong result gets a row saying so. ``threads`` limits
    torch and numpy's thread pools for the whole run. ``progress``, if given, is told what is
    being timed (the CLI shows it in a status line)."""
    with _thread_limit(threads):
        rows: list[Row] = []
        for work in workloads:
            rows += _run_one(work, repeats, budget_s, warmup, min_sample_s, progress)
        return rows


def _thread_limit(n: int | None) -> contextlib.AbstractContextManager[None]:
    return threads(n)


def _run_one(
    work: Workload,
    repeats: int,
    budget_s: float,
    warmup: int,
    min_sample_s: float,
    progress: Callable[[str], None] | None,
) -> list[Row]:
    declared = _as_device(work.device)
    failed: dict[str, str] = {}
    plans: dict[str, tuple[float, int]] = {}  # name -> (seconds per sample, calls per sample)
    seen: set[str] = set()
    # 1. warm every candidate and size its samples
    for name, fn in work.candidates.items():
        if progress is not None:
            progress(f"{work.name}: warming {name}")
        try:
            value, estimate = _estimate(fn, declared or _cpu(), warmup, min_sample_s)
        except NotImplementedError:
            failed[name] = "not implemented"
            continue
        except Exception as exc:  # a benchmark reports a broken candidate and goes on
            failed[name] = _describe(exc)
            continue
        found = _devices_in(value)
        if declared is not None and declared.type == "cpu" and any(d != "cpu" for d in found):
            failed[name] = f"error: returned tensors on {sorted(found)} but the workload says cpu"
            continue
        seen |= found
        plans[name] = (estimate, 0)
    gpu = sorted(d for d in seen if d.startswith("cuda"))
    device = declared or (_as_device(gpu[0]) if gpu else None) or _cpu()
    if declared is None and gpu:  # warmed without synchronising: size it again on the GPU
        plans = {n: (_estimate(work.candidates[n], device, 0)[1], 0) for n in plans}
    for name, (estimate, _) in plans.items():
        number = _plan(estimate, device, min_sample_s)
        plans[name] = (estimate * number, number)
    samples = _sample_count([cost for cost, _ in plans.values()], repeats, budget_s)
    label = devices.describe(device)
    # 2. time each with the same sample count, and re-check what it returned
    timings: dict[str, tuple[Timing, str]] = {}
    for name, (_, number) in plans.items():
        if progress is not None:
            progress(f"{work.name}: {name} ({samples} samples)")
        try:
            timing, value = _measure(work.candidates[name], device, samples, number)
        except Exception as exc:
            failed[name] = _describe(exc)
            continue
        status = "ok"
        if work.check is not None:
            try:
                work.check(name, value)
            except AssertionError as exc:
                first = (str(exc).splitlines() or [""])[0]
                status = f"wrong result: {first}"[:120]
        timings[name] = (timing, status)
    # 3. rates, ceilings and rows, in the workload's candidate order
    peak = devices.peak(device)
    library = timings.get(work.library or "")
    library_rate = _rate(work, library[0]) if library else None
    reference = timings.get(work.reference)
    # A bandwidth workload without a library row is judged against the device's own copy.
    bandwidth_bound = device.type == "cuda" and work.bytes_moved and not work.flops
    measure_copy = bandwidth_bound and library_rate is None
    copy_gbs = copy_bandwidth(cast("torch.device", device)) if measure_copy else None
    if not work.datasheet:
        peak = None
    rows: list[Row] = []
    for name in work.candidates:
        if name in failed:
            rows.append(_error_row(work, name, failed[name], label))
            continue
        if name not in timings:
            continue
        measured, status = timings[name]
        ratio = reference[0].median / measured.median if reference is not None else None
        gflops = work.flops / measured.median / 1e9 if work.flops else None
        gbs = work.bytes_moved / measured.median / 1e9 if work.bytes_moved else None
        share = ceiling = None
        if gflops is not None:
            datasheet = peak.tflops_for(work.precision) if peak and work.precision else None
            share = gflops / 1e3 / datasheet if datasheet else None
            ceiling = gflops / library_rate if library_rate else None
        elif gbs is not None:
            share = gbs / peak.bandwidth_gbs if peak else None
            ceiling = gbs / library_rate if library_rate else (gbs / copy_gbs if copy_gbs else None)
        rows.append(
            Row(work.name, name, measured, status, ratio, gflops, gbs, share, ceiling, label)
        )
    return rows


def _rate(work: Workload, timing: Timing) -> float | None:
    """GFLOP/s (or GB/s for a bandwidth workload) of a timing."""
    if work.flops:
        return work.flops / timing.median / 1e9
    if work.bytes_moved:
        return work.bytes_moved / timing.median / 1e9
    return None


# ----------------------------------------------------------------------------- rendering


def _fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _fmt_rate(value: float | None) -> str:
    if not value:
        return ""
    return f"{value:,.1f}" if value >= 10 else f"{value:.3g}"


def _fmt_share(value: float | None) -> str:
    return f"{100 * value:.1f}%" if value else ""


def _ceiling_name(work: Workload) -> str:
    if work.library:
        return f"% of {work.library}"
    return "% of copy BW" if work.bytes_moved and not work.flops else "% of ceiling"


def _table(rows: list[Row], work: Workload) -> tuple[list[str], list[list[str]]]:
    """Header and cells of one workload's table; empty extra columns are left out."""
    mine = [r for r in rows if r.workload == work.name]
    header = ["implementation", "median", "min", "max", "samples", f"speed-up vs {work.reference}"]
    body: list[list[str]] = []
    for row in mine:
        if row.timing is None:
            body.append([row.candidate, row.status, "", "", "", ""])
            continue
        t = row.timing
        if row.status != "ok":
            ratio = row.status
        elif row.candidate == work.reference:
            ratio = "1.00x"
        else:
            ratio = f"{row.ratio:.2f}x" if row.ratio else "-"
        samples = f"{t.repeats}" if t.number == 1 else f"{t.repeats} x {t.number}"
        median, low, high = _fmt_time(t.median), _fmt_time(t.min), _fmt_time(t.max)
        body.append([row.candidate, median, low, high, samples, ratio])
    extras = [
        ("GFLOP/s", [_fmt_rate(r.gflops) for r in mine]),
        ("GB/s", [_fmt_rate(r.gbs) for r in mine]),
        (_ceiling_name(work), [_fmt_share(r.ceiling_share) for r in mine]),
        ("% of datasheet", [_fmt_share(r.peak_share) for r in mine]),
    ]
    for column, cells in extras:
        if any(cells):
            header.append(column)
            for line, cell in zip(body, cells, strict=True):
                line.append(cell)
    return header, body


def _title(rows: list[Row], work: Workload) -> str:
    label = next((r.device for r in rows if r.workload == work.name and r.device), "")
    precision = f", {work.precision.value}" if work.precision else ""
    return f"{work.name}{precision}" + (f" - {label}" if label else "")


def render(rows: list[Row], workloads: list[Workload], title: str) -> Any:
    """Rich tables of the rows, one per workload, grouped under ``title``."""
    from rich.console import Group
    from rich.table import Table

    tables: list[Any] = []
    for work in workloads:
        header, body = _table(rows, work)
        table = Table(title=f"{title} - {_title(rows, work)}", title_justify="left")
        for k, column in enumerate(header):
            table.add_column(column, justify="left" if k == 0 else "right")
        for line in body:
            table.add_row(*line, *([""] * (len(header) - len(line))))
        tables.append(table)
    return Group(*tables)


def markdown(rows: list[Row], workloads: list[Workload]) -> str:
    """The same figures as ``render``, as Markdown tables for a README's Measured results."""
    lines: list[str] = []
    for work in workloads:
        header, body = _table(rows, work)
        lines += [f"**{_title(rows, work)}**", "", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(line) + " |" for line in body]
        lines.append("")
    return "\n".join(lines)
