"""Task 1: scaled dot-product attention against torch's, every mask kind, and edge cases."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional

from prep.testing import assert_close

pytestmark = pytest.mark.task(1)


def _qkv(
    B: int, H: int, T: int, S: int, D: int, seed: int, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(B, H, n, D, generator=g, dtype=dtype) for n in (T, S, S))


def bottom_right(T: int, S: int) -> torch.Tensor:
    """The causal mask of a cache step: query i is position S - T + i."""
    return torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)


@settings(max_examples=25, deadline=None)
@given(
    B=st.integers(1, 3), H=st.integers(1, 4), T=st.integers(1, 9), extra=st.integers(0, 9),
    D=st.sampled_from([4, 8, 16]), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_matches_torch_unmasked_and_causal(
    impl: ModuleType, B: int, H: int, T: int, extra: int, D: int, seed: int
) -> None:
    S = T + extra  # a cache step: T new queries after `extra` cached tokens
    q, k, v = _qkv(B, H, T, S, D, seed)
    # float32 with different summation orders: a few ulps of the O(1) outputs.
    assert_close(impl.scaled_dot_product_attention(q, k, v), functional.scaled_dot_product_attention(q, k, v),
                 rtol=1e-5, atol=1e-6, task=1, what="attention without a mask")  # fmt: skip
    want = functional.scaled_dot_product_attention(q, k, v, attn_mask=bottom_right(T, S))
    got = impl.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert_close(got, want, rtol=1e-5, atol=1e-6, task=1, what=f"causal attention, T={T}, S={S}")


def test_causal_is_bottom_right_for_decode(impl: ModuleType) -> None:
    """A decode step (T = 1) is the newest position: it sees every cached key. torch's own
    is_causal would let it see key 0 only (top-left alignment)."""
    q, k, v = _qkv(2, 3, 1, 7, 8, seed=1)
    got = impl.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert_close(got, functional.scaled_dot_product_attention(q, k, v), rtol=1e-5, atol=1e-6, task=1,
                 what="decode step (T=1) with is_causal")  # fmt: skip


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16), T=st.integers(1, 6), S=st.integers(1, 8), heads_mask=st.booleans()
)
def test_bool_and_additive_masks_match_torch(
    impl: ModuleType, seed: int, T: int, S: int, heads_mask: bool
) -> None:
    B, H, D = 2, 3, 8
    q, k, v = _qkv(B, H, T, S, D, seed)
    g = torch.Generator().manual_seed(seed + 1)
    shape = (B, H if heads_mask else 1, T, S)
    keep = torch.rand(shape, generator=g) > 0.3
    keep[..., 0] = True  # no fully masked row here (a separate test covers those)
    want = functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    assert_close(impl.scaled_dot_product_attention(q, k, v, mask=keep), want, rtol=1e-5, atol=1e-6,
                 task=1, what="bool mask (True = attend)")  # fmt: skip
    bias = torch.randn(shape, generator=g).masked_fill(~keep, float("-inf"))
    want = functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    assert_close(impl.scaled_dot_product_attention(q, k, v, mask=bias), want, rtol=1e-5, atol=1e-6,
                 task=1, what="additive float mask")  # fmt: skip


def test_mask_and_causal_combine(impl: ModuleType) -> None:
    q, k, v = _qkv(2, 2, 4, 6, 8, seed=3)
    padding = torch.tensor([[True] * 6, [False, False, True, True, True, True]])[:, None, None, :]
    want = functional.scaled_dot_product_attention(q, k, v, attn_mask=padding & bottom_right(4, 6))
    got = impl.scaled_dot_product_attention(q, k, v, mask=padding, is_causal=True)
    assert_close(got, want, rtol=1e-5, atol=1e-6, task=1, what="padding mask AND causal")


def test_custom_scale(impl: ModuleType) -> None:
    q, k, v = _qkv(1, 2, 3, 5, 8, seed=4)
    want = functional.scaled_dot_product_attention(q, k, v, scale=0.05)
    assert_close(impl.scaled_dot_product_attention(q, k, v, scale=0.05), want, rtol=1e-5,
                 atol=1e-6, task=1, what="scale=0.05")  # fmt: skip


def test_fully_masked_rows_are_zero(impl: ModuleType) -> None:
    q, k, v = _qkv(1, 2, 3, 4, 8, seed=5)
    keep = torch.ones(1, 1, 3, 4, dtype=torch.bool)
    keep[..., 1, :] = False  # query 1 may see nothing
    out = impl.scaled_dot_product_attention(q, k, v, mask=keep)
    assert not torch.isnan(out).any(), "a fully masked row must give zeros, not NaN"
    assert_close(out[:, :, 1], torch.zeros(1, 2, 8), task=1, what="fully masked row")
    want = functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    assert_close(out[:, :, [0, 2]], want[:, :, [0, 2]], rtol=1e-5, atol=1e-6, task=1,
                 what="the other rows")  # fmt: skip
    additive = torch.zeros(1, 1, 3, 4).masked_fill(~keep, float("-inf"))
    out = impl.scaled_dot_product_attention(q, k, v, mask=additive)
    assert_close(out[:, :, 1], torch.zeros(1, 2, 8), task=1, what="row of -inf additive mask")
    # More queries than keys with is_causal: the first T - S queries precede every key.
    q2 = torch.randn(1, 1, 5, 8)
    out = impl.scaled_dot_product_attention(q2, k[:, :1, :1], v[:, :1, :1], is_causal=True)
    assert_close(out[:, :, :4], torch.zeros(1, 1, 4, 8), task=1, what="queries before every key")


def test_numerically_stable(impl: ModuleType) -> None:
    """Scores near 1e4 overflow exp() in float32 unless the row max is subtracted first."""
    q, k, v = _qkv(1, 2, 4, 6, 8, seed=6)
    q = q * 3000.0
    got = impl.scaled_dot_product_attention(q, k, v)
    want = functional.scaled_dot_product_attention(q.double(), k.double(), v.double())
    assert torch.isfinite(got).all(), "softmax overflowed: NaN or inf in the output"
    # Near one-hot rows: float32 rounding of 1e4-sized scores moves weights by ~1e-3 relative.
    assert_close(got, want, rtol=1e-3, atol=1e-3, task=1, what="attention on large scores")


def test_float64_and_value_dim(impl: ModuleType) -> None:
    q, k, _ = _qkv(2, 2, 3, 5, 8, seed=7, dtype=torch.float64)
    v = torch.randn(2, 2, 5, 4, dtype=torch.float64)  # Dv != D
    got = impl.scaled_dot_product_attention(q, k, v, is_causal=True)
    want = functional.scaled_dot_product_attention(q, k, v, attn_mask=bottom_right(3, 5))
    assert got.dtype == torch.float64
    assert_close(got, want, rtol=1e-10, atol=1e-12, task=1, what="float64 attention, Dv=4")


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"q": torch.randn(2, 3, 8)}, ValueError, "q"),
        ({"k": torch.randn(1, 2, 5, 4)}, ValueError, "head_dim|k"),
        ({"v": torch.randn(1, 2, 4, 8)}, ValueError, "v"),
        ({"k": torch.randn(1, 3, 5, 8)}, ValueError, "heads"),
        ({"q": torch.ones(1, 2, 3, 8, dtype=torch.long)}, TypeError, "q"),
        ({"mask": torch.ones(1, 1, 3, 4, dtype=torch.bool)}, ValueError, "mask"),
        ({"mask": torch.ones(2, 1, 3, 5, dtype=torch.bool)}, ValueError, "mask"),
        ({"mask": torch.ones(1, 1, 3, 5, dtype=torch.long)}, TypeError, "mask"),
        ({"mask": [[True]]}, TypeError, "mask"),
        ({"scale": 0.0}, ValueError, "scale"),
        ({"scale": "1"}, TypeError, "scale"),
    ],
)
def test_rejects_bad_input(
    impl: ModuleType, change: dict[str, Any], error: type[Exception], match: str
) -> None:
    args: dict[str, Any] = {"q": torch.randn(1, 2, 3, 8), "k": torch.randn(1, 2, 5, 8),
                            "v": torch.randn(1, 2, 5, 8), **change}  # fmt: skip
    q, k, v = args.pop("q"), args.pop("k"), args.pop("v")
    with pytest.raises(error, match=match):
        impl.scaled_dot_product_attention(q, k, v, **args)
