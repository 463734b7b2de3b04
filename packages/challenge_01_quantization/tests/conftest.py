"""Session fixtures: the digits MLP and all-MiniLM-L6-v2, each built once per test session."""

from __future__ import annotations

from typing import Any

import pytest
from challenge_01_quantization import digits, minilm
from torch import nn


@pytest.fixture(scope="session")
def digits_split() -> digits.DigitsSplit:
    return digits.load_digits_split()


@pytest.fixture(scope="session")
def digits_model(digits_split: digits.DigitsSplit) -> nn.Module:
    """The trained MLP (about 97% test accuracy); tests must not modify it."""
    return digits.train_digits_mlp(digits_split)


@pytest.fixture(scope="session")
def minilm_model() -> tuple[nn.Module, Any]:
    """(BertModel, tokenizer) of all-MiniLM-L6-v2, loaded once from the installed package."""
    return minilm.load_minilm()
