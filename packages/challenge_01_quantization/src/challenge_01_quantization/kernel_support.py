"""What the integer kernels need to know about the machine (given, not a task).

- `fbgemm_reduce_range()`: whether fbgemm's INT8 GEMM on this CPU needs 7-bit activations.
  fbgemm multiplies u8 x s8 pairs and sums each pair into int16 (``vpmaddubsw``) unless it
  picks its AVX-512 VNNI kernels (``vpdpbusd``, int32 sums) - and it picks those only for
  ``avx512_vnni`` (or AMX), not for the 256-bit ``avx_vnni`` of Alder/Raptor Lake. With full 8-bit
  activations a pair 255 * 127 + 255 * 127 overflows int16 and saturates silently, which is
  why torch.ao defaults to ``reduce_range`` (activation codes 0..127) on x86.
- `CompileOrEager`: a function compiled by ``torch.compile`` on first use, run eagerly where
  compilation is unavailable (no Triton, no C++ compiler) - and only there: an error of the
  function itself (a shape mismatch, out of memory) is raised, never swallowed.
"""

from __future__ import annotations

import functools
import platform
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "CompileOrEager",
    "cpu_flags",
    "fbgemm_reduce_range",
    "fbgemm_saturates",
    "is_compile_error",
]

# CPU flags with which fbgemm multiplies u8 x s8 into int32 (no int16 pair sums).
_INT32_DOT_FLAGS = frozenset({"avx512_vnni", "amx_int8"})


def fbgemm_saturates(flags: Iterable[str], machine: str) -> bool:
    """True when fbgemm's u8 x s8 kernels on a CPU with ``flags`` (as in /proc/cpuinfo) and
    architecture ``machine`` (``platform.machine()``) sum pairs in int16, so 8-bit activations
    can saturate. ARM (qnnpack/onednn) has no such pair instruction."""
    if machine.lower() not in ("x86_64", "amd64"):
        return False
    return not _INT32_DOT_FLAGS & set(flags)


@functools.cache
def cpu_flags() -> frozenset[str] | None:
    """The CPU flags of /proc/cpuinfo (read once per process), or None where it cannot be read."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="ignore")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return None


@functools.cache
def fbgemm_reduce_range() -> bool:
    """Whether fbgemm needs 7-bit activations on this machine (cached: one read per process).
    Where the flags cannot be read on x86, assume the worst and stay exact."""
    flags = cpu_flags()
    if flags is None:
        return platform.machine().lower() in ("x86_64", "amd64")
    return fbgemm_saturates(flags, platform.machine())


def is_compile_error(exc: BaseException) -> bool:
    """Whether torch.compile raised ``exc`` (missing Triton or C++ compiler, a backend failure,
    an unsupported construct: all ``TorchDynamoException``). Imports torch._dynamo only when
    asked, since importing it costs seconds."""
    from torch._dynamo.exc import TorchDynamoException

    return isinstance(exc, TorchDynamoException)


class CompileOrEager:
    """``fn`` compiled on first use (so its elementwise steps and reductions run as one generated
    kernel), or ``fn`` itself where compilation is unavailable.

    When compilation fails, ``fn`` runs eagerly on the same arguments: if that raises too, the
    error is the function's own (bad shapes, out of memory) and propagates, and compilation is
    tried again next call; if it succeeds, compilation is given up for good, with one warning.
    ``torch.OutOfMemoryError`` always propagates.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        compiler: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
    ) -> None:
        self.fn = fn
        self.compiler = compiler or functools.partial(torch.compile, dynamic=True)
        self.compiled: Callable[..., Any] | None = None
        self.eager_only = False

    def __call__(self, *args: Any) -> Any:
        if self.eager_only:
            return self.fn(*args)
        try:
            if self.compiled is None:
                self.compiled = self.compiler(self.fn)
            return self.compiled(*args)
        except torch.OutOfMemoryError:
            raise
        except Exception as exc:
            if not is_compile_error(exc):
                raise
            result = self.fn(*args)  # the function's own errors raise here
            self.eager_only = True
            warnings.warn(
                f"torch.compile failed ({type(exc).__name__}); {self.fn.__name__} runs eagerly",
                RuntimeWarning,
                stacklevel=2,
            )
            return result
