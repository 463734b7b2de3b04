"""Known wrong: pack_int4 puts element 2i in the HIGH nibble and unpack_int4 reads it back
from there. The two agree, so pack-unpack round trips pass; but the bytes are not the layout
the format promises (and that other readers, such as a fused kernel's converter, expect)."""

from __future__ import annotations

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")
_pack, _unpack = _base.pack_int4, _base.unpack_int4


def _pack_high_first(q: Tensor) -> Tensor:
    packed: Tensor = _pack(q)
    return ((packed & 0x0F) << 4) | (packed >> 4)  # the bug: 2i in the high nibble


def _unpack_high_first(packed: Tensor) -> Tensor:
    if not isinstance(packed, Tensor) or packed.dtype != torch.uint8:
        raise TypeError("packed must be a uint8 tensor")
    codes: Tensor = _unpack(((packed & 0x0F) << 4) | (packed >> 4))
    return codes


vars(_base)["pack_int4"] = _pack_high_first
vars(_base)["unpack_int4"] = _unpack_high_first

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 6  # whose tests reject it: `prep verify` runs them first
