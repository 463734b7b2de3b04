"""Known wrong: dropout zeroes activations in training but does not scale the kept ones by
1 / (1 - p), so the expected activation shrinks by (1 - p) between training and evaluation."""

from __future__ import annotations

from prep.impl import patched


def _no_rescaling(p: float) -> float:
    return 1.0


IMPLEMENTATION = patched("challenge_13_dl_primitives.solution", _keep_scale=_no_rescaling)


TASK = 5  # whose tests reject it: `prep verify` runs them first
