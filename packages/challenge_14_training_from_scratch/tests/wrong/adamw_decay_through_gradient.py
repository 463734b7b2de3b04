"""Known wrong: AdamW that adds ``weight_decay * p`` to the gradient (Adam's L2 penalty) instead
of shrinking the weights directly. The decay term then passes through ``1 / sqrt(v)``: weights
with large gradients are barely regularised - the very thing AdamW was introduced to fix."""

from __future__ import annotations

from prep.impl import fresh_copy

_base = fresh_copy("challenge_14_training_from_scratch.solution")
_base.AdamW.decoupled = False  # the bug: AdamW behaves as Adam(weight_decay=...)
IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests


TASK = 2  # whose tests reject it: `prep verify` runs them first
