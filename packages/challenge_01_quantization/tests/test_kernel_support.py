"""The given kernel_support module (not a task): when fbgemm needs 7-bit activations, and a
compile wrapper that falls back to eager only when compilation itself is unavailable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from challenge_01_quantization.kernel_support import CompileOrEager, fbgemm_saturates
from torch._dynamo.exc import TorchRuntimeError

AVX2 = {"sse4_2", "avx", "avx2", "fma"}


@pytest.mark.parametrize(
    ("flags", "machine", "saturates"),
    [
        (AVX2, "x86_64", True),
        # Alder/Raptor Lake: 256-bit AVX-VNNI only; fbgemm still uses vpmaddubsw there.
        (AVX2 | {"avx_vnni"}, "x86_64", True),
        (AVX2 | {"avx512f", "avx512bw", "avx512_vnni"}, "x86_64", False),
        (AVX2 | {"avx512f", "amx_tile", "amx_int8"}, "AMD64", False),
        ({"asimd", "asimddp"}, "aarch64", False),
    ],
)
def test_fbgemm_saturates_only_without_int32_dot_products(
    flags: set[str], machine: str, saturates: bool
) -> None:
    assert fbgemm_saturates(flags, machine) is saturates


class _CompileUnavailable:
    """A stand-in for torch.compile on a machine without Triton: the compiled call raises."""

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def compiled(*args: Any) -> Any:
            raise TorchRuntimeError("backend 'inductor' failed: no working Triton")

        return compiled


class _CompilesFine:
    """A stand-in for a working torch.compile that counts the compiled calls; like dynamo, it
    reports an error of the traced function wrapped as a TorchRuntimeError."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def compiled(*args: Any) -> Any:
            self.calls += 1
            try:
                return fn(*args)
            except RuntimeError as exc:
                raise TorchRuntimeError(str(exc)) from exc

        return compiled


def _matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a @ b


def test_falls_back_to_eager_once_when_compilation_is_unavailable() -> None:
    fused = CompileOrEager(_matmul, compiler=_CompileUnavailable())
    a, b = torch.ones(2, 3), torch.ones(3, 4)
    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        assert torch.equal(fused(a, b), a @ b)
    assert torch.equal(fused(a, b), a @ b)  # no second warning: eager for good


def test_an_error_of_the_function_itself_is_raised_and_compilation_kept() -> None:
    compiler = _CompilesFine()
    fused = CompileOrEager(_matmul, compiler=compiler)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        fused(torch.ones(2, 3), torch.ones(4, 5))  # a caller's shape error, not a compile error
    fused(torch.ones(2, 3), torch.ones(3, 4))
    assert compiler.calls == 2, "a shape error switched the wrapper to eager for good"


def test_out_of_memory_is_never_swallowed() -> None:
    def oom(*args: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory")

    fused = CompileOrEager(_matmul, compiler=lambda fn: oom)
    with pytest.raises(torch.OutOfMemoryError):
        fused(torch.ones(2, 3), torch.ones(3, 4))
