"""Known wrong: quantize_nf4 packs element 2i into the LOW nibble (and dequantize_nf4 reads it
back the same way): self-consistent, but not the layout bitsandbytes' kernels read."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_16_lora.solution")
_quantize: Any = _base.quantize_nf4
_dequantize: Any = _base.dequantize_nf4


def _swap_nibbles(packed: Tensor) -> Tensor:
    return ((packed & 15) << 4) | (packed >> 4)


def _quantize_low_first(weight: Tensor, block_size: int = 64, *, double_quant: bool = True) -> Any:
    q = _quantize(weight, block_size, double_quant=double_quant)
    return _base.NF4Weight(
        _swap_nibbles(q.packed),
        *(
            getattr(q, f)
            for f in ("absmax", "absmax_scale", "absmax_offset", "shape", "block_size", "dtype")
        ),
    )


def _dequantize_low_first(q: Any, dtype: torch.dtype | None = None) -> Tensor:
    fixed = _base.NF4Weight(
        _swap_nibbles(q.packed),
        *(
            getattr(q, f)
            for f in ("absmax", "absmax_scale", "absmax_offset", "shape", "block_size", "dtype")
        ),
    )
    return _dequantize(fixed, dtype)  # type: ignore[no-any-return]


setattr(_base, "quantize_nf4", _quantize_low_first)  # noqa: B010
setattr(_base, "dequantize_nf4", _dequantize_low_first)  # noqa: B010

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 4  # whose tests reject it: `prep verify` runs them first
