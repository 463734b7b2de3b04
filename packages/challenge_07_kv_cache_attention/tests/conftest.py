"""Shared fixtures: a seeded tiny Hugging Face GPT-2 (built once) and the implementation's copy."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_07_kv_cache_attention import hf_models

# The tests' tensors are tiny: with several threads each op waits at an OpenMP barrier, which on
# a busy 2-core machine can cost milliseconds per op (50x slower decoding, measured).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def hf_tiny() -> Any:
    """GPT2LMHeadModel: 2 layers, d_model 64, 4 heads, vocab 256, eos 255; tests must not
    modify it."""
    return hf_models.gpt2_model("tiny", seed=0)


@pytest.fixture(scope="module")
def gpt(impl: ModuleType, hf_tiny: Any) -> Any:
    """The implementation's GPT with the tiny model's weights."""
    return impl.GPT.from_hf(hf_tiny)
