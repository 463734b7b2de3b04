"""Task 2: MHA against torch.nn.MultiheadAttention; GQA and MQA against torch's enable_gqa."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional

from prep.testing import assert_close

pytestmark = pytest.mark.task(2)


def _reference(attn: Any, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    """Causal GQA through torch's fused attention (enable_gqa: query head h reads kv head
    h // (H / Hkv)), with the module's own projection weights."""
    B, T, _ = x.shape
    H, Hkv, D = attn.n_heads, attn.n_kv_heads, attn.head_dim
    q = attn.q_proj(x).view(B, T, H, D).transpose(1, 2)
    k = attn.k_proj(x).view(B, T, Hkv, D).transpose(1, 2)
    v = attn.v_proj(x).view(B, T, Hkv, D).transpose(1, 2)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    mask = causal if keep is None else causal & keep
    out = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)
    return attn.out_proj(out.transpose(1, 2).reshape(B, T, H * D))  # type: ignore[no-any-return]


def test_mha_matches_torch_multihead_attention(impl: ModuleType) -> None:
    torch.manual_seed(0)
    d, H, T = 32, 4, 7
    ours = impl.MultiHeadAttention(d, H)
    theirs = nn.MultiheadAttention(d, H, batch_first=True)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(
            torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight])
        )
        theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)
    x = torch.randn(2, T, d)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)  # torch's convention: True = blocked
    want, _ = theirs(x, x, x, attn_mask=future, need_weights=False)
    with torch.no_grad():
        assert_close(
            ours(x), want, rtol=1e-5, atol=1e-5, task=2, what="MHA vs nn.MultiheadAttention"
        )


@settings(max_examples=15, deadline=None)
@given(
    kv=st.sampled_from([(8, 8), (8, 4), (8, 2), (8, 1), (6, 3)]),
    T=st.integers(1, 8),
    seed=st.integers(0, 999),
)
def test_gqa_and_mqa_match_torch(impl: ModuleType, kv: tuple[int, int], T: int, seed: int) -> None:
    H, Hkv = kv
    torch.manual_seed(seed)
    attn = impl.MultiHeadAttention(H * 4, H, Hkv)
    x = torch.randn(2, T, H * 4)
    with torch.no_grad():
        assert_close(attn(x), _reference(attn, x), rtol=1e-5, atol=1e-5, task=2,
                     what=f"attention with {H} query heads, {Hkv} kv heads")  # fmt: skip


def test_padding_mask(impl: ModuleType) -> None:
    torch.manual_seed(1)
    attn = impl.MultiHeadAttention(16, 4, 2)
    x = torch.randn(2, 5, 16)
    keep = torch.tensor([[True] * 5, [False, False, True, True, True]])[:, None, None, :]
    with torch.no_grad():
        got, want = attn(x, mask=keep), _reference(attn, x, keep)
        bias = attn.out_proj.bias.expand(2, 16)
    assert_close(got[0], want[0], rtol=1e-5, atol=1e-5, task=2, what="unpadded sequence")
    assert_close(got[1, 2:], want[1, 2:], rtol=1e-5, atol=1e-5, task=2, what="padded sequence")
    # Queries 0-1 of the padded sequence see no key: attention gives 0, out_proj its bias.
    assert_close(got[1, :2], bias, rtol=1e-6, task=2, what="queries that see no key")


def test_projection_shapes(impl: ModuleType) -> None:
    attn = impl.MultiHeadAttention(64, 8, 2, bias=False)
    assert (attn.n_heads, attn.n_kv_heads, attn.head_dim) == (8, 2, 8)
    assert tuple(attn.k_proj.weight.shape) == (16, 64), "k_proj maps d_model to Hkv * head_dim"
    assert attn.q_proj.bias is None, "bias=False means no bias"


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((30, 4), ValueError, "n_heads"),
        ((32, 8, 3), ValueError, "n_kv_heads"),
        ((32, 4, 8), ValueError, "n_kv_heads"),
        ((32, 0), ValueError, "n_heads"),
        ((32.0, 4), TypeError, "d_model"),
    ],
)
def test_rejects_bad_head_counts(
    impl: ModuleType, args: tuple[object, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        impl.MultiHeadAttention(*args)


def test_rejects_bad_input(impl: ModuleType) -> None:
    attn = impl.MultiHeadAttention(16, 4)
    with pytest.raises(ValueError, match="x"):
        attn(torch.randn(2, 5, 8))


@pytest.mark.task(3)
@pytest.mark.parametrize("n_kv_heads", [4, 2, 1])
def test_cached_steps_equal_full_attention(impl: ModuleType, n_kv_heads: int) -> None:
    """Prefill 5 tokens, then decode one at a time: each output equals full causal attention."""
    torch.manual_seed(2)
    attn = impl.MultiHeadAttention(16, 4, n_kv_heads)
    x = torch.randn(2, 9, 16)
    cache = impl.KVCache(2, 1, n_kv_heads, 16, 4)
    with torch.no_grad():
        full = attn(x)
        parts = [attn(x[:, :5], cache=cache)]
        parts += [attn(x[:, t : t + 1], cache=cache) for t in range(5, 9)]
    assert_close(torch.cat(parts, dim=1), full, rtol=1e-5, atol=1e-5, task=3,
                 what="cached prefill + decode vs full attention")  # fmt: skip
