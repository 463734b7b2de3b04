"""Task 5, Triton matmul: against torch in float32 (fp16 on CPU, where Triton's interpreter
runs; bf16 as well on a GPU, in test_gpu.py), awkward shapes and bad operands."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch

from prep.testing import assert_close

pytestmark = pytest.mark.task(5)


@pytest.mark.parametrize(("m", "k", "n"), [(1, 1, 1), (33, 70, 31), (64, 40, 96), (5, 129, 3)])
def test_matches_float32_product(
    impl: ModuleType, triton_device: torch.device, gen: torch.Generator, m: int, k: int, n: int
) -> None:
    a = torch.randn(m, k, generator=gen).half()
    b = torch.randn(k, n, generator=gen).half()
    out = impl.matmul_triton(a.to(triton_device), b.to(triton_device))
    assert out.dtype == torch.float16
    expected = a.double() @ b.double()
    # fp32 accumulation, one rounding to fp16 (relative step 2**-11): an fp16 accumulator or a
    # dropped k tail is far outside this.
    assert_close(out, expected, rtol=2e-3, atol=2e-3, task=5, what=f"matmul_triton {m}x{k}x{n}")


def test_empty_and_zero_depth(impl: ModuleType, triton_device: torch.device) -> None:
    a = torch.ones(3, 0, dtype=torch.float16, device=triton_device)
    b = torch.ones(0, 4, dtype=torch.float16, device=triton_device)
    assert_close(impl.matmul_triton(a, b), torch.zeros(3, 4), task=5, what="k = 0 product")
    assert impl.matmul_triton(b.T, b).shape == (4, 4)


def test_rejects_bad_operands(impl: ModuleType, triton_device: torch.device) -> None:
    a = torch.ones(2, 3, dtype=torch.float16, device=triton_device)
    with pytest.raises(TypeError, match=r"a must be torch.bfloat16 or torch.float16"):
        impl.matmul_triton(a.float(), a.float().T)
    with pytest.raises(TypeError, match="a and b must have one dtype"):
        impl.matmul_triton(a, a.T.bfloat16())
    with pytest.raises(ValueError, match="disagree on k"):
        impl.matmul_triton(a, a)
