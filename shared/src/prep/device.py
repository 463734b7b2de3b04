"""Device choice and the hardware peaks that benchmarks report against."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def best() -> torch.device:
    """The fastest device present: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass(frozen=True)
class Peak:
    """Datasheet peaks of one accelerator (dense, no sparsity)."""

    name: str
    tflops_bf16: float  # dense bf16/fp16 tensor-core TFLOP/s
    tflops_fp32: float  # non-tensor-core fp32 TFLOP/s
    bandwidth_gbs: float  # HBM bandwidth, GB/s


# Datasheet figures (SXM parts). Matched by substring of torch.cuda.get_device_name().
_PEAKS = (
    Peak("H200", 989.0, 67.0, 4800.0),
    Peak("H100", 989.0, 67.0, 3350.0),
    Peak("A100", 312.0, 19.5, 2039.0),
    Peak("L40S", 362.0, 91.6, 864.0),
    Peak("L4", 121.0, 30.3, 300.0),
    Peak("A10", 125.0, 31.2, 600.0),
    Peak("T4", 65.0, 8.1, 320.0),
)


def peak(device: torch.device | None = None) -> Peak | None:
    """The datasheet peak of a CUDA device, or ``None`` on CPU/MPS or an unknown GPU."""
    device = best() if device is None else device
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((p for p in _PEAKS if p.name in name), None)


def describe(device: torch.device | None = None) -> str:
    """A one-line description of the device, for benchmark headers."""
    device = best() if device is None else device
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    threads = torch.get_num_threads()
    return f"{device.type} ({threads} torch threads, torch {torch.__version__})"
