"""Task 4: the paged cache equals the static one, its block accounting, and its errors."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional

from prep.testing import assert_close

pytestmark = pytest.mark.task(4)


def _fill(
    cache: Any, seq_id: int, layers: int, k: torch.Tensor, v: torch.Tensor, chunk: int
) -> None:
    """Append (Hkv, L, D) tokens to every layer in chunks (layer l gets k * (l + 1))."""
    for start in range(0, k.shape[1], chunk):
        for layer in range(layers):
            cache.append(
                seq_id,
                layer,
                k[:, start : start + chunk] * (layer + 1),
                v[:, start : start + chunk],
            )


def test_gather_returns_what_was_appended(impl: ModuleType) -> None:
    cache = impl.PagedKVCache(16, 4, 2, 2, 8)
    k, v = torch.randn(2, 11, 8), torch.randn(2, 11, 8)
    cache.allocate(7)
    _fill(cache, 7, 2, k, v, chunk=3)
    assert cache.seq_len(7) == 11
    assert len(cache.block_tables[7]) == 3, "11 tokens in blocks of 4 need 3 blocks"
    for layer in range(2):
        got_k, got_v = cache.gather(7, layer)
        assert_close(got_k, k * (layer + 1), task=4, what=f"gathered keys, layer {layer}")
        assert_close(got_v, v, task=4, what=f"gathered values, layer {layer}")


@settings(max_examples=10, deadline=None)
@given(lengths=st.lists(st.integers(1, 13), min_size=1, max_size=4), block=st.sampled_from([1, 2, 4, 5]),
       T=st.integers(1, 3), seed=st.integers(0, 999))  # fmt: skip
def test_paged_attention_equals_static_cache(
    impl: ModuleType, lengths: list[int], block: int, T: int, seed: int
) -> None:
    """Interleaved sequences of different lengths, queried in reverse order: every row equals
    causal attention over that sequence's own keys in a static KVCache."""
    g = torch.Generator().manual_seed(seed)
    H, Hkv, D = 4, 2, 8
    cache = impl.PagedKVCache(64, block, 1, Hkv, D)
    seqs = {}
    for i, n in enumerate(lengths):
        cache.allocate(10 + i)
        seqs[10 + i] = (
            torch.randn(Hkv, n + T, D, generator=g),
            torch.randn(Hkv, n + T, D, generator=g),
        )
    for step in range(max(lengths) + T):  # one token per sequence per step: blocks interleave
        for sid, (k, v) in seqs.items():
            if step < k.shape[1]:
                cache.append(sid, 0, k[:, step : step + 1], v[:, step : step + 1])
    order = sorted(seqs, reverse=True)
    q = torch.randn(len(order), H, T, D, generator=g)
    got = impl.paged_attention(q, cache, order, 0)
    for b, sid in enumerate(order):
        k, v = seqs[sid]
        static = impl.KVCache(1, 1, Hkv, k.shape[1], D)
        k_all, v_all = static.update(0, k[None], v[None])
        L = k.shape[1]
        causal = torch.ones(T, L, dtype=torch.bool).tril(diagonal=L - T)
        want = functional.scaled_dot_product_attention(
            q[b : b + 1], k_all, v_all, attn_mask=causal, enable_gqa=True
        )
        assert_close(got[b : b + 1], want, rtol=1e-5, atol=1e-6, task=4,
                     what=f"paged attention of sequence {sid} (row {b})")  # fmt: skip


def test_utilization_and_free(impl: ModuleType) -> None:
    cache = impl.PagedKVCache(8, 4, 1, 1, 2)
    assert cache.utilization() == 0.0
    for sid, n in ((0, 5), (1, 4)):
        cache.allocate(sid)
        cache.append(sid, 0, torch.randn(1, n, 2), torch.randn(1, n, 2))
    assert cache.num_free_blocks() == 5, "5 tokens take 2 blocks of 4, 4 tokens 1"
    assert cache.utilization() == pytest.approx(9 / 12)
    assert cache.reserved_bytes() == 2 * 3 * 4 * 1 * 2 * 4
    cache.free(0)
    assert cache.num_free_blocks() == 7
    assert cache.utilization() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="seq_id"):
        cache.gather(0, 0)


def test_freed_blocks_are_reused_correctly(impl: ModuleType) -> None:
    cache = impl.PagedKVCache(3, 2, 1, 1, 2)
    cache.allocate(0)
    cache.append(0, 0, torch.ones(1, 6, 2), torch.ones(1, 6, 2))
    cache.free(0)
    cache.allocate(1)
    k = torch.randn(1, 5, 2)
    cache.append(1, 0, k, k)
    assert_close(cache.gather(1, 0)[0], k, task=4, what="keys written into recycled blocks")


def test_out_of_blocks_is_an_error_and_writes_nothing(impl: ModuleType) -> None:
    cache = impl.PagedKVCache(2, 2, 1, 1, 2)
    cache.allocate(0)
    cache.append(0, 0, torch.randn(1, 3, 2), torch.randn(1, 3, 2))
    with pytest.raises(RuntimeError, match="out of blocks"):
        cache.append(0, 0, torch.randn(1, 2, 2), torch.randn(1, 2, 2))
    assert cache.seq_len(0) == 3
    assert cache.num_free_blocks() == 0


def test_rejects_bad_input(impl: ModuleType) -> None:
    cache = impl.PagedKVCache(4, 2, 2, 2, 4)
    cache.allocate(0)
    with pytest.raises(ValueError, match="already"):
        cache.allocate(0)
    with pytest.raises(ValueError, match="seq_id"):
        cache.append(5, 0, torch.randn(2, 1, 4), torch.randn(2, 1, 4))
    with pytest.raises(ValueError, match="k"):
        cache.append(0, 0, torch.randn(3, 1, 4), torch.randn(3, 1, 4))
    with pytest.raises(ValueError, match="layer"):
        cache.append(0, 2, torch.randn(2, 1, 4), torch.randn(2, 1, 4))
    with pytest.raises(ValueError, match="num_blocks"):
        impl.PagedKVCache(0, 2, 1, 1, 2)
    cache.append(0, 0, torch.randn(2, 1, 4), torch.randn(2, 1, 4))
    with pytest.raises(ValueError, match="seq_ids"):
        impl.paged_attention(torch.randn(2, 4, 1, 4), cache, [0], 0)
