"""The storage format of an NF4-quantised tensor (QLoRA's 4-bit NormalFloat, bitsandbytes' layout).

Given, not a task: ``quantize_nf4`` fills it and ``dequantize_nf4`` reads it.

Layout, for a weight of ``numel`` elements split into ``numel / block_size`` blocks of
consecutive elements (row-major order):

- ``packed``: ``uint8 (numel / 2,)``, two 4-bit code indices per byte, element ``2i`` in the
  HIGH nibble and ``2i + 1`` in the low nibble (bitsandbytes' order).
- ``absmax``: one scale per block, ``max |w|`` over the block. Without double quantisation it
  is ``float32 (n_blocks,)``. With it, ``absmax`` holds ``int8`` codes of ``absmax - offset``
  in groups of ``DOUBLE_QUANT_BLOCK`` blocks, each group with its own ``float32`` scale in
  ``absmax_scale`` (symmetric: ``code * scale + offset`` gives back the block's absmax).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

DOUBLE_QUANT_BLOCK = 256  # block scales per second-level group (QLoRA's choice)
DOUBLE_QUANT_QMAX = 127  # the second level stores symmetric int8 codes in [-127, 127]


@dataclass(frozen=True)
class NF4Weight:
    """A tensor stored as NF4 codes with block-wise absmax scales (see the module docstring)."""

    packed: Tensor  # uint8 (numel / 2,): code indices, element 2i in the high nibble
    absmax: Tensor  # float32 (n_blocks,), or int8 (n_blocks,) with double quantisation
    absmax_scale: Tensor | None  # float32 (ceil(n_blocks / 256),) with double quantisation
    absmax_offset: float  # mean of the block absmaxes, subtracted before the second level
    shape: torch.Size  # the original tensor's shape
    block_size: int  # elements per first-level block
    dtype: torch.dtype  # the original tensor's dtype (what dequantisation returns by default)

    @property
    def double_quant(self) -> bool:
        return self.absmax_scale is not None

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of storage: codes, block scales and, with double quantisation, the
        second-level scales and the offset (one float32)."""
        total = self.packed.numel() * self.packed.element_size()
        total += self.absmax.numel() * self.absmax.element_size()
        if self.absmax_scale is not None:
            total += self.absmax_scale.numel() * self.absmax_scale.element_size() + 4
        return total

    @property
    def bits_per_parameter(self) -> float:
        return 8.0 * self.nbytes / self.numel
