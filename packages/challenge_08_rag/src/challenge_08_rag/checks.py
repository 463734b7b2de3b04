"""Argument checks and small helpers the implementations share (given; not a TODO).

Each raises a ``ValueError`` or ``TypeError`` that names the argument and what was expected,
so every implementation rejects bad input with the same clear message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor


def check_chunk_args(
    text: object, max_tokens: object, overlap: object, tokenizer: object, source: object
) -> None:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
    if not isinstance(overlap, int) or isinstance(overlap, bool) or not 0 <= overlap < max_tokens:
        raise ValueError(f"overlap must be an int in [0, max_tokens), got {overlap!r}")
    if not callable(tokenizer):
        raise TypeError(
            f"tokenizer must be callable (str -> tokens), got {type(tokenizer).__name__}"
        )
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")


def check_texts(texts: object) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a sequence of str, got {type(texts).__name__}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] must be a str, got {type(text).__name__}")
    return list(texts)


def unit_rows(vectors: object, dim: int, name: str) -> Tensor:
    """(N, dim) float32 rows scaled to unit length; a (dim,) vector becomes one row."""
    if isinstance(vectors, np.ndarray):
        vectors = torch.from_numpy(vectors)
    if not isinstance(vectors, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy array, got {type(vectors).__name__}"
        )
    if not vectors.dtype.is_floating_point:
        raise TypeError(f"{name} must be floating point, got {vectors.dtype}")
    matrix = vectors.detach().to("cpu", torch.float32)
    matrix = matrix.unsqueeze(0) if matrix.ndim == 1 else matrix
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got {tuple(vectors.shape)}")
    if not torch.isfinite(matrix).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    norms = matrix.norm(dim=1, keepdim=True)  # (N, 1)
    if (norms == 0).any():
        raise ValueError(f"{name} holds a zero vector: its cosine similarity is undefined")
    unit: Tensor = matrix / norms
    return unit


def as_ids(ids: object, count: int | None, name: str = "ids") -> Tensor:
    tensor = torch.as_tensor(np.asarray(ids) if not isinstance(ids, Tensor) else ids)
    if tensor.ndim != 1 or (tensor.numel() and tensor.dtype.is_floating_point):
        raise TypeError(f"{name} must be a 1-d sequence of ints")
    tensor = tensor.to(torch.int64)
    if count is not None and tensor.numel() != count:
        raise ValueError(f"{name} has {tensor.numel()} entries for {count} vectors")
    if tensor.unique().numel() != tensor.numel():
        raise ValueError(f"{name} holds duplicates")
    return tensor


def check_k(k: object, size: int) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if size == 0:
        raise ValueError("the index is empty: add vectors before searching")
    if k > size:
        raise ValueError(f"k={k} is larger than the index ({size} vectors)")
    return k


def checksum(ids: npt.NDArray[Any], vectors: npt.NDArray[Any]) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()


def check_corpus(corpus: object) -> list[list[str]]:
    if isinstance(corpus, str) or not isinstance(corpus, Sequence):
        raise TypeError(f"corpus must be a sequence of token lists, got {type(corpus).__name__}")
    if not corpus:
        raise ValueError("corpus is empty: BM25 needs at least one document")
    docs = []
    for i, doc in enumerate(corpus):
        if isinstance(doc, str) or not isinstance(doc, Sequence):
            raise TypeError(
                f"corpus[{i}] must be a list of tokens (use words(text)), got {type(doc).__name__}"
            )
        docs.append([str(t) for t in doc])
    if not any(docs):
        raise ValueError("corpus has no tokens at all: every document is empty")
    return docs


def check_query(query: object) -> list[str]:
    if isinstance(query, str) or not isinstance(query, Sequence):
        raise TypeError(
            f"query must be a list of tokens (use words(text)), got {type(query).__name__}"
        )
    if not query:
        raise ValueError("query is empty: no tokens to score")
    return [str(t) for t in query]
