"""``prep bench 11``: every kernel against its library twin on the GPU, at roofline sizes.

On a GPU: fp32 SGEMM at 4096^3 and 8192^3 against cuBLAS (TF32 off on both sides); sum and max
of 2**28 floats against torch; fused bias+ReLU and softmax on 32768 x 4096 fp32 against torch,
CUDA and Triton side by side; the Triton bf16 matmul at 8192^3 against cuBLAS bf16. Matmuls are
judged against the cuBLAS row, memory-bound kernels against the device-to-device copy bandwidth
measured in the same run. Without a GPU, only task 6 runs: the Python loops of the baseline
against the C++ of the solution, a few thousand calls each.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import ModuleType

import torch

from prep.bench import Precision, Workload, implementations

PACKAGE = "challenge_11_cuda_kernels"
CUDA = torch.device("cuda")


def _close(expected: torch.Tensor, rtol: float, atol: float) -> Callable[[str, object], None]:
    """A check comparing on the GPU (a CPU copy of a 8192^2 result would cost seconds)."""

    def check(name: str, value: object) -> None:
        assert isinstance(value, torch.Tensor), f"{name} returned {type(value).__name__}"
        got, want = value.float(), expected.float()
        bad = ~torch.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
        if bool(bad.any()):
            err = float((got - want).abs().nan_to_num(float("inf")).max())
            raise AssertionError(f"{int(bad.sum())} elements off, max abs error {err:.3g}")

    return check


def _each(
    impls: dict[str, ModuleType], fn: str, *args: object, suffix: str = ""
) -> dict[str, Callable[[], object]]:
    return {f"{name}{suffix}": _call(m, fn, *args) for name, m in impls.items()}


def _call(module: ModuleType, fn: str, *args: object) -> Callable[[], object]:
    def call() -> object:
        return getattr(module, fn)(*args)

    return call


def _sgemm(impls: dict[str, ModuleType], size: int) -> Workload:
    a = torch.randn(size, size, device=CUDA)
    b = torch.randn(size, size, device=CUDA)
    torch.backends.cuda.matmul.allow_tf32 = False  # cuBLAS in true fp32, as the kernels
    expected = torch.matmul(a, b)
    candidates = _each(impls, "matmul", a, b)
    candidates["cuBLAS fp32"] = lambda: torch.matmul(a, b)
    return Workload(
        name=f"SGEMM fp32 {size}^3",
        candidates=candidates,
        # fp32 sums in another order: error about eps * k relative to |a||b|
        check=_close(expected, rtol=1e-3, atol=1e-3 * size**0.5),
        flops=2.0 * size**3,
        reference="cuBLAS fp32",
        device=CUDA,
        precision=Precision.FP32,
        library="cuBLAS fp32",
        notes="TF32 off for cuBLAS (torch.backends.cuda.matmul.allow_tf32 = False).",
    )


def _reduction(impls: dict[str, ModuleType], numel: int, op: str) -> Workload:
    x = torch.randn(numel, device=CUDA)
    library: Callable[[torch.Tensor], torch.Tensor] = torch.sum if op == "sum" else torch.amax
    label = "torch.sum" if op == "sum" else "torch.amax"
    expected = library(x)
    tol = 1e-5 * float(x.abs().sum()) if op == "sum" else 0.0
    candidates = _each(impls, f"reduce_{op}", x)
    candidates[label] = lambda: library(x)
    return Workload(
        name=f"reduce_{op} of {numel:,} fp32",
        candidates=candidates,
        check=_close(expected, rtol=0.0, atol=tol),
        bytes_moved=4.0 * numel,
        reference=label,
        device=CUDA,
    )


def _bias_relu(impls: dict[str, ModuleType], rows: int, cols: int) -> Workload:
    x = torch.randn(rows, cols, device=CUDA)
    bias = torch.randn(cols, device=CUDA)
    candidates = _each(impls, "bias_relu", x, bias) | _each(
        impls, "bias_relu_triton", x, bias, suffix=" (Triton)"
    )
    candidates["torch relu(x + bias)"] = lambda: torch.relu(x + bias)
    return Workload(
        name=f"bias_relu fp32 {rows}x{cols}",
        candidates=candidates,
        check=_close(torch.relu(x + bias), rtol=0.0, atol=0.0),
        bytes_moved=2.0 * 4 * rows * cols,  # read x, write out (the bias stays in L2)
        reference="torch relu(x + bias)",
        device=CUDA,
        notes="torch runs two kernels (add, relu): the intermediate goes through memory.",
    )


def _softmax(impls: dict[str, ModuleType], rows: int, cols: int) -> Workload:
    x = torch.randn(rows, cols, device=CUDA) * 4
    candidates = _each(impls, "softmax", x) | _each(impls, "softmax_triton", x, suffix=" (Triton)")
    candidates["torch.softmax"] = lambda: torch.softmax(x, -1)
    return Workload(
        name=f"softmax fp32 {rows}x{cols}",
        candidates=candidates,
        # A sequential fp32 sum over 4096 terms (the baseline's one thread per row) is off by
        # up to ~n * eps / 2 = 1e-4 relative; that is rounding, not a wrong kernel.
        check=_close(torch.softmax(x, -1), rtol=2e-4, atol=1e-7),
        bytes_moved=2.0 * 4 * rows * cols,  # read once, write once: the floor
        reference="torch.softmax",
        device=CUDA,
    )


def _triton_matmul(impls: dict[str, ModuleType], size: int) -> Workload:
    a = torch.randn(size, size, device=CUDA, dtype=torch.bfloat16)
    b = torch.randn(size, size, device=CUDA, dtype=torch.bfloat16)
    candidates = _each(impls, "matmul_triton", a, b)
    candidates["cuBLAS bf16"] = lambda: torch.matmul(a, b)
    return Workload(
        name=f"Triton matmul bf16 {size}^3",
        candidates=candidates,
        check=_close(torch.matmul(a, b), rtol=2e-2, atol=2e-2 * size**0.5),
        flops=2.0 * size**3,
        reference="cuBLAS bf16",
        device=CUDA,
        precision=Precision.BF16,
        library="cuBLAS bf16",
        notes="The first call autotunes the block sizes (outside the timed samples).",
    )


def _index_math(impls: dict[str, ModuleType]) -> Workload:
    rng = random.Random(0)
    values = [rng.randrange(2**32) for _ in range(2000)]
    shape, strides = [4, 5, 6, 7], [1, 4, 20, 120]  # a permuted (column-major) view
    coords = [[rng.randrange(s) for s in shape] for _ in range(2000)]

    def calls(m: ModuleType) -> Callable[[], object]:
        def run() -> object:
            total: int = sum(m.reverse_bits(v) for v in values)
            return total + sum(m.flat_offset(c, shape, strides) for c in coords)

        return run

    expected = calls(impls["baseline"])()

    def check(name: str, value: object) -> None:
        assert value == expected, f"{name} returned {value}, expected {expected}"

    candidates = {name: calls(m) for name, m in impls.items()}
    return Workload(
        name="task 6: 2,000 reverse_bits + 2,000 flat_offset calls",
        candidates=candidates,
        check=check,
        device=torch.device("cpu"),
        notes="Per call, Python argument checks and the pybind11 crossing cost more than the "
        "arithmetic: C++ wins on reverse_bits's 32-step loop, not on a 4-term dot product.",
    )


def workloads(quick: bool = False) -> list[Workload]:
    impls = implementations(PACKAGE)
    if not torch.cuda.is_available():
        return [_index_math(impls)]
    big, mid = (1024, 1024) if quick else (4096, 8192)
    numel = 2**24 if quick else 2**28
    rows, cols = (4096, 1024) if quick else (32768, 4096)
    return [
        _sgemm(impls, big),
        *([] if quick else [_sgemm(impls, mid)]),
        _reduction(impls, numel, "sum"),
        _reduction(impls, numel, "max"),
        _bias_relu(impls, rows, cols),
        _softmax(impls, rows, cols),
        _triton_matmul(impls, 2048 if quick else 8192),
    ]
