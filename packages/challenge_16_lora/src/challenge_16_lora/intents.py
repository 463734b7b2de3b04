"""The labelled sentences this challenge fine-tunes on: 675 customer-support requests in five
intents (billing, delivery, technical, account, returns), shipped in ``data/intents.tsv``.

Given, not a task. Each sentence was written from one of 24 templates per intent; the test set
holds the sentences of every fourth template, so a model is tested on phrasings it never saw in
training (a split by sentence would put near-copies on both sides and every method would score
100%).
"""

from __future__ import annotations

import importlib.resources
import random
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

TEST_TEMPLATE_EVERY = 4  # templates k with k % 4 == 3 are held out for the test set

Batch = dict[str, Tensor]  # input_ids, token_type_ids, attention_mask (N, T); labels (N,)


@dataclass(frozen=True)
class IntentSplit:
    """Sentences and integer labels, split by template (see the module docstring)."""

    classes: tuple[str, ...]  # class names; a label is an index into this tuple
    train_sentences: list[str]
    train_labels: list[int]
    test_sentences: list[str]
    test_labels: list[int]


def load_split() -> IntentSplit:
    """The shipped sentences, split into train (about 75%) and test (about 25%)."""
    text = (
        importlib.resources.files("challenge_16_lora")
        .joinpath("data", "intents.tsv")
        .read_text("utf-8")
    )
    rows = [line.split("\t") for line in text.splitlines()[1:] if line.strip()]
    classes = tuple(sorted({label for label, _, _ in rows}))
    train: list[tuple[str, int]] = []
    test: list[tuple[str, int]] = []
    for label, template, sentence in rows:
        held_out = int(template) % TEST_TEMPLATE_EVERY == TEST_TEMPLATE_EVERY - 1
        (test if held_out else train).append((sentence, classes.index(label)))
    return IntentSplit(
        classes,
        [s for s, _ in train],
        [y for _, y in train],
        [s for s, _ in test],
        [y for _, y in test],
    )


def make_batches(
    tokenizer: Any,
    sentences: list[str],
    labels: list[int],
    batch_size: int,
    *,
    shuffle_seed: int | None = None,
) -> list[Batch]:
    """Tokenised, padded batches with their labels; ``shuffle_seed`` shuffles the sentences once
    before batching (the training order within an epoch is the trainer's business)."""
    order = list(range(len(sentences)))
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(order)
    out: list[Batch] = []
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        enc = tokenizer([sentences[i] for i in chunk], padding=True, return_tensors="pt")
        batch = {
            k: v for k, v in enc.items() if k in ("input_ids", "token_type_ids", "attention_mask")
        }
        batch["labels"] = torch.tensor([labels[i] for i in chunk], dtype=torch.long)
        out.append(batch)
    return out
