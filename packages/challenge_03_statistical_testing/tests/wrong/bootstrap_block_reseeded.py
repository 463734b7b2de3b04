"""Known wrong: each block of bootstrap resamples draws from a freshly seeded generator.

Chunking the draw to bound memory, but calling ``default_rng(seed)`` per block: every block
repeats the first block's indices, so the bootstrap distribution is a few resamples copied
over and over (and no longer scipy's). Small inputs fit in one block and hide it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from prep.impl import fresh_copy

_base = fresh_copy("challenge_03_statistical_testing.solution")


def _bootstrap_reseeded(
    data: Any,
    statistic: Callable[..., Any],
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    method: Any = "percentile",
    seed: int | None = None,
) -> Any:
    x, batched = _base.as_sample(data, "data")
    _base.check_resamples(n_resamples)
    _base.check_unit_interval(confidence, "confidence")
    _base.check_choice(method, "method", ("percentile", "bca"))
    rows, n = x.shape
    theta_hat = _base.apply_statistic(statistic, x)
    theta_b = np.empty((rows, n_resamples))
    for block in _base._index_blocks(n_resamples, n):
        rng = np.random.default_rng(seed)  # the bug: the stream restarts at every block
        indices = rng.integers(0, n, (block.stop - block.start, n))
        theta_b[:, block] = _base._gather_statistic(statistic, x, indices)
    alpha = (1 - confidence) / 2
    if method == "bca":
        q_low, q_high = _base._bca_levels(x, statistic, theta_hat, theta_b, alpha)
    else:
        q_low, q_high = np.full(rows, alpha), np.full(rows, 1 - alpha)
    ordered = np.sort(theta_b, axis=-1)
    return _base.BootstrapCI(
        low=_base.unbatch(_base._quantile_sorted(ordered, q_low), batched),
        high=_base.unbatch(_base._quantile_sorted(ordered, q_high), batched),
        estimate=_base.unbatch(theta_hat, batched),
        standard_error=_base.unbatch(theta_b.std(axis=-1, ddof=1), batched),
        confidence=float(confidence),
        method=method,
    )


vars(_base).update(bootstrap_ci=_bootstrap_reseeded)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 7  # whose tests reject it: `prep verify` runs them first
