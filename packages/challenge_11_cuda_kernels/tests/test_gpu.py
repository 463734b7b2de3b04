"""Tasks 1-5 on a GPU: every CUDA kernel and the Triton kernels against torch (float64 where it
matters), on awkward shapes (1, 31, 33, 1000x777x513, 2**20 + 3), misaligned views, -inf/NaN
rows, and repeated runs (a race makes results move). Needs no hypothesis, so it also runs on
bare GPU images: `pytest -p prep.pytest_plugin tests/test_gpu.py`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import ModuleType

import pytest
import torch

from prep.testing import assert_close

pytestmark = pytest.mark.gpu
CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def poisoned_allocator() -> Iterator[None]:
    """Fill blocks the caching allocator will hand out again with NaN, so an output element a
    kernel never writes shows up as NaN instead of a stale right answer from an earlier test."""
    for numel in (1 << 16, 1 << 20, 1 << 24):
        torch.full((numel,), float("nan"), device=CUDA)
    yield
    torch.cuda.synchronize()


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(CUDA)


def _matmul_reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.double() @ b.double()).float()


# ---------------------------------------------------------------------------------- task 1

MATMUL_SHAPES = [(1, 1, 1), (31, 33, 1), (33, 31, 17), (1, 513, 1), (128, 128, 128),
                 (1000, 777, 513), (257, 129, 1030)]  # fmt: skip


@pytest.mark.task(1)
@pytest.mark.parametrize(("m", "k", "n"), MATMUL_SHAPES)
def test_matmul_matches_float64(impl: ModuleType, m: int, k: int, n: int) -> None:
    a, b = _randn(m, k, seed=1), _randn(k, n, seed=2)
    # float32 products and sums, no TF32: error grows about like eps * k; TF32 (1e-3) fails.
    assert_close(impl.matmul(a, b), _matmul_reference(a, b), rtol=1e-5, atol=2e-6 * k, task=1,
                 what=f"matmul {m}x{k}x{n}")  # fmt: skip


@pytest.mark.task(1)
def test_matmul_is_repeatable(impl: ModuleType) -> None:
    # Many k-steps and blocks: a missing __syncthreads lets a warp overwrite a tile others
    # still read, and the result changes from run to run.
    a, b = _randn(1024, 2048, seed=3), _randn(2048, 1024, seed=4)
    first = impl.matmul(a, b)
    for _ in range(3):
        assert torch.equal(impl.matmul(a, b), first), "matmul changes between identical runs"
    assert_close(first, _matmul_reference(a, b), rtol=1e-5, atol=2e-6 * 2048, task=1)


@pytest.mark.task(1)
def test_matmul_misaligned_and_transposed_inputs(impl: ModuleType) -> None:
    storage = _randn(40 * 37 + 1, seed=5)
    a = storage[1:].view(40, 37)  # 4-byte aligned only: no 16-byte loads allowed
    b = _randn(41, 37, seed=6).T  # (37, 41), not contiguous
    assert_close(impl.matmul(a, b), _matmul_reference(a, b), rtol=1e-5, atol=1e-4, task=1)


@pytest.mark.task(1)
def test_matmul_empty_and_zero_depth(impl: ModuleType) -> None:
    assert impl.matmul(torch.ones(0, 3, device=CUDA), torch.ones(3, 2, device=CUDA)).shape == (0, 2)
    out = impl.matmul(torch.ones(2, 0, device=CUDA), torch.ones(0, 3, device=CUDA))
    assert_close(out, torch.zeros(2, 3), task=1, what="k = 0 product")


# ---------------------------------------------------------------------------------- task 2

REDUCE_SIZES = [1, 2, 3, 4, 5, 31, 33, 1000, 777 * 513, 2**20 + 3]


@pytest.mark.task(2)
@pytest.mark.parametrize("n", REDUCE_SIZES)
def test_reduce_sum_is_exact_on_integers(impl: ModuleType, n: int) -> None:
    # Small integers sum exactly in float32 (< 2**24): a dropped tail element shows.
    x = (torch.arange(n, device=CUDA) % 7).float()
    assert impl.reduce_sum(x).item() == float(3 * (n // 7) * 7 + sum(range(n % 7)))


@pytest.mark.task(2)
@pytest.mark.parametrize("n", REDUCE_SIZES)
def test_reduce_sum_matches_float64(impl: ModuleType, n: int) -> None:
    x = _randn(n, seed=n)
    expected = x.double().sum()
    bound = 1e-6 * float(x.abs().double().sum())  # float32 rounding, any summation order
    assert_close(impl.reduce_sum(x), expected, rtol=1e-5, atol=bound, task=2, what=f"sum of {n}")


@pytest.mark.task(2)
@pytest.mark.parametrize("n", REDUCE_SIZES)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_reduce_max_finds_the_peak_anywhere(impl: ModuleType, n: int, where: str) -> None:
    x = -_randn(n, seed=n).abs() - 1.0  # all <= -1
    index = {"first": 0, "middle": n // 2, "last": n - 1}[where]
    x[index] = 5.0
    assert impl.reduce_max(x).item() == 5.0


@pytest.mark.task(2)
def test_reductions_of_views_nan_and_empty(impl: ModuleType) -> None:
    storage = torch.ones(2**16 + 1, device=CUDA)
    assert impl.reduce_sum(storage[1:]).item() == 2**16  # misaligned start
    m = _randn(33, 65, seed=9)
    assert_close(impl.reduce_sum(m.T), m.double().sum(), rtol=1e-5, atol=1e-4, task=2)
    x = _randn(1000, seed=10)
    x[123] = float("nan")
    assert math.isnan(impl.reduce_max(x).item()), "torch.max propagates NaN"
    assert impl.reduce_sum(torch.ones(0, device=CUDA)).item() == 0.0


# ---------------------------------------------------------------------------------- task 3

BIAS_SHAPES = [(1, 1), (31, 33), (33, 31), (1000, 777), (64, 4096), (3, 4, 5)]


@pytest.mark.task(3)
@pytest.mark.parametrize("shape", BIAS_SHAPES)
@pytest.mark.parametrize("fn", ["bias_relu", "bias_relu_triton"])
def test_bias_relu_exact(impl: ModuleType, shape: tuple[int, ...], fn: str) -> None:
    x, bias = _randn(*shape, seed=11), _randn(shape[-1], seed=12)
    assert_close(getattr(impl, fn)(x, bias), torch.relu(x + bias), rtol=0, atol=0, task=3, what=fn)


@pytest.mark.task(3)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_bias_relu_triton_low_precision(impl: ModuleType, dtype: torch.dtype) -> None:
    x, bias = _randn(100, 300, seed=13).to(dtype), _randn(300, seed=14).to(dtype)
    expected = torch.relu(x.float() + bias.float()).to(dtype)
    assert_close(impl.bias_relu_triton(x, bias), expected, rtol=0, atol=0, task=3)


@pytest.mark.task(3)
def test_bias_relu_misaligned(impl: ModuleType) -> None:
    x = _randn(8 * 64 + 1, seed=15)[1:].view(8, 64)  # cols % 4 == 0 but 4-byte aligned
    bias = _randn(64, seed=16)
    assert_close(impl.bias_relu(x, bias), torch.relu(x + bias), rtol=0, atol=0, task=3)


# ---------------------------------------------------------------------------------- task 4

SOFTMAX_SHAPES = [(1, 1), (3, 1), (31, 33), (4, 1000), (2, 1024), (2, 1025), (3, 4096),
                  (2, 4099), (5, 9000), (2, 3, 17)]  # fmt: skip


@pytest.mark.task(4)
@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
@pytest.mark.parametrize("fn", ["softmax", "softmax_triton"])
def test_softmax_matches_float64(impl: ModuleType, shape: tuple[int, ...], fn: str) -> None:
    x = _randn(*shape, seed=17) * 8
    expected = torch.softmax(x.double(), -1).float()
    # float32 exp and division: a few ulp per element.
    assert_close(getattr(impl, fn)(x), expected, rtol=1e-5, atol=1e-7, task=4, what=fn)


@pytest.mark.task(4)
@pytest.mark.parametrize("cols", [7, 1000, 5000])
@pytest.mark.parametrize("fn", ["softmax", "softmax_triton"])
def test_softmax_large_logits_and_special_rows(impl: ModuleType, cols: int, fn: str) -> None:
    x = _randn(6, cols, seed=cols) * 3 + 500.0  # exp(x) alone overflows float32
    x[0] = float("-inf")  # all -inf: NaN row, as torch
    x[1, ::2] = float("-inf")
    x[2, cols // 2] = float("nan")
    x[3, 0] = float("inf")  # +inf: inf - inf, NaN row, as torch
    out = getattr(impl, fn)(x)
    assert_close(out, torch.softmax(x, -1), rtol=1e-5, atol=1e-7, task=4, what=f"{fn} special rows")


# ---------------------------------------------------------------------------------- task 5


@pytest.mark.task(5)
@pytest.mark.parametrize(
    ("m", "k", "n"), [(1, 1, 1), (33, 31, 17), (1000, 777, 513), (512, 1024, 256)]
)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_matmul_triton_matches_float32(
    impl: ModuleType, m: int, k: int, n: int, dtype: torch.dtype
) -> None:
    a, b = _randn(m, k, seed=18).to(dtype), _randn(k, n, seed=19).to(dtype)
    expected = a.double() @ b.double()
    # fp32 accumulation, one rounding to the output dtype (bf16 relative step 2**-8).
    tol = 1e-2 if dtype == torch.bfloat16 else 2e-3
    assert_close(impl.matmul_triton(a, b), expected, rtol=tol, atol=tol * math.sqrt(k), task=5)
