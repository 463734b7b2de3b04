"""Known wrong: 7-bit activations on every x86 CPU (torch.ao's default ``reduce_range=True``,
copied), also where fbgemm sums u8 x s8 products in int32 and 8 bits are safe: twice the
activation rounding error for nothing. On a CPU without VNNI it is the right call, so only a
test that knows which CPU it is on can tell."""

from __future__ import annotations

from prep.impl import fresh_copy

_base = fresh_copy("challenge_01_quantization.solution")


def _always_reduce_range() -> bool:
    return True  # the bug: the CPU is never asked


vars(_base)["fbgemm_reduce_range"] = _always_reduce_range

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 4  # whose tests reject it: `prep verify` runs them first
