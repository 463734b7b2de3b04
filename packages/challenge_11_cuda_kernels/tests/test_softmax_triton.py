"""Task 4, Triton: row softmax against torch (on CPU through Triton's interpreter), with the
edge cases torch defines: -inf entries, all -inf rows, rows of one, NaN, huge logits."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

pytestmark = [pytest.mark.task(4), pytest.mark.filterwarnings("ignore::RuntimeWarning")]

# float32 exp and division: a few ulp per element against a float64 reference.
RTOL, ATOL = 1e-5, 1e-7


def _expected(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x.double(), dim=-1).float()


@settings(max_examples=8, deadline=None)
@given(rows=st.integers(1, 9), cols=st.integers(1, 300), scale=st.sampled_from([1.0, 30.0]))
def test_matches_torch_on_any_shape(
    impl: ModuleType, triton_device: torch.device, rows: int, cols: int, scale: float
) -> None:
    x = torch.randn(rows, cols, generator=torch.Generator().manual_seed(rows * 1000 + cols)) * scale
    out = impl.softmax_triton(x.to(triton_device))
    assert_close(out, _expected(x), rtol=RTOL, atol=ATOL, task=4, what="softmax_triton")


@pytest.mark.parametrize("cols", [1, 33, 1000, 9000])
def test_rows_short_and_long(
    impl: ModuleType, triton_device: torch.device, gen: torch.Generator, cols: int
) -> None:
    x = torch.randn(3, cols, generator=gen) * 5
    out = impl.softmax_triton(x.to(triton_device))
    assert_close(
        out, _expected(x), rtol=RTOL, atol=ATOL, task=4, what=f"softmax_triton, {cols} cols"
    )


@pytest.mark.parametrize("cols", [7, 9000])
def test_large_logits_do_not_overflow(
    impl: ModuleType, triton_device: torch.device, cols: int
) -> None:
    x = torch.linspace(80.0, 1000.0, 2 * cols).reshape(2, cols)  # exp(x) overflows float32
    out = impl.softmax_triton(x.to(triton_device))
    assert_close(out, _expected(x), rtol=RTOL, atol=ATOL, task=4, what="softmax of large logits")


@pytest.mark.parametrize("cols", [5, 9000])
def test_minus_infinity_and_nan_follow_torch(
    impl: ModuleType, triton_device: torch.device, cols: int
) -> None:
    x = torch.randn(4, cols, generator=torch.Generator().manual_seed(cols))
    x[0] = float("-inf")  # all -inf: NaN row
    x[1, ::2] = float("-inf")  # some -inf: those get 0
    x[2, -1] = float("nan")  # NaN: NaN row
    out = impl.softmax_triton(x.to(triton_device))
    assert_close(
        out, torch.softmax(x, dim=-1), rtol=RTOL, atol=ATOL, task=4, what="softmax with -inf/NaN"
    )


def test_rows_of_one_and_batch_dims(
    impl: ModuleType, triton_device: torch.device, gen: torch.Generator
) -> None:
    x = torch.randn(2, 3, 1, generator=gen)
    assert_close(
        impl.softmax_triton(x.to(triton_device)), torch.ones(2, 3, 1), task=4, what="rows of one"
    )
    y = torch.randn(2, 3, 17, generator=gen)
    assert_close(
        impl.softmax_triton(y.to(triton_device)), _expected(y), rtol=RTOL, atol=ATOL, task=4
    )


def test_half_precision(
    impl: ModuleType, triton_device: torch.device, gen: torch.Generator
) -> None:
    x = (torch.randn(5, 100, generator=gen) * 4).half()
    out = impl.softmax_triton(x.to(triton_device))
    assert out.dtype == torch.float16
    # Computed in float32, rounded once to fp16 (relative step 2**-11).
    assert_close(out, torch.softmax(x.float(), -1).half(), rtol=1e-3, atol=1e-5, task=4)


def test_rejects_bad_input(impl: ModuleType, triton_device: torch.device) -> None:
    with pytest.raises(ValueError, match="at least one dimension"):
        impl.softmax_triton(torch.tensor(1.0, device=triton_device))
    with pytest.raises(TypeError, match=r"x must be torch.float32 or torch.float16"):
        impl.softmax_triton(torch.ones(2, 2, dtype=torch.int32, device=triton_device))
