"""Device choice and the datasheet peaks that benchmarks report against.

torch is imported only inside the functions that need it, so ``prep`` works in a challenge
that does not use torch (and such a challenge's session proves it never needed it).
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import torch


class DeviceLike(Protocol):
    """``torch.device`` or anything with its ``type`` ("cpu", "cuda", "mps")."""

    @property
    def type(self) -> str: ...


class Precision(enum.StrEnum):
    """The arithmetic a workload's FLOPs are done in; it picks the datasheet peak."""

    FP32 = "fp32"  # CUDA cores, no tensor cores
    TF32 = "tf32"  # fp32 inputs on tensor cores (torch.backends.cuda.matmul.allow_tf32)
    BF16 = "bf16"
    FP16 = "fp16"
    INT8 = "int8"  # TOPS, counted as TFLOP/s
    FP8 = "fp8"  # E4M3 / E5M2


@dataclass(frozen=True)
class Peak:
    """Datasheet peaks of one accelerator: dense (no 2:4 sparsity) tensor throughput."""

    name: str  # exactly as torch.cuda.get_device_name() reports it
    tflops: Mapping[Precision, float]  # dense TFLOP/s (TOPS for INT8) by precision
    bandwidth_gbs: float  # DRAM bandwidth, GB/s

    def tflops_for(self, precision: Precision) -> float | None:
        """The peak for ``precision``, or ``None`` where the part has no such unit."""
        return self.tflops.get(precision)

    @property
    def tflops_bf16(self) -> float:
        """Dense bf16 tensor-core TFLOP/s."""
        return self.tflops[Precision.BF16]


def _peak(name: str, fp32: float, tf32: float | None, fp16: float, fp8: float | None,
          int8: float, bandwidth_gbs: float, *, bf16: bool = True) -> Peak:  # fmt: skip
    table = {Precision.FP32: fp32, Precision.FP16: fp16, Precision.INT8: int8}
    optional = {Precision.TF32: tf32, Precision.FP8: fp8, Precision.BF16: fp16 if bf16 else None}
    table.update({k: v for k, v in optional.items() if v is not None})
    return Peak(name, table, bandwidth_gbs)


# NVIDIA datasheets, dense figures (the headline tensor numbers are "with sparsity": halved here).
# Keyed by the exact name the driver reports, so "H100 PCIe" never borrows the SXM part's peak.
_PEAKS: dict[str, Peak] = {
    p.name: p
    for p in (
        _peak("NVIDIA H100 80GB HBM3", 67.0, 494.7, 989.4, 1978.9, 1978.9, 3350.0),  # SXM5
        _peak("NVIDIA H100 PCIe", 51.0, 378.0, 756.5, 1513.0, 1513.0, 2000.0),
        _peak("NVIDIA H100 NVL", 60.0, 417.5, 835.5, 1670.5, 1670.5, 3900.0),
        _peak("NVIDIA H200", 67.0, 494.7, 989.4, 1978.9, 1978.9, 4800.0),  # SXM
        _peak("NVIDIA H200 NVL", 60.0, 417.5, 835.5, 1670.5, 1670.5, 4800.0),
        _peak("NVIDIA A100-SXM4-80GB", 19.5, 156.0, 312.0, None, 624.0, 2039.0),
        _peak("NVIDIA A100-SXM4-40GB", 19.5, 156.0, 312.0, None, 624.0, 1555.0),
        _peak("NVIDIA A100 80GB PCIe", 19.5, 156.0, 312.0, None, 624.0, 1935.0),
        _peak("NVIDIA A100-PCIE-40GB", 19.5, 156.0, 312.0, None, 624.0, 1555.0),
        _peak("NVIDIA L40S", 91.6, 183.0, 362.05, 733.0, 733.0, 864.0),
        _peak("NVIDIA L4", 30.3, 60.0, 121.0, 242.5, 242.5, 300.0),
        _peak("NVIDIA A10", 31.2, 62.5, 125.0, None, 250.0, 600.0),
        _peak("Tesla T4", 8.1, None, 65.0, None, 130.0, 320.0, bf16=False),
    )
}


def best() -> torch.device:
    """The fastest device present: CUDA, then Apple's MPS, then the CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def peak_by_name(name: str) -> Peak | None:
    """The datasheet peak of the GPU the driver calls ``name`` (exact match), else ``None``."""
    return _PEAKS.get(name.strip())


def peak(device: DeviceLike | None = None) -> Peak | None:
    """The datasheet peak of a CUDA device, or ``None`` on CPU/MPS or a GPU not in the table."""
    device = best() if device is None else device
    if device.type != "cuda":
        return None
    import torch

    return peak_by_name(torch.cuda.get_device_name(device))  # type: ignore[arg-type]


def describe(device: DeviceLike | None = None) -> str:
    """A one-line description of the device, for benchmark headers and table titles."""
    device = best() if device is None else device
    torch = sys.modules.get("torch")
    if torch is None:  # a workload that never imported torch runs on the host alone
        return f"{device.type} ({os.cpu_count()} logical cores, torch not loaded)"
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    threads = torch.get_num_threads()
    return f"{device.type} ({threads} torch threads, torch {torch.__version__})"
