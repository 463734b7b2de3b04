"""Known wrong: conv padding all on one side - the input is copied to the top-left corner of
the padded buffer, so the 2p extra rows and columns all land below and to the right.

Shapes stay right (the buffer has the correct size); every output is shifted by p pixels.
"""

from __future__ import annotations

import torch

from prep.impl import patched


def _pad_bottom_right(x: torch.Tensor, ph: int, pw: int, value: float = 0.0) -> torch.Tensor:
    out = x.new_full((*x.shape[:-2], x.shape[-2] + 2 * ph, x.shape[-1] + 2 * pw), value)
    out[..., : x.shape[-2], : x.shape[-1]] = x  # forgot the (ph, pw) offset
    return out


IMPLEMENTATION = patched("challenge_13_dl_primitives.solution", _pad=_pad_bottom_right)


TASK = 1  # whose tests reject it: `prep verify` runs them first
