"""Known wrong: a loss scaler that backs off on overflow but never grows the scale back. One
early spike (common in the first steps) leaves the scale low for the rest of the run, and small
gradients underflow again - the failure dynamic scaling exists to prevent."""

from __future__ import annotations

from typing import Any

from prep.impl import fresh_copy

_base = fresh_copy("challenge_14_training_from_scratch.solution")


def _update_backoff_only(self: object) -> None:
    scaler: Any = self
    if scaler._found_inf is None:
        raise RuntimeError("update() needs a step() (or unscale_()) since the last update()")
    if scaler._found_inf:
        scaler._scale *= scaler.backoff_factor
    scaler._found_inf = None  # the bug: no count of clean steps, no growth


_base.DynamicLossScaler.update = _update_backoff_only
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 5  # whose tests reject it: `prep verify` runs them first
