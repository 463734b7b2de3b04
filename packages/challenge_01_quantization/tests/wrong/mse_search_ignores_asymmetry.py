"""Known wrong: the MSE observer searches symmetric ranges [-a, a] whatever ``symmetric`` says,
then returns the asymmetric qparams of the winner. On data centred on 0 that is harmless; on
one-sided data (post-GELU activations) half of the codes cover values that never occur."""

from __future__ import annotations

import torch
from torch import Tensor

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")
_Observer = _base.MSEObserver


def _qparams_symmetric_search(self: object) -> tuple[Tensor, Tensor]:
    hist = self._require()  # type: ignore[attr-defined]
    occupied = hist > 0
    centers, hist = self._centers()[occupied], hist[occupied]  # type: ignore[attr-defined]
    qmin, qmax = _base._int_range(self.bits)  # type: ignore[attr-defined]
    ratios = torch.arange(1, self.grid + 1, dtype=torch.float64) / self.grid  # type: ignore[attr-defined]
    amax = max(abs(self._min), abs(self._max)) * ratios  # type: ignore[attr-defined]  # the bug
    scale = torch.clamp(2 * amax / (qmax - qmin), min=_base._EPS)[:, None]
    zero = torch.clamp(qmin - torch.round(-amax[:, None] / scale), qmin, qmax)
    codes = torch.clamp(torch.round(centers / scale) + zero, qmin, qmax)
    error = ((codes - zero) * scale - centers).pow(2) @ hist
    best = int(torch.argmin(error))
    return self._qparams_for(-float(amax[best]), float(amax[best]))  # type: ignore[attr-defined,no-any-return]


_Observer.qparams = _qparams_symmetric_search

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 3  # whose tests reject it: `prep verify` runs them first
