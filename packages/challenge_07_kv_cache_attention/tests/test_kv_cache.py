"""Task 3: the static cache (positions, masks, ring buffer, per-sequence reset) and its size."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_07_kv_cache_attention import hf_models
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional

from prep.testing import assert_close

pytestmark = pytest.mark.task(3)

GiB = 1024**3


def test_update_writes_in_place_and_advances(impl: ModuleType) -> None:
    cache = impl.KVCache(2, 3, 2, 10, 4)
    k1, v1 = torch.randn(2, 2, 4, 4), torch.randn(2, 2, 4, 4)
    for layer in range(3):
        k_all, v_all = cache.update(layer, k1 * (layer + 1), v1)
        assert tuple(k_all.shape) == (2, 2, 4, 4), "after 4 tokens attention sees 4 keys"
    assert cache.lengths.tolist() == [4, 4]
    k2, v2 = torch.randn(2, 2, 1, 4), torch.randn(2, 2, 1, 4)
    k_all, v_all = cache.update(0, k2, v2)  # a decode step at layer 0: position 4
    assert tuple(k_all.shape) == (2, 2, 5, 4), "a decode step must see 4 cached keys + itself"
    assert_close(k_all, torch.cat([k1, k2], dim=2), task=3, what="keys after prefill + 1 step")
    assert_close(v_all, torch.cat([v1, v2], dim=2), task=3, what="values after prefill + 1 step")
    k_all, _ = cache.update(1, k2, v2)  # layer 1 of the same step writes the same position
    assert_close(k_all, torch.cat([k1 * 2, k2], dim=2), task=3, what="layer 1's keys")
    assert cache.key_positions(2, 1).tolist() == [[0, 1, 2, 3, 4]] * 2


def test_key_positions_and_mask(impl: ModuleType) -> None:
    cache = impl.KVCache(1, 1, 1, 8, 2)
    cache.update(0, torch.randn(1, 1, 3, 2), torch.randn(1, 1, 3, 2))
    assert cache.key_positions(0, 2).tolist() == [[0, 1, 2, 3, 4]]
    mask = cache.attention_mask(0, 2)
    assert tuple(mask.shape) == (1, 1, 2, 5)
    assert mask[0, 0].tolist() == [[True, True, True, True, False], [True] * 5]


@settings(max_examples=12, deadline=None)
@given(
    window=st.integers(1, 6),
    chunks=st.lists(st.integers(1, 5), min_size=1, max_size=5),
    seed=st.integers(0, 999),
)
def test_sliding_window_equals_band_attention(
    impl: ModuleType, window: int, chunks: list[int], seed: int
) -> None:
    """Attention through the ring buffer equals full attention with a band mask (each query
    sees itself and the window - 1 positions before it)."""
    g = torch.Generator().manual_seed(seed)
    total = sum(chunks)
    q, k, v = (torch.randn(1, 2, total, 4, generator=g) for _ in range(3))
    pos = torch.arange(total)
    band = (pos[None, :] <= pos[:, None]) & (pos[None, :] > pos[:, None] - window)
    want = functional.scaled_dot_product_attention(q, k, v, attn_mask=band)
    cache = impl.KVCache(1, 1, 2, max(window, 6), 4, window=window)
    start, outs = 0, []
    for n in chunks:
        mask = cache.attention_mask(0, n)
        k_all, v_all = cache.update(0, k[:, :, start : start + n], v[:, :, start : start + n])
        outs.append(
            functional.scaled_dot_product_attention(
                q[:, :, start : start + n], k_all, v_all, attn_mask=mask
            )
        )
        start += n
    assert cache.memory_bytes() == 2 * 2 * window * 4 * 4, "the ring holds W slots, not max_seq_len"
    assert_close(torch.cat(outs, dim=2), want, rtol=1e-5, atol=1e-6, task=3,
                 what=f"sliding-window attention, W={window}, chunks {chunks}")  # fmt: skip


def test_reset_one_row_continuous_batching(impl: ModuleType) -> None:
    """Row 1 finishes and a new request takes its slot: it must see only its own tokens."""
    torch.manual_seed(3)
    attn = impl.MultiHeadAttention(16, 4, 2)
    cache = impl.KVCache(2, 1, 2, 16, 4)
    x = torch.randn(2, 6, 16)
    fresh = torch.randn(1, 3, 16)
    with torch.no_grad():
        attn(x, cache=cache)
        cache.reset(rows=[1])
        assert cache.lengths.tolist() == [6, 0]
        out = attn(torch.cat([x[:1, :3] * 0 + x[:1, 5:6], fresh], dim=0)[:, :1], cache=cache)
        alone = attn(fresh[:, :1])
        full = attn(torch.cat([x[:1], x[:1, 5:6]], dim=1))
    assert_close(out[1], alone[0], rtol=1e-5, atol=1e-5, task=3, what="reused row after reset")
    assert_close(out[0], full[0, -1:], rtol=1e-5, atol=1e-5, task=3, what="the row that kept going")
    assert cache.lengths.tolist() == [7, 1]


def test_reset_all(impl: ModuleType) -> None:
    cache = impl.KVCache(1, 2, 1, 4, 2)
    for layer in range(2):
        cache.update(layer, torch.randn(1, 1, 4, 2), torch.randn(1, 1, 4, 2))
    cache.reset()
    assert cache.lengths.tolist() == [0]
    k = torch.randn(1, 1, 4, 2)
    k_all, _ = cache.update(0, k, k)
    assert_close(k_all, k, task=3, what="keys after reset")


def test_overflow_is_an_error(impl: ModuleType) -> None:
    cache = impl.KVCache(1, 1, 1, 4, 2)
    cache.update(0, torch.randn(1, 1, 3, 2), torch.randn(1, 1, 3, 2))
    with pytest.raises(ValueError, match=r"overflow|max_seq_len"):
        cache.update(0, torch.randn(1, 1, 2, 2), torch.randn(1, 1, 2, 2))


def test_memory_bytes(impl: ModuleType) -> None:
    cache = impl.KVCache(3, 4, 2, 16, 8, dtype=torch.float16)
    assert cache.memory_bytes() == 2 * 4 * 3 * 2 * 16 * 8 * 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch": 0}, ValueError, "batch"),
        ({"max_seq_len": 2.5}, TypeError, "max_seq_len"),
        ({"dtype": torch.int64}, TypeError, "dtype"),
        ({"window": 9}, ValueError, "window"),
        ({"window": 0}, ValueError, "window"),
    ],
)
def test_rejects_bad_sizes(
    impl: ModuleType, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    args: dict[str, Any] = {
        "batch": 1,
        "n_layers": 1,
        "n_kv_heads": 1,
        "max_seq_len": 8,
        "head_dim": 2,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        impl.KVCache(**args)


def test_rejects_bad_updates(impl: ModuleType) -> None:
    cache = impl.KVCache(2, 2, 1, 8, 2)
    with pytest.raises(ValueError, match="k"):
        cache.update(0, torch.randn(2, 3, 1, 2), torch.randn(2, 3, 1, 2))
    with pytest.raises(ValueError, match="layer"):
        cache.update(2, torch.randn(2, 1, 1, 2), torch.randn(2, 1, 1, 2))
    with pytest.raises(ValueError, match="rows"):
        cache.reset(rows=[2])


# kv_cache_bytes -------------------------------------------------------------------------------


def test_bytes_of_published_llama_configs(impl: ModuleType) -> None:
    """Llama-2-7B: 32 layers x 32 kv heads x 128 x 2 (K, V) x 2 bytes = 0.5 MiB per token;
    Llama-2-70B shares 8 kv heads among 64 query heads: 80 x 8 x 128 x 2 x 2 = 320 KiB."""
    fp16 = torch.float16
    assert impl.kv_cache_bytes(hf_models.llama2_7b_config(), 1, 4096, fp16) == 2 * GiB
    assert impl.kv_cache_bytes(hf_models.llama2_7b_config(), 1, 32768, fp16) == 16 * GiB
    assert impl.kv_cache_bytes(hf_models.llama2_70b_config(), 1, 4096, fp16) == 1.25 * GiB
    assert impl.kv_cache_bytes(hf_models.llama2_70b_config(), 8, 32768, fp16) == 80 * GiB


def test_bytes_match_a_real_hugging_face_cache(impl: ModuleType, hf_tiny: Any) -> None:
    """The oracle: the bytes of the DynamicCache Hugging Face fills for a real forward."""
    ids = torch.randint(0, 255, (3, 11))
    with torch.no_grad():
        past = hf_tiny(ids, use_cache=True).past_key_values
    held = sum(
        t.numel() * t.element_size() for layer in past.layers for t in (layer.keys, layer.values)
    )
    assert impl.kv_cache_bytes(hf_tiny.config, 3, 11, torch.float32) == held
    assert impl.kv_cache_bytes(hf_tiny.config, 3, 11, torch.bfloat16) == held // 2


def test_bytes_rejects_bad_input(impl: ModuleType) -> None:
    config = hf_models.llama2_7b_config()
    with pytest.raises(ValueError, match="seq_len"):
        impl.kv_cache_bytes(config, 1, 0, torch.float16)
    with pytest.raises(TypeError, match="dtype"):
        impl.kv_cache_bytes(config, 1, 8, "float16")
    with pytest.raises(ValueError, match="config"):
        impl.kv_cache_bytes(object(), 1, 8, torch.float16)
