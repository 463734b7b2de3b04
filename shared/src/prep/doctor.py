"""``prep doctor``: what this machine can run, and which challenges' tests will skip here.

Checks Python, uv, torch (and its CUDA build), the GPUs, triton, a C++ compiler, ``nvcc`` and
``ninja`` (CUDA extensions), and torch.distributed's gloo and NCCL backends. torch is imported
here only, lazily: ``prep`` itself does not need it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from prep import catalog

MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class Check:
    """One fact about the machine. ``ok`` is ``None`` for facts that are neither good nor bad."""

    name: str
    value: str
    ok: bool | None = True
    note: str = ""


@dataclass(frozen=True)
class Machine:
    """What ``checks`` found, in the form the skip report needs."""

    checks: list[Check] = field(default_factory=list)
    gpus: int = 0
    compiler: bool = False
    nvcc: bool = False
    nccl: bool = False


def _version(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[-1] if lines and proc.returncode == 0 else None


def inspect_machine() -> Machine:
    """Run every check (imports torch and triton if installed)."""
    checks = [
        Check(
            "Python",
            sys.version.split()[0],
            sys.version_info >= MIN_PYTHON,
            "" if sys.version_info >= MIN_PYTHON else "infer-prep needs Python >= 3.11",
        )
    ]
    uv = _version(["uv", "--version"])
    checks.append(Check("uv", uv or "not found", uv is not None, "" if uv else "pip install uv"))
    gpus, nccl = 0, False
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        checks.append(Check("torch", "not installed", False, "uv sync installs it"))
    else:
        cuda = torch.version.cuda
        checks.append(
            Check(
                "torch",
                f"{torch.__version__} ({f'CUDA {cuda} build' if cuda else 'CPU-only build'})",
            )
        )
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(gpus))
        checks.append(
            Check(
                "GPUs",
                f"{gpus}" + (f": {names}" if names else ""),
                None,
                "" if gpus else "GPU tests will skip",
            )
        )
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        if mps:
            checks.append(Check("Apple MPS", "available", None))
        dist = torch.distributed
        gloo = bool(dist.is_available() and dist.is_gloo_available())
        nccl = bool(dist.is_available() and dist.is_nccl_available())
        checks.append(Check("gloo (CPU collectives)", "yes" if gloo else "no", gloo))
        checks.append(Check("NCCL (GPU collectives)", "yes" if nccl else "no", None))
    try:
        triton = importlib.metadata.version("triton")
    except importlib.metadata.PackageNotFoundError:
        triton = None
    checks.append(Check("triton", triton or "not installed", None))
    compiler = next((c for c in ("c++", "g++", "clang++") if shutil.which(c)), None)
    checks.append(
        Check(
            "C++ compiler",
            compiler or "not found",
            compiler is not None,
            "" if compiler else "apt install g++",
        )
    )
    nvcc = shutil.which("nvcc")
    checks.append(
        Check("nvcc", nvcc or "not found", None, "" if nvcc else "CUDA extensions cannot build")
    )
    ninja = shutil.which("ninja")
    checks.append(Check("ninja", ninja or "not found", None))
    return Machine(checks, gpus, compiler is not None, nvcc is not None, nccl)


def _tests_text(challenge: catalog.Challenge) -> str:
    tests = challenge.root / "tests"
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(tests.rglob("test_*.py")))


def skips(challenges: list[catalog.Challenge], machine: Machine) -> list[str]:
    """One line per challenge whose tests will partly skip (or lose meaning) here."""
    lines = []
    for challenge in challenges:
        text = _tests_text(challenge) if (challenge.root / "tests").is_dir() else ""
        why = []
        if "mark.gpu" in text and machine.gpus < 1:
            why.append("its GPU tests skip (no CUDA GPU)")
        if "mark.multigpu" in text and machine.gpus < 2:
            why.append(
                f"its multi-GPU tests skip ({machine.gpus} GPU); `uv run nox -s torchrun-challenge_{challenge.nn}` runs them on CPU ranks"
            )
        if challenge.gpu and machine.gpus < 1 and not why:
            why.append("it is about GPUs: its CPU tests run, its timings mean little here")
        if "cpp_extension" in text and not (
            machine.compiler and (machine.nvcc or machine.gpus == 0)
        ):
            why.append("its extension tests need a C++ compiler (and nvcc for CUDA)")
        if why:
            lines.append(f"challenge {challenge.nn} ({challenge.title}): {'; '.join(why)}")
    return lines
