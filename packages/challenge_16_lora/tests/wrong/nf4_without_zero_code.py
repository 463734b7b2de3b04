"""Known wrong: the NF4 code book is 16 symmetric normal quantiles with no exact zero, so zeros
(padding, pruned weights) come back as +-0.08 * absmax and the codes differ from bitsandbytes'."""

from __future__ import annotations

import torch
from torch import Tensor

from prep.impl import patched


def _symmetric_codebook() -> Tensor:
    # 16 evenly spaced probabilities, symmetric about 0.5: no value falls on the median
    p = torch.linspace(1 - 0.9677083, 0.9677083, 16, dtype=torch.float64)
    values: Tensor = torch.special.ndtri(p)
    return (values / values.abs().max()).to(torch.float32)


IMPLEMENTATION = patched("challenge_16_lora.solution", nf4_codebook=_symmetric_codebook)


TASK = 4  # whose tests reject it: `prep verify` runs them first
