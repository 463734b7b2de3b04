"""Task 2: embeddings equal sentence-transformers', in input order, cached on disk."""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_08_rag.minilm import model_dir

from prep.testing import assert_close

# Lengths from 1 to ~60 words, so bucketing reorders them and padding differs per batch.
TEXTS = [
    "mask future positions in attention",
    "A",
    "Applies a 2D convolution over an input signal composed of several input planes, with "
    "stride, padding, dilation and groups controlling how the kernel slides across the image "
    "and how the channels connect.",
    "",
    "fuse conv and batchnorm for inference",
    "Reduces the tensor data across all machines in such a way that all get the final result. "
    "After the call the tensor is going to be bitwise identical in all processes.",
]


@functools.cache
def reference() -> torch.Tensor:
    """sentence-transformers' own embeddings of TEXTS: the oracle. Loaded on first use, after
    the implementation has run, so an unfinished one fails at once."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir()), device="cpu")
    out: torch.Tensor = model.encode(TEXTS, normalize_embeddings=True, convert_to_tensor=True)
    return out


@pytest.mark.task(2)
def test_equals_sentence_transformers(impl: ModuleType) -> None:
    vectors = impl.Embedder(batch_size=4).encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == torch.float32
    # float32 BERT forwards with different padding/batching differ in the last bits only.
    assert_close(vectors, reference(), atol=2e-5, rtol=0, task=2, what="embeddings")
    assert_close(vectors.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5, task=2, what="row norms")


@pytest.mark.task(2)
def test_rows_follow_input_order_whatever_the_batching(impl: ModuleType) -> None:
    order = [3, 0, 5, 1, 4, 2]
    vectors = impl.Embedder(batch_size=2).encode([TEXTS[i] for i in order])
    assert_close(vectors, reference()[order], atol=2e-5, rtol=0, task=2, what="permuted embeddings")


@pytest.mark.task(2)
def test_cache_persists_and_is_keyed_by_text(impl: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    first = impl.Embedder(cache_path=path)
    a = first.encode(TEXTS[:3])
    assert first.encoded == 3
    assert first.cache_hits == 0
    again = impl.Embedder(cache_path=path)  # a new process would see the same file
    b = again.encode(TEXTS[:4])
    assert (again.cache_hits, again.encoded) == (3, 1), "three texts were cached on disk"
    assert_close(b[:3], a, atol=0, rtol=0, task=2, what="cached vectors")
    assert_close(b, reference()[:4], atol=2e-5, rtol=0, task=2, what="embeddings through the cache")
    assert path.is_file()
    assert path.stat().st_size > 0


@pytest.mark.task(2)
def test_empty_list_gives_no_rows(impl: ModuleType) -> None:
    assert impl.Embedder().encode([]).shape == (0, 384)


@pytest.mark.task(2)
@pytest.mark.parametrize("texts", ["one string", ["ok", 3], [None]])
def test_bad_texts_are_a_type_error(impl: ModuleType, texts: Any) -> None:
    with pytest.raises(TypeError, match="texts"):
        impl.Embedder().encode(texts)


def test_bad_constructor_arguments(impl: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        impl.Embedder(batch_size=0)
    with pytest.raises(ValueError, match="model_dir"):
        impl.Embedder(model_dir=tmp_path)
