"""Task 6: multi-head self-attention (optionally causal), against ``nn.MultiheadAttention``."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from prep.testing import assert_close

if TYPE_CHECKING:
    from conftest import Make

# float64 on both sides; GEMMs and reductions sum in another order, hence a little slack
RTOL, ATOL = 1e-9, 1e-11

pytestmark = pytest.mark.task(6)


def check_attention(
    impl: ModuleType, make: Make, b: int, t: int, heads: int, d: int, causal: bool, bias: bool
) -> None:
    e = heads * d
    layer = torch.nn.MultiheadAttention(e, heads, bias=bias, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # default init zeroes the biases: give them values
        for p in layer.parameters():
            p.copy_(make(*p.shape, scale=0.5))
    x = make(b, t, e).requires_grad_()
    mask = torch.ones(t, t, dtype=torch.bool).triu(1) if causal else None  # True: not allowed
    expected = layer(x, x, x, attn_mask=mask, need_weights=False)[0]
    upstream = make(b, t, e)
    expected.backward(upstream)
    w_in, w_out = layer.in_proj_weight.detach(), layer.out_proj.weight.detach()
    b_in = layer.in_proj_bias.detach() if bias else None
    b_out = layer.out_proj.bias.detach() if bias else None
    out = impl.multi_head_self_attention(x.detach(), w_in, b_in, w_out, b_out, heads, causal)
    assert_close(out, expected.detach(), rtol=RTOL, atol=ATOL, task=6, what="attention output")
    got = impl.multi_head_self_attention_backward(
        upstream, x.detach(), w_in, b_in, w_out, heads, causal
    )
    pairs = [("input", x.grad), ("in_proj_weight", layer.in_proj_weight.grad)]
    pairs.append(("out_proj_weight", layer.out_proj.weight.grad))
    if bias:
        pairs += [
            ("in_proj_bias", layer.in_proj_bias.grad),
            ("out_proj_bias", layer.out_proj.bias.grad),
        ]
    for name, want in pairs:
        assert want is not None
        assert_close(getattr(got, name), want, rtol=RTOL, atol=ATOL, task=6, what=f"grad of {name}")


@given(
    b=st.integers(1, 2),
    t=st.integers(1, 6),
    heads=st.integers(1, 3),
    d=st.integers(1, 4),
    causal=st.booleans(),
    bias=st.booleans(),
)
def test_matches_torch(
    impl: ModuleType, make: Make, b: int, t: int, heads: int, d: int, causal: bool, bias: bool
) -> None:
    check_attention(impl, make, b, t, heads, d, causal, bias)


@pytest.mark.parametrize("causal", [False, True], ids=["bidirectional", "causal"])
def test_eight_heads(impl: ModuleType, make: Make, causal: bool) -> None:
    check_attention(impl, make, 2, 7, 8, 4, causal, True)


def test_causal_output_ignores_the_future(impl: ModuleType, make: Make) -> None:
    e, heads = 8, 2
    weights = (make(3 * e, e), make(3 * e), make(e, e), make(e))
    x = make(1, 5, e)
    changed = x.clone()
    changed[0, 3:] += 10.0  # change the last two tokens only
    before = impl.multi_head_self_attention(x, *weights, heads, True)
    after = impl.multi_head_self_attention(changed, *weights, heads, True)
    assert_close(after[0, :3], before[0, :3], rtol=1e-12, task=6, what="outputs before the change")


def test_bad_arguments_raise_clear_errors(impl: ModuleType, make: Make) -> None:
    e = 6
    x, w_in, w_out = make(1, 3, e), make(3 * e, e), make(e, e)
    with pytest.raises(ValueError, match="num_heads"):
        impl.multi_head_self_attention(x, w_in, None, w_out, None, 4)
    with pytest.raises(ValueError, match="in_proj_weight"):
        impl.multi_head_self_attention(x, make(e, e), None, w_out, None, 2)
    with pytest.raises(ValueError, match="x must have 3"):
        impl.multi_head_self_attention(make(3, e), w_in, None, w_out, None, 2)
    with pytest.raises(TypeError, match="causal"):
        impl.multi_head_self_attention(x, w_in, None, w_out, None, 2, causal=1)
