"""Known wrong: Benjamini-Hochberg without the step-up (running minimum from the top).

p_(i) m / i alone is not monotone in p: a smaller p-value can get a larger adjusted value than
a bigger one, and fewer hypotheses are rejected than BH allows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from prep.impl import fresh_copy

_base = fresh_copy("challenge_03_statistical_testing.solution")
_adjust = _base.adjust_pvalues


def _adjust_without_step_up(pvalues: Any, method: Any = "holm") -> Any:
    if method != "bh":
        return _adjust(pvalues, method)
    p, batched = _base.as_pvalues(pvalues)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ordered = np.take_along_axis(p, order, axis=-1)
    adjusted = ordered * m / np.arange(1, m + 1)  # the bug: no running minimum from the top
    out = np.empty_like(p)
    np.put_along_axis(out, order, np.minimum(adjusted, 1.0), axis=-1)
    return out if batched else out[0]


vars(_base).update(adjust_pvalues=_adjust_without_step_up)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 9  # whose tests reject it: `prep verify` runs them first
