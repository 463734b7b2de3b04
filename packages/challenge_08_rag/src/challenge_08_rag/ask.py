"""Questions about this project and PyTorch, answered from their documentation with citations.

``ask(question)`` is what ``prep ask "..."`` calls: hybrid retrieval (BM25 + MiniLM, fused by
reciprocal rank) over PyTorch's docstrings and this repository's Markdown, MMR for diverse
context, then an extractive, cited answer (or any local generator passed in). The first call
embeds the corpus (minutes on a laptop CPU; cached on disk by content hash, so later calls and
later processes start in seconds).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from challenge_08_rag import quality
from challenge_08_rag.corpus import cache_dir, project_documents, torch_documents
from challenge_08_rag.records import Answer
from challenge_08_rag.words import words
from prep import impl as impl_switch
from prep.catalog import repo_root


@functools.lru_cache(maxsize=2)
def pipeline(root: str, impl: str = "solution") -> quality.Pipeline:
    """The index ``ask`` searches: each PyTorch page's leading chunk and every chunk of the
    project's Markdown, embedded once (cached under ``corpus.cache_dir()``)."""
    module = impl_switch.load("challenge_08_rag", impl)
    embedder = module.Embedder(cache_path=cache_dir() / "embeddings.sqlite")
    torch_part = quality.build(module, torch_documents(), embedder=embedder, leading=1)
    project = quality.build(module, project_documents(Path(root)), embedder=embedder)
    chunks = torch_part.chunks + project.chunks
    texts = [quality.indexed_text(c) for c in chunks]
    index = module.VectorIndex(embedder.dim)
    index.add(list(range(len(chunks))), embedder.encode(texts))  # all cached by now
    bm25 = module.BM25([words(t) for t in texts])
    return quality.Pipeline(module, chunks, embedder, index, bm25)


def ask(
    question: str,
    *,
    root: Path | None = None,
    k: int = 5,
    impl: str = "solution",
    generator: Callable[[str], str] | None = None,
) -> Answer:
    """Answer ``question`` from PyTorch's and this project's documentation.

    Args:
        question: plain English, e.g. "how do I mask future positions in attention?".
        root: the repository (default: the workspace ``prep`` runs in).
        k: chunks handed to the answer, picked by MMR from the top 20 hybrid hits.
        impl: which implementation runs the pipeline (``solution``, ``baseline``, ``starter``).
        generator: optional local model, prompt text in, answer text out.

    Returns:
        An ``Answer``; ``answer.render()`` is the text plus its numbered sources.

    Raises:
        ValueError: an empty question or ``k`` below 1.
    """
    if not question.strip():
        raise ValueError("question is empty")
    if k < 1:
        raise ValueError(f"k must be a positive int, got {k}")
    built = pipeline(str(root or repo_root()), impl)
    hits = quality.search(built, question, "hybrid", depth=50)[:20]
    vectors = built.embedder.encode(
        [question, *(quality.indexed_text(built.chunks[h.id]) for h in hits)]
    )  # (1 + H, 384)
    picked = built.impl.mmr(vectors[0], vectors[1:], k=min(k, len(hits)), lambda_=0.7)
    chunks = [built.chunks[hits[i].id] for i in picked]
    result: Answer = built.impl.answer(
        question, chunks, embedder=built.embedder, generator=generator
    )
    return result
