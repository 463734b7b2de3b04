"""What `quantize_model` reports (shared by starter, baseline and solution; not a TODO)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerReport:
    """One `nn.Linear` of the model, after quantization (or left in float)."""

    name: str  # the module's name in model.named_modules()
    quantized: bool  # False: skipped by the config or kept float by the sensitivity analysis
    smoothing: str  # "layernorm" (1/s folded into the LayerNorm before it), "runtime", or "none"
    bytes_before: int  # float weight + bias bytes
    bytes_after: int  # bytes the layer stores after quantization (== bytes_before if float)
    rel_error: float  # ||y_q - y|| / ||y|| of this layer's output on calibration inputs
    sensitivity: (
        float | None
    )  # model-output rel. error with only this layer quantized (None: not run)


@dataclass(frozen=True)
class QuantReport:
    """Per-layer results of `quantize_model`, with size totals over the Linear layers."""

    layers: tuple[LayerReport, ...]

    @property
    def quantized(self) -> tuple[str, ...]:
        """Names of the layers now in INT8."""
        return tuple(layer.name for layer in self.layers if layer.quantized)

    @property
    def kept_float(self) -> tuple[str, ...]:
        """Names of the Linear layers left in float."""
        return tuple(layer.name for layer in self.layers if not layer.quantized)

    @property
    def bytes_before(self) -> int:
        """Float bytes of every Linear layer."""
        return sum(layer.bytes_before for layer in self.layers)

    @property
    def bytes_after(self) -> int:
        """Bytes of every Linear layer after quantization (float ones counted as they are)."""
        return sum(layer.bytes_after for layer in self.layers)

    @property
    def quantized_size_ratio(self) -> float:
        """Bytes after / bytes before, over the quantized layers only (the target is <= 0.3x)."""
        before = sum(layer.bytes_before for layer in self.layers if layer.quantized)
        after = sum(layer.bytes_after for layer in self.layers if layer.quantized)
        return after / before if before else 1.0

    def worst(self, k: int = 5) -> tuple[LayerReport, ...]:
        """The k layers with the largest relative output error."""
        return tuple(sorted(self.layers, key=lambda layer: layer.rel_error, reverse=True)[:k])
