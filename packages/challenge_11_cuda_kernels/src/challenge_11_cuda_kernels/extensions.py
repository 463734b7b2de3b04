"""Building the challenge's C++ and CUDA sources, and the device checks the kernels share.

Each implementation keeps its kernels in ``csrc/<impl>/``: four ``.cu`` files (one per kernel
family) linked with the shared ``csrc/bindings.cpp`` into one CUDA extension, and
``index_math.cpp`` built alone into a CPU extension. Builds go through
``torch.utils.cpp_extension.load`` (ninja, cached under ``TORCH_EXTENSIONS_DIR`` or
``~/.cache/torch_extensions``): the first call compiles, later ones reuse what is there and only
recompile files that changed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

import ninja
import torch

CSRC = Path(__file__).resolve().parent / "csrc"
KERNEL_FAMILIES = ("matmul", "reduce", "bias_relu", "softmax")
# sm_90 is Hopper (H100/H200); the JIT builds for the visible GPU's own arch.
CHECK_ARCH = "sm_90"


class BuildError(RuntimeError):
    """A kernel could not be built or run here: no GPU, no compiler, or a compile error."""


def kernel_sources(impl: str) -> tuple[Path, ...]:
    """The ``.cu`` files of one implementation (``starter``, ``baseline`` or ``solution``)."""
    return tuple(CSRC / impl / f"{family}.cu" for family in KERNEL_FAMILIES)


def index_math_source(impl: str) -> Path:
    """The C++ file of task 6 for one implementation."""
    return CSRC / impl / "index_math.cpp"


def nvcc_path() -> str | None:
    """The CUDA compiler torch would use (``$CUDA_HOME/bin/nvcc``, else the one on PATH)."""
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    if home and (Path(home) / "bin" / "nvcc").is_file():
        return str(Path(home) / "bin" / "nvcc")
    return shutil.which("nvcc")


def triton_interpreted() -> bool:
    """Whether Triton kernels run in the interpreter (on CPU tensors) rather than on a GPU."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def _ninja_on_path() -> None:
    """torch.utils.cpp_extension runs the ``ninja`` executable found on PATH; put the installed
    one there (a virtual environment's bin folder is not on PATH when its python runs directly)."""
    bin_dir = str(ninja.BIN_DIR)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, path]) if path else bin_dir


def _require_gpu_toolchain() -> None:
    if not torch.cuda.is_available():
        raise BuildError(
            "the CUDA kernels need a CUDA GPU and torch sees none: run them on a GPU machine; "
            "here the Triton kernels run under TRITON_INTERPRET=1 and the C++ of task 6 builds"
        )
    if nvcc_path() is None:
        raise BuildError(
            "no CUDA compiler found: install the CUDA toolkit and set CUDA_HOME (or put nvcc "
            "on PATH); `pip install nvidia-cuda-nvcc` also provides one"
        )


@functools.cache
def cuda_ops(label: str, sources: tuple[Path, ...]) -> ModuleType:
    """Build (or reuse) the CUDA extension of ``sources`` linked with ``csrc/bindings.cpp``.

    Args:
        label: names the build (``starter``, ``baseline``, ``solution``, a known-wrong version);
            one label per source set, so rebuilding after an edit recompiles only what changed.
        sources: the ``.cu`` files defining the launchers of ``csrc/launchers.h``.

    Raises:
        BuildError: no GPU, no CUDA compiler, or the sources do not compile.
    """
    _require_gpu_toolchain()
    _ninja_on_path()
    from torch.utils import cpp_extension

    try:
        module: ModuleType = cpp_extension.load(
            name=f"challenge_11_{label}_cuda",
            sources=[str(CSRC / "bindings.cpp"), *map(str, sources)],
            extra_include_paths=[str(CSRC)],
            extra_cflags=["-O3"],
            extra_cuda_cflags=["-O3", "-lineinfo"],
            verbose=os.environ.get("PREP_VERBOSE_BUILD") == "1",
        )
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"building the {label} CUDA kernels failed: {exc}") from exc
    return module


@functools.cache
def cpu_ops(source: Path) -> ModuleType:
    """Build (or reuse) the CPU extension of task 6 from one C++ file (pybind11 only), named
    after the implementation folder holding it."""
    label = source.parent.name
    _ninja_on_path()
    from torch.utils import cpp_extension

    try:
        module: ModuleType = cpp_extension.load(
            name=f"challenge_11_{label}_index_math",
            sources=[str(source)],
            extra_cflags=["-O2"],
            verbose=os.environ.get("PREP_VERBOSE_BUILD") == "1",
        )
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"building {source.name} ({label}) failed: {exc}") from exc
    return module


def _checked_dir() -> Path:
    root = os.environ.get("TORCH_EXTENSIONS_DIR") or Path.home() / ".cache" / "torch_extensions"
    folder = Path(root) / "challenge_11_checked"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _compile_once(command: list[str], source: Path) -> None:
    """Run a compile command unless this exact command already passed on this exact source
    (and header): CI runs the same check for several implementations in one session."""
    key = hashlib.sha256("\0".join(command).encode())
    key.update(source.read_bytes())
    key.update((CSRC / "launchers.h").read_bytes())
    stamp = _checked_dir() / f"{source.stem}-{key.hexdigest()[:16]}.ok"
    if stamp.is_file():
        return
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(f"{command[0]} rejects {source}:\n{proc.stdout}{proc.stderr}")
    stamp.touch()


def nvcc_compile(source: Path) -> None:
    """Compile one ``.cu`` file for ``CHECK_ARCH`` (no GPU needed); the object is discarded.

    Raises:
        BuildError: no nvcc, or the compiler's errors.
    """
    nvcc = nvcc_path()
    if nvcc is None:
        raise BuildError("no nvcc found (set CUDA_HOME or put nvcc on PATH)")
    flags = ["-c", "-std=c++17", f"-arch={CHECK_ARCH}", "-I", str(CSRC), "-o", os.devnull]
    _compile_once([nvcc, *flags, str(source)], source)


def cxx_syntax_check(source: Path) -> None:
    """Check a pybind11 C++ file with ``g++ -fsyntax-only`` against torch's bundled headers.

    Raises:
        BuildError: no g++, or the compiler's errors.
    """
    cxx = shutil.which("g++")
    if cxx is None:
        raise BuildError("no g++ found: install a C++ compiler")
    includes = ["-I", str(Path(torch.__file__).parent / "include")]
    includes += ["-I", sysconfig.get_paths()["include"]]
    flags = ["-fsyntax-only", "-std=c++17", "-Wall", "-Werror=return-type", *includes]
    _compile_once([cxx, *flags, "-DTORCH_EXTENSION_NAME=index_math", str(source)], source)


def mutated_source(original: Path, label: str, old: str, new: str) -> Path:
    """A copy of ``original`` with ``old`` replaced by ``new``, for a known-wrong version.

    Raises:
        ValueError: ``old`` does not occur in the file (the copy would not be wrong at all).
    """
    text = original.read_text(encoding="utf-8")
    if old not in text:
        raise ValueError(f"{old!r} does not occur in {original}")
    folder = Path(tempfile.gettempdir()) / "challenge_11_wrong" / label
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / original.name
    changed = text.replace(old, new)
    if not copy.is_file() or copy.read_text(encoding="utf-8") != changed:
        copy.write_text(changed, encoding="utf-8")  # unchanged files keep ninja's cache valid
    return copy
