"""The retrieval pipeline end to end, and its quality on the labelled questions (given).

``build`` chunks documents, embeds the chunks and indexes them twice (dense and BM25) with the
implementation it is handed (starter, baseline or solution). ``rankings`` runs the labelled
questions through dense, BM25 and hybrid retrieval and turns chunk hits into document
rankings; ``evaluate`` of the implementation scores them; ``paired_bootstrap`` puts a
confidence interval on the difference between two methods over the same questions.

Each chunk is indexed with its document id as a header line ("contextual chunk header"): a
chunk from the middle of a page still says which API it documents.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from challenge_08_rag.records import Chunk, Document, Hit
from challenge_08_rag.words import words

METHODS = ("bm25", "dense", "hybrid")


@dataclass
class Pipeline:
    """Chunks and the two indexes over them; chunk ``i`` has id ``i`` in both."""

    impl: ModuleType
    chunks: list[Chunk]
    embedder: Any  # impl.Embedder
    index: Any  # impl.VectorIndex
    bm25: Any  # impl.BM25


def indexed_text(chunk: Chunk) -> str:
    """What is embedded and BM25-indexed for a chunk: its document id, then its text."""
    return f"{chunk.source}\n{chunk.text}"


def build(
    impl: ModuleType,
    documents: Sequence[Document],
    *,
    embedder: Any,
    max_tokens: int = 128,
    overlap: int = 16,
    leading: int | None = None,
    tokenizer: Callable[[str], Sequence[object]] = str.split,
) -> Pipeline:
    """Chunk, embed and index ``documents`` with ``impl``.

    ``leading`` keeps only each document's first chunks (its summary and arguments): an
    index of the whole text costs several times more embedding time for little gain on
    "which API does this?" questions.
    """
    chunks: list[Chunk] = []
    for doc in documents:
        pieces = impl.chunk(
            doc.text, max_tokens=max_tokens, overlap=overlap, tokenizer=tokenizer, source=doc.id
        )
        chunks += pieces[:leading] if leading else pieces
    texts = [indexed_text(c) for c in chunks]
    index = impl.VectorIndex(embedder.dim)
    index.add(list(range(len(chunks))), embedder.encode(texts))
    bm25 = impl.BM25([words(t) for t in texts])
    return Pipeline(impl, chunks, embedder, index, bm25)


def search(pipeline: Pipeline, question: str, method: str, *, depth: int = 50) -> list[Hit]:
    """Chunk hits for ``question`` by ``method`` ("bm25", "dense" or "hybrid", RRF of both)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    depth = min(depth, len(pipeline.chunks))
    sparse: list[Hit] = []
    dense: list[Hit] = []
    if method in ("bm25", "hybrid"):
        tokens = words(question)
        sparse = pipeline.bm25.search(tokens, depth) if tokens else []
    if method in ("dense", "hybrid"):
        query = pipeline.embedder.encode([question])  # (1, 384)
        scores, ids = pipeline.index.search(query, depth)
        dense = [Hit(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True)]
    if method == "bm25":
        return sparse
    if method == "dense":
        return dense
    fused: list[Hit] = pipeline.impl.hybrid_search([dense, sparse], k=depth)
    return fused


def document_ranking(pipeline: Pipeline, hits: Sequence[Hit]) -> list[str]:
    """Document ids in the order their first chunk appears among ``hits``."""
    seen: dict[str, None] = {}
    for hit in hits:
        seen.setdefault(pipeline.chunks[hit.id].source, None)
    return list(seen)


def rankings(
    pipeline: Pipeline, questions: Sequence[Any], method: str, *, depth: int = 50
) -> dict[str, list[str]]:
    """query id -> ranked document ids, for labelled questions (``questions.Question``)."""
    if method != "bm25" and pipeline.embedder.cache_path is not None:
        # One batched forward for every question; the per-question searches hit the cache.
        pipeline.embedder.encode([q.text for q in questions])
    return {
        q.id: document_ranking(pipeline, search(pipeline, q.text, method, depth=depth))
        for q in questions
    }


@dataclass(frozen=True)
class Difference:
    """mean(b - a) over queries with a paired percentile-bootstrap interval."""

    mean: float
    low: float
    high: float
    confidence: float


def paired_bootstrap(
    a: Sequence[float] | npt.NDArray[np.float64],
    b: Sequence[float] | npt.NDArray[np.float64],
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Difference:
    """Paired percentile bootstrap of mean(b - a): resample queries (the same ones for both
    methods) with replacement; the interval is the central ``confidence`` share of the
    resampled means. Draws ``rng.integers(0, n, (n_resamples, n))`` with
    ``np.random.default_rng(seed)``, as ``scipy.stats.bootstrap`` does.

    Raises:
        ValueError: lengths differ, fewer than 2 queries, or confidence outside (0, 1).
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"a and b must be 1-d of one length, got {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError("paired_bootstrap needs at least 2 queries")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    diff = y - x  # (n,)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, (n_resamples, diff.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.percentile(means, [100 * tail, 100 * (1 - tail)])
    return Difference(float(diff.mean()), float(low), float(high), confidence)
