"""One quick check per classic mistake, run first and without autograd (cheap to fail fast).

The task files test the same behaviour more broadly; these pin the traps interviewers probe.
"""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from torch.nn import functional as F  # noqa: N812 - the field's name for it

from prep.testing import assert_close


@pytest.mark.task(1)
def test_conv_pads_both_sides(impl: ModuleType) -> None:
    x = torch.arange(1.0, 17.0, dtype=torch.float64).view(1, 1, 4, 4)
    w = torch.arange(1.0, 10.0, dtype=torch.float64).view(1, 1, 3, 3)
    # padding=1 adds a row above *and* below, a column left *and* right
    expected = F.conv2d(x, w, padding=1)
    assert_close(impl.conv2d(x, w, None, padding=1), expected, rtol=1e-12, task=1, what="conv2d")


@pytest.mark.task(2)
def test_max_pool_gradients_add_where_windows_overlap(impl: ModuleType) -> None:
    x = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    x[0, 0, 1, 1] = 5.0  # the maximum of all four overlapping 3x3 windows (stride 1)
    out, indices = impl.max_pool2d(x, 3, stride=1)
    grad = impl.max_pool2d_backward(torch.ones_like(out), indices, (1, 1, 4, 4))
    assert_close(grad[0, 0, 1, 1], 4.0, task=2, what="gradient of a max shared by four windows")


@pytest.mark.task(3)
def test_softmax_of_logits_near_1e4_is_finite(impl: ModuleType) -> None:
    x = torch.tensor([1e4, 1e4 - 1.0, 0.0], dtype=torch.float64)
    assert_close(impl.softmax(x, dim=0), F.softmax(x, dim=0), rtol=1e-12, task=3, what="softmax")


@pytest.mark.task(3)
def test_cross_entropy_mean_counts_only_real_targets(impl: ModuleType) -> None:
    logits = torch.tensor([[2.0, 0.5], [0.1, 0.3], [1.0, -1.0]], dtype=torch.float64)
    target = torch.tensor([0, -100, 1])  # the middle row is padding
    expected = F.cross_entropy(logits, target)  # sum of two losses / 2, not / 3
    assert_close(impl.cross_entropy(logits, target), expected, rtol=1e-12, task=3, what="mean loss")


@pytest.mark.task(4)
def test_batch_norm_normalises_with_the_biased_variance(impl: ModuleType) -> None:
    x = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    rm, rv = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    out, _, _ = impl.batch_norm(x, rm, rv, training=True, momentum=1.0, eps=1e-12)
    # mean 2, biased variance 1: +-1 (the unbiased variance, 2, would give +-0.707)
    assert_close(out, [[-1.0], [1.0]], rtol=1e-9, task=4, what="normalised batch of two")
    assert_close(rv, [2.0], rtol=1e-12, task=4, what="running_var: the unbiased estimate")


@pytest.mark.task(5)
def test_dropout_scales_what_it_keeps(impl: ModuleType) -> None:
    x = torch.ones(1000, dtype=torch.float64)
    out, mask = impl.dropout(x, 0.2, generator=torch.Generator().manual_seed(0))
    assert_close(out[mask], torch.full_like(out[mask], 1.25), rtol=1e-15, task=5, what="kept")


@pytest.mark.task(6)
def test_causal_attention_does_not_see_the_next_token(impl: ModuleType) -> None:
    gen = torch.Generator().manual_seed(0)
    e, t = 4, 3
    x, w_in, w_out = (
        torch.randn(s, generator=gen, dtype=torch.float64) for s in ((1, t, e), (3 * e, e), (e, e))
    )
    q, k, v = (x @ w_in.T).split(e, dim=-1)  # one head
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True) @ w_out.T
    out = impl.multi_head_self_attention(x, w_in, None, w_out, None, 1, True)
    assert_close(out, expected, rtol=1e-10, atol=1e-12, task=6, what="causal attention")
