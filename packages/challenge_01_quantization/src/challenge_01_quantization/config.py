"""What `quantize_model` is asked to do (shared by starter, baseline and solution; not a TODO)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from torch import Tensor


class ActivationMode(enum.Enum):
    """How a quantized layer picks the scale and zero point of its input activations."""

    DYNAMIC = (
        "dynamic"  # from each batch's own min/max at run time: no calibration, a reduction per call
    )
    STATIC = (
        "static"  # fixed ahead of time from calibration data by an observer: no reduction per call
    )


class ObserverKind(enum.Enum):
    """Which calibration observer chooses the static activation range (README task 3)."""

    MINMAX = "minmax"  # the whole observed range: no clipping, outliers cost resolution
    PERCENTILE = "percentile"  # clip at a percentile of the observed values
    MSE = "mse"  # the clipping range that minimises the quantization error


class ActivationObserver(Protocol):
    """What `QuantizedLinear.from_float` needs from a calibrated observer (any of task 3's)."""

    bits: int  # integer width of the range the observer's qparams describe
    symmetric: bool  # zero point fixed at 0 when True

    def update(self, x: Tensor) -> None: ...

    def qparams(self) -> tuple[Tensor, Tensor]: ...


@dataclass(frozen=True)
class QuantConfig:
    """Post-training quantization recipe for `quantize_model` (README task 5)."""

    activations: ActivationMode = ActivationMode.DYNAMIC  # dynamic or static (calibrated) inputs
    observer: ObserverKind = ObserverKind.MINMAX  # static mode: how the input range is chosen
    percentile: float = 99.99  # ObserverKind.PERCENTILE: the percentile of |x| kept, in (0, 100]
    smooth_alpha: float | None = 0.5  # SmoothQuant migration strength in [0, 1]; None: no smoothing
    skip: tuple[str, ...] = ()  # fnmatch patterns of Linear names (named_modules) left in float
    keep_float: int = 0  # after the sensitivity analysis, the k most sensitive layers stay float

    def __post_init__(self) -> None:
        if not isinstance(self.activations, ActivationMode):
            raise TypeError(f"activations must be an ActivationMode, got {self.activations!r}")
        if not isinstance(self.observer, ObserverKind):
            raise TypeError(f"observer must be an ObserverKind, got {self.observer!r}")
        if not 0.0 < self.percentile <= 100.0:
            raise ValueError(f"percentile must be in (0, 100], got {self.percentile}")
        if self.smooth_alpha is not None and not 0.0 <= self.smooth_alpha <= 1.0:
            raise ValueError(f"smooth_alpha must be in [0, 1] or None, got {self.smooth_alpha}")
        if not isinstance(self.skip, tuple):
            raise TypeError(
                f"skip must be a tuple of name patterns, got {type(self.skip).__name__}"
            )
        if isinstance(self.keep_float, bool) or not isinstance(self.keep_float, int):
            raise TypeError(f"keep_float must be an int, got {type(self.keep_float).__name__}")
        if self.keep_float < 0:
            raise ValueError(f"keep_float must be >= 0, got {self.keep_float}")
