"""Known wrong: the loss on logits computed as ``binary_cross_entropy(sigmoid(z), t)``. Exact
algebra, but in float64 sigmoid(z) rounds to 1.0 for z > ~37: a confidently wrong logit then
gets the clamped loss 100 and a gradient of 1e12 / n instead of (sigmoid(z) - t) / n."""

from __future__ import annotations

from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_12_mini_autograd.solution")


def _through_probabilities(logits: Any, targets: Any) -> Any:
    return _base.binary_cross_entropy(logits.sigmoid(), targets)


vars(_base).update(binary_cross_entropy_with_logits=_through_probabilities)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 5  # whose tests reject it: `prep verify` runs them first
