"""The sources of the implementation under test compile (nvcc for the .cu files, g++ for task
6's C++), and a missing GPU gives a message that says what to do. No GPU needed."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import pytest
import torch
from challenge_11_cuda_kernels import extensions


@pytest.mark.skipif(extensions.nvcc_path() is None, reason="no nvcc: install the CUDA toolkit")
def test_cuda_sources_compile_with_nvcc(impl: ModuleType) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:  # raises with the compiler's errors
        list(pool.map(extensions.nvcc_compile, impl.KERNEL_SOURCES))


@pytest.mark.skipif(shutil.which("g++") is None, reason="no g++: install a C++ compiler")
def test_index_math_cpp_compiles(impl: ModuleType) -> None:
    source = getattr(impl, "INDEX_MATH_SOURCE", None)
    if source is None:
        pytest.skip("this implementation does task 6 in Python")
    extensions.cxx_syntax_check(source)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_cuda_kernels_without_gpu_say_what_to_do() -> None:
    with pytest.raises(extensions.BuildError, match="need a CUDA GPU"):
        extensions.cuda_ops("solution", extensions.kernel_sources("solution"))


def test_mutated_source_refuses_a_missing_pattern() -> None:
    source = extensions.kernel_sources("solution")[0]
    with pytest.raises(ValueError, match="does not occur"):
        extensions.mutated_source(source, "typo", "no such text", "x")
