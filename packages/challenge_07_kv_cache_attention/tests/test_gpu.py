"""CUDA: the decoder's CUDA-graph path against Hugging Face on the GPU (no hypothesis here, so
this file also runs where only pytest is installed)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_07_kv_cache_attention import hf_models

from prep.testing import assert_close

pytestmark = [pytest.mark.gpu, pytest.mark.task(5)]


@pytest.fixture(scope="module")
def hf_cuda() -> Any:
    return hf_models.gpt2_model("tiny", seed=0).cuda()


def test_greedy_on_cuda_matches_hf(impl: ModuleType, hf_cuda: Any) -> None:
    ids, mask = hf_models.random_prompts(3, 8, [0, 2, 5], seed=4)
    ids, mask = ids.cuda(), mask.cuda()
    model = impl.GPT.from_hf(hf_cuda)
    want = hf_cuda.generate(
        ids, attention_mask=mask, max_new_tokens=40, do_sample=False, pad_token_id=255
    )
    for _ in range(2):  # the second call replays a captured graph over a reset cache
        got = impl.generate(model, ids, 40, attention_mask=mask)
        assert got.tolist() == want.tolist(), "greedy tokens on CUDA differ from transformers'"
    other, _ = hf_models.random_prompts(3, 8, [0, 0, 0], seed=5)
    want = hf_cuda.generate(other.cuda(), max_new_tokens=40, do_sample=False, pad_token_id=255)
    assert impl.generate(model, other.cuda(), 40).tolist() == want.tolist(), (
        "a new prompt after a graph replay"
    )


def test_cuda_logits_fp16(impl: ModuleType) -> None:
    hf = hf_models.gpt2_model("tiny", seed=1, dtype=torch.float16).cuda()
    ids, _ = hf_models.random_prompts(2, 16, [0, 0], seed=6)
    model = impl.GPT.from_hf(hf)
    with torch.no_grad():
        # fp16: ~1e-3 relative per op over 2 layers; logits of size ~5.
        assert_close(
            model(ids.cuda()),
            hf(ids.cuda()).logits,
            rtol=1e-2,
            atol=2e-2,
            task=5,
            what="fp16 logits on CUDA",
        )


def test_cached_attention_on_cuda(impl: ModuleType) -> None:
    torch.manual_seed(0)
    attn = impl.MultiHeadAttention(64, 8, 2).cuda()
    x = torch.randn(2, 12, 64, device="cuda")
    cache = impl.KVCache(2, 1, 2, 16, 8, device="cuda")
    with torch.no_grad():
        full = attn(x)
        steps = [attn(x[:, :4], cache=cache)] + [
            attn(x[:, t : t + 1], cache=cache) for t in range(4, 12)
        ]
    assert_close(torch.cat(steps, 1), full, rtol=1e-4, atol=1e-4, task=3, what="cached GQA on CUDA")
