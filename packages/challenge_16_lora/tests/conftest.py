"""Shared fixtures: the tiny seeded BERT classifier and token batches with a learnable label."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from challenge_16_lora.intents import Batch

MakeBatches = Callable[..., list[Batch]]

# The tests' tensors are tiny: a second intra-op thread only adds synchronisation, and on a
# shared CPU its barriers wait out whole time slices (a 3 s training test took 50 s).
torch.set_num_threads(1)

VOCAB = 128  # models.tiny_bert_classifier's vocabulary
SIGNAL_TOKEN = 7  # the label of a synthetic batch says whether this token occurs


def token_batches(n_batches: int, batch_size: int = 8, seq: int = 12, seed: int = 0) -> list[Batch]:
    """Random token sequences labelled 1 when ``SIGNAL_TOKEN`` occurs, else 0: a task the tiny
    BERT can learn in a few dozen steps, so a broken training loop shows."""
    gen = torch.Generator().manual_seed(seed)
    out: list[Batch] = []
    for _ in range(n_batches):
        ids = torch.randint(8, VOCAB, (batch_size, seq), generator=gen)  # (N, T), no signal yet
        has = torch.rand(batch_size, generator=gen) < 0.5  # (N,)
        pos = torch.randint(1, seq, (batch_size,), generator=gen)
        ids[has, pos[has]] = SIGNAL_TOKEN
        ids[:, 0] = 1  # a fixed [CLS]-like first token
        out.append({
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "token_type_ids": torch.zeros_like(ids),
            "labels": has.long(),
        })  # fmt: skip
    return out


@pytest.fixture
def make_batches() -> MakeBatches:
    """``token_batches`` as a fixture: ``make_batches(n_batches, batch_size=8, seq=12, seed=0)``."""
    return token_batches
