"""Known wrong: causal attention delegates to torch's ``is_causal=True`` even when T != S.
torch aligns that mask top-left (query i sees keys 0..i), so a decode step (T = 1) attends to
the first cached token only, and a chunked prefill ignores most of its cache."""

from __future__ import annotations

from torch.nn import functional

from prep.impl import fresh_copy

_base = fresh_copy("challenge_07_kv_cache_attention.solution")
_attention = _base.scaled_dot_product_attention


def _top_left(q, k, v, *, mask=None, is_causal=False, scale=None):  # type: ignore[no-untyped-def]
    if is_causal and mask is None:
        return functional.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
    return _attention(q, k, v, mask=mask, is_causal=is_causal, scale=scale)


vars(_base)["scaled_dot_product_attention"] = _top_left

IMPLEMENTATION = _base  # what CHALLENGE_IMPL=wrong:<name> tests

TASK = 1  # whose tests reject it: `prep verify` runs them first
