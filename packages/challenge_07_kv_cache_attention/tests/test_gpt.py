"""Task 5: GPT-2 parity with Hugging Face (logits and generate), caching, sampling, EOS."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_07_kv_cache_attention.hf_models import random_prompts

from prep.testing import assert_close

pytestmark = pytest.mark.task(5)

# float32 parity: the same math in a different order (fused qkv vs split, sdpa kernels):
# logits of size ~5 agree to a few ulps, well inside 1e-5.
RTOL = ATOL = 1e-5


def _hf_positions(mask: torch.Tensor) -> torch.Tensor:
    return (mask.cumsum(-1) - 1).clamp(min=0)


def test_prefill_logits_match_hf(gpt: Any, hf_tiny: Any) -> None:
    ids, _ = random_prompts(2, 12, [0, 0])
    with torch.no_grad():
        assert_close(
            gpt(ids), hf_tiny(ids).logits, rtol=RTOL, atol=ATOL, task=5, what="prefill logits"
        )


def test_padded_prefill_logits_match_hf(gpt: Any, hf_tiny: Any) -> None:
    ids, mask = random_prompts(3, 10, [0, 3, 6])
    with torch.no_grad():
        ours = gpt(ids, attention_mask=mask)
        theirs = hf_tiny(ids, attention_mask=mask, position_ids=_hf_positions(mask)).logits
    real = mask.bool()
    assert_close(
        ours[real],
        theirs[real],
        rtol=RTOL,
        atol=ATOL,
        task=5,
        what="logits of real tokens, left padding",
    )


def test_every_cached_decode_step_matches_hf(impl: ModuleType, gpt: Any, hf_tiny: Any) -> None:
    ids, mask = random_prompts(3, 7, [0, 2, 4], seed=1)
    cache = impl.KVCache(3, 2, 4, 20, 16)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        ours = gpt(ids, attention_mask=mask, cache=cache)
        theirs = hf_tiny(ids, attention_mask=mask, position_ids=_hf_positions(mask)).logits
        assert_close(
            ours[mask.bool()],
            theirs[mask.bool()],
            rtol=RTOL,
            atol=ATOL,
            task=5,
            what="cached prefill",
        )
        for step in range(6):
            new = torch.randint(0, 255, (3, 1), generator=g)
            ids, mask = (
                torch.cat([ids, new], 1),
                torch.cat([mask, torch.ones(3, 1, dtype=torch.long)], 1),
            )
            ours = gpt(new, attention_mask=mask, cache=cache)[:, -1]
            theirs = hf_tiny(ids, attention_mask=mask, position_ids=_hf_positions(mask)).logits[
                :, -1
            ]
            assert_close(
                ours,
                theirs,
                rtol=RTOL,
                atol=ATOL,
                task=5,
                what=f"decode step {step} through the cache",
            )
    assert cache.lengths.tolist() == [13, 13, 13]


def test_decode_without_mask_continues_positions(impl: ModuleType, gpt: Any, hf_tiny: Any) -> None:
    ids, _ = random_prompts(1, 9, [0], seed=3)
    cache = impl.KVCache(1, 2, 4, 16, 16)
    with torch.no_grad():
        gpt(ids[:, :6], cache=cache)
        ours = torch.cat([gpt(ids[:, t : t + 1], cache=cache) for t in range(6, 9)], dim=1)
        assert_close(
            ours,
            hf_tiny(ids).logits[:, 6:],
            rtol=RTOL,
            atol=ATOL,
            task=5,
            what="decode steps, no mask",
        )


def test_greedy_matches_hf_generate(impl: ModuleType, gpt: Any, hf_tiny: Any) -> None:
    ids, mask = random_prompts(3, 8, [0, 3, 5], seed=4)
    want = hf_tiny.generate(
        ids, attention_mask=mask, max_new_tokens=16, do_sample=False, pad_token_id=255
    )
    got = impl.generate(gpt, ids, 16, attention_mask=mask)
    assert got.tolist() == want.tolist(), "greedy tokens differ from transformers' generate"
    no_cache = impl.generate(gpt, ids, 16, attention_mask=mask, use_cache=False)
    assert no_cache.tolist() == got.tolist(), "generate with and without the cache differ"


def test_consecutive_prompts_are_independent(impl: ModuleType, gpt: Any, hf_tiny: Any) -> None:
    """A cache reused by generate must be reset: the second prompt must not see the first."""
    first, _ = random_prompts(2, 6, [0, 0], seed=5)
    second, _ = random_prompts(2, 6, [0, 0], seed=6)
    impl.generate(gpt, first, 10)
    got = impl.generate(gpt, second, 10)
    want = hf_tiny.generate(second, max_new_tokens=10, do_sample=False, pad_token_id=255)
    assert got.tolist() == want.tolist(), "the second prompt's tokens depend on the first"


def test_eos_stops_and_pads_like_hf(impl: ModuleType, gpt: Any, hf_tiny: Any) -> None:
    ids, mask = random_prompts(2, 6, [0, 2], seed=7)
    plain = impl.generate(gpt, ids, 8, attention_mask=mask, use_cache=False)
    eos = int(plain[0, 8])  # make row 0's third new token the end of sequence
    hf_tiny.generation_config.eos_token_id = eos
    try:
        want = hf_tiny.generate(ids, attention_mask=mask, max_new_tokens=8, do_sample=False,
                                eos_token_id=eos, pad_token_id=eos)  # fmt: skip
    finally:
        hf_tiny.generation_config.eos_token_id = 255
    model = impl.GPT.from_hf(hf_tiny)
    object.__setattr__(model.config, "eos_token_id", eos)
    got = impl.generate(model, ids, 8, attention_mask=mask)
    assert got.tolist() == want.tolist(), f"with eos={eos}: finished rows must continue as EOS"


def test_sampling_is_seeded_and_filtered(impl: ModuleType, gpt: Any) -> None:
    ids, _ = random_prompts(2, 5, [0, 0], seed=8)
    a = impl.generate(gpt, ids, 8, temperature=1.0, top_k=20, top_p=0.9, seed=11)
    b = impl.generate(gpt, ids, 8, temperature=1.0, top_k=20, top_p=0.9, seed=11)
    assert a.tolist() == b.tolist(), "the same seed must give the same tokens"
    greedy = impl.generate(gpt, ids, 8)
    assert (
        impl.generate(gpt, ids, 8, temperature=0.7, top_k=1, seed=1).tolist() == greedy.tolist()
    ), "top_k=1 keeps only the argmax"
    assert (
        impl.generate(gpt, ids, 8, temperature=1.5, top_p=1e-6, seed=2).tolist() == greedy.tolist()
    ), "a tiny top_p keeps only the most likely token"
    draws = {
        tuple(impl.generate(gpt, ids, 8, temperature=1.0, seed=s)[0, 5:].tolist()) for s in range(4)
    }
    assert len(draws) > 1, "temperature 1 must sample, not decode greedily"


def test_top_p_keeps_the_nucleus(impl: ModuleType, gpt: Any, hf_tiny: Any) -> None:
    """With top_p the sampled token is always inside the smallest set reaching top_p (the
    nucleus computed with transformers' TopPLogitsWarper)."""
    from transformers.generation.logits_process import TopPLogitsWarper

    ids, _ = random_prompts(1, 5, [0], seed=9)
    with torch.no_grad():
        logits = hf_tiny(ids).logits[:, -1]
    allowed = TopPLogitsWarper(0.5)(ids, logits.clone()).isfinite()[0]
    picked = {
        int(impl.generate(gpt, ids, 1, temperature=1.0, top_p=0.5, seed=s)[0, -1])
        for s in range(25)
    }
    assert all(bool(allowed[t]) for t in picked), (
        f"sampled {picked}, nucleus {allowed.nonzero().flatten().tolist()}"
    )
    assert len(picked) == int(allowed.sum()) or len(picked) > 1, (
        "top_p must still sample within the nucleus"
    )


def test_from_hf_copies_the_architecture(impl: ModuleType, gpt: Any) -> None:
    assert gpt.config.n_layer == 2
    assert gpt.config.vocab_size == 256
    assert not gpt.training, "from_hf returns the model in eval mode"
    with pytest.raises(TypeError, match="hf_model"):
        impl.GPT.from_hf(torch.nn.Linear(2, 2))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"top_p": 0.0}, ValueError, "top_p"),
        ({"top_p": 1.5}, ValueError, "top_p"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"top_k": 0}, ValueError, "top_k"),
        ({"max_new_tokens": -1}, ValueError, "max_new_tokens"),
        ({"max_new_tokens": 200}, ValueError, "n_positions"),
        ({"attention_mask": torch.ones(2, 3, dtype=torch.long)}, ValueError, "attention_mask"),
        ({"input_ids": torch.zeros(2, 4)}, TypeError, "input_ids"),
        ({"input_ids": torch.full((2, 4), 300)}, ValueError, "input_ids"),
    ],
)
def test_generate_rejects_bad_input(
    impl: ModuleType, gpt: Any, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    args: dict[str, Any] = {
        "input_ids": torch.zeros(2, 4, dtype=torch.long),
        "max_new_tokens": 3,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        impl.generate(gpt, args.pop("input_ids"), args.pop("max_new_tokens"), **args)


def test_forward_rejects_bad_input(impl: ModuleType, gpt: Any) -> None:
    ids = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="attention_mask"):
        gpt(ids, attention_mask=torch.ones(2, 5, dtype=torch.long))
    cache = impl.KVCache(2, 2, 4, 8, 16)
    gpt(ids, cache=cache)
    with pytest.raises(ValueError, match=r"overflow|max_seq_len"):
        gpt(torch.ones(2, 5, dtype=torch.long), cache=cache)  # 4 + 5 > 8
