"""Known wrong: kv heads are repeated with ``repeat`` (tiling: 0, 1, 0, 1) instead of
``repeat_interleave`` (0, 0, 1, 1), so query head h reads kv head h % Hkv instead of
h // (H / Hkv). With Hkv = 1 (MQA) or Hkv = H (MHA) both agree: only true GQA exposes it."""

from __future__ import annotations

from torch import Tensor

from prep.impl import patched


def _tiled(x: Tensor, groups: int) -> Tensor:
    return x.repeat(1, groups, 1, 1)


IMPLEMENTATION = patched("challenge_07_kv_cache_attention.solution", _repeat_kv=_tiled)

TASK = 2  # whose tests reject it: `prep verify` runs them first
