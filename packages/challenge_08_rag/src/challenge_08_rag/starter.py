"""Challenge 08 - retrieval-augmented generation. YOUR FILE: fill in every TODO.

The pipeline, stage by stage (README "Tasks"):

1. ``chunk``: split a document into overlapping chunks of whole sentences and code blocks.
2. ``Embedder.encode``: all-MiniLM-L6-v2 vectors, batched by length, cached on disk.
3. ``VectorIndex``: exact cosine top-k (equal to faiss ``IndexFlatIP``), add/remove, save/load;
   ``HNSWIndex``: the approximate index, on faiss's HNSW graph.
4. ``BM25`` (equal to rank-bm25's ``BM25Okapi``), ``hybrid_search`` (reciprocal-rank fusion)
   and ``mmr`` (diversity re-ranking).
5. ``build_prompt`` (cited, deduplicated, within a token budget) and ``answer``.
6. ``evaluate``: recall@k, MRR@k and nDCG@k, equal to trec_eval's.

Given (not TODOs): ``records`` (the ``Chunk``, ``Hit``, ``Prompt``, ``Answer`` and
``Evaluation`` you return), ``words`` (the BM25 tokenizer and ``units``, the sentence and
code-block spans of a text), ``checks`` (argument checks with clear errors: call them first),
``minilm`` (loads the model offline), ``corpus`` (PyTorch's docstrings), ``questions`` (the
labelled set) and ``quality`` (the end-to-end pipeline that calls your functions).

Run ``uv run prep test 08`` (``--task K`` for one task); ``uv run prep bench 08`` times you
against the baseline, the solution, faiss, rank-bm25, bm25s and sentence-transformers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from challenge_08_rag import minilm
from challenge_08_rag.records import Answer, Chunk, Evaluation, Hit, Prompt, Tokenizer

__all__ = [
    "BM25",
    "Embedder",
    "HNSWIndex",
    "VectorIndex",
    "answer",
    "build_prompt",
    "chunk",
    "evaluate",
    "hybrid_search",
    "mmr",
]


def chunk(
    text: str, *, max_tokens: int, overlap: int, tokenizer: Tokenizer, source: str = ""
) -> list[Chunk]:
    """Split ``text`` into chunks of whole sentences and code blocks, with overlap.

    Units are ``words.units(text)``: sentences and code blocks (fenced, or doctest runs), as
    (start, end) character spans. A unit costs ``len(tokenizer(text[start:end]))`` tokens; a
    chunk costs the sum of its units. Rules:

    - Pack units greedily, in order, while the chunk's cost stays <= ``max_tokens``.
    - A unit that alone costs more than ``max_tokens`` is first cut at whitespace into pieces
      that fit (greedy, word by word); only a single word over the limit may exceed it.
    - The next chunk starts with the previous chunk's last units costing <= ``overlap`` in
      total (but never all of them: each chunk adds at least one new unit), dropping carried
      units from the front if the first new unit would not fit otherwise.
    - Each chunk is ``Chunk(source, start, end, text[start:end])``: ``start`` is its first
      unit's start, ``end`` its last unit's end (the text between units is kept).

    Args:
        text: the document. max_tokens: positive int. overlap: int in [0, max_tokens).
        tokenizer: str -> sequence of tokens (``str.split``, a WordPiece ``tokenize``).
        source: the document id every chunk carries.

    Returns:
        The chunks in order; ``[]`` for a text with no non-space character.

    Raises:
        TypeError: text or source not a str, tokenizer not callable.
        ValueError: max_tokens < 1, overlap outside [0, max_tokens).
        (``checks.check_chunk_args`` does all of this.)
    """
    raise NotImplementedError(
        "TODO(08.1): pack sentences into overlapping chunks - see README task 1"
    )


class Embedder:
    """all-MiniLM-L6-v2 sentence embeddings: (N, 384) float32 rows of unit length.

    ``__init__`` is given: it loads the model (``self.model``, a ``BertModel``), its tokenizer
    (``self.tokenizer``) and ``self.model_id``. You write ``encode``.

    Args:
        model_dir: a folder with a BERT checkpoint and tokenizer; ``None`` is the packaged
            all-MiniLM-L6-v2.
        batch_size: texts per forward pass.
        cache_path: SQLite (or any single-file) cache of vectors; ``None`` disables caching.

    Raises:
        ValueError: ``batch_size`` below 1, or ``model_dir`` is not a model folder.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        batch_size: int = 64,
        cache_path: str | Path | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.model, self.tokenizer, self.model_id = minilm.load_minilm(
            None if model_dir is None else str(model_dir)
        )
        self.batch_size = batch_size
        self.dim = minilm.DIM
        self.cache_path = None if cache_path is None else Path(cache_path)
        self.cache_hits = 0  # texts answered from the cache, over this object's life
        self.encoded = 0  # texts that went through the model

    def encode(self, texts: Sequence[str]) -> Tensor:
        """Embed ``texts``: (N, 384) float32, each row of unit L2 norm, in input order.

        Equal to ``SentenceTransformer.encode(texts, normalize_embeddings=True)``: tokenize
        with truncation to ``minilm.MAX_TOKENS`` (256), run the model, average the last hidden
        state over the tokens whose attention mask is 1, L2-normalise. Sort texts by token
        count and batch neighbours together (length bucketing: less padding), then put rows
        back in input order. With ``cache_path``, key each vector by a hash of
        (``model_id``, text): a text seen before is read back, not recomputed; count those
        in ``cache_hits`` and the others in ``encoded``.

        Raises:
            TypeError: ``texts`` is a bare string or holds something other than strings
                (``checks.check_texts``).
        """
        raise NotImplementedError(
            "TODO(08.2): batched, bucketed, cached MiniLM embeddings - see README task 2"
        )


class VectorIndex:
    """Exact cosine-similarity search over vectors stored unit-length under int64 ids.

    Equal to faiss ``IndexFlatIP`` over normalised vectors: same ids, scores to 1e-5.

    Args:
        dim: vector width.

    Raises:
        ValueError: ``dim`` below 1.
    """

    def __init__(self, dim: int) -> None:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.dim = dim
        self._vectors = torch.empty(0, dim)  # (N, dim), unit rows
        self._ids = torch.empty(0, dtype=torch.int64)  # (N,)

    def __len__(self) -> int:
        return int(self._ids.numel())

    @property
    def ids(self) -> Tensor:
        """The stored ids, in storage order."""
        return self._ids.clone()

    def add(
        self, ids: Sequence[int] | Tensor | npt.NDArray[Any], vectors: Tensor | npt.NDArray[Any]
    ) -> None:
        """Store ``vectors`` (N, dim) under ``ids`` (N,), scaled to unit length
        (``checks.unit_rows``, ``checks.as_ids``).

        Raises:
            ValueError: wrong shape, NaN, a zero vector, an id already stored or repeated.
            TypeError: ids that are not ints, vectors that are not floating point.
        """
        raise NotImplementedError(
            "TODO(08.3): store normalised vectors under ids - see README task 3"
        )

    def remove(self, ids: Sequence[int] | Tensor | npt.NDArray[Any]) -> int:
        """Delete the vectors stored under ``ids`` (unknown ids are ignored); returns how many."""
        raise NotImplementedError("TODO(08.3): delete vectors by id - see README task 3")

    def search(self, queries: Tensor | npt.NDArray[Any], k: int) -> tuple[Tensor, Tensor]:
        """The ``k`` most cosine-similar stored vectors of each query.

        Args:
            queries: (Q, dim) or (dim,) floating point; normalise them.
            k: results per query, 1 <= k <= len(self) (``checks.check_k``).

        Returns:
            (scores, ids): (Q, k) float32 cosine similarities, best first, and (Q, k) int64 ids.

        Raises:
            ValueError: an empty index, ``k`` out of range, a query of the wrong width.
        """
        raise NotImplementedError(
            "TODO(08.3): exact top-k by chunked matmul and topk - see README task 3"
        )

    def save(self, path: str | Path) -> None:
        """Write the index to ``path`` in a form ``load`` can verify (a format tag and a
        checksum, e.g. ``checks.checksum``)."""
        raise NotImplementedError("TODO(08.3): save the index with a checksum - see README task 3")

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """Read an index written by ``save``.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is not an index, is truncated, or fails its checksum (never
                a bare zipfile/pickle error, never a silently wrong index).
        """
        raise NotImplementedError("TODO(08.3): load and verify a saved index - see README task 3")


class HNSWIndex:
    """Approximate cosine search on a faiss HNSW graph (``faiss.IndexHNSWFlat`` with
    ``faiss.METRIC_INNER_PRODUCT`` over unit-length rows, inside ``faiss.IndexIDMap`` for
    caller-chosen ids).

    Args:
        dim: vector width.
        m: graph degree (neighbours per node per layer).
        ef_construction: candidate list size while building.
        ef_search: candidate list size while searching (a read/write property): the
            recall/latency dial.

    Raises:
        ValueError: a parameter below 1.
    """

    def __init__(
        self, dim: int, *, m: int = 32, ef_construction: int = 200, ef_search: int = 64
    ) -> None:
        raise NotImplementedError("TODO(08.3): build a faiss HNSW index - see README task 3")

    @property
    def ef_search(self) -> int:
        raise NotImplementedError("TODO(08.3): read hnsw.efSearch - see README task 3")

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        raise NotImplementedError("TODO(08.3): set hnsw.efSearch - see README task 3")

    def __len__(self) -> int:
        raise NotImplementedError("TODO(08.3): the number of stored vectors - see README task 3")

    def add(
        self, ids: Sequence[int] | Tensor | npt.NDArray[Any], vectors: Tensor | npt.NDArray[Any]
    ) -> None:
        """Insert ``vectors`` (N, dim) under ``ids`` (N,), normalised (as ``VectorIndex.add``)."""
        raise NotImplementedError("TODO(08.3): add normalised vectors with ids - see README task 3")

    def search(self, queries: Tensor | npt.NDArray[Any], k: int) -> tuple[Tensor, Tensor]:
        """(scores, ids), each (Q, k) (float32, int64), best first; approximate."""
        raise NotImplementedError("TODO(08.3): approximate top-k - see README task 3")


class BM25:
    """Okapi BM25 over pre-tokenized documents, scoring exactly like ``rank_bm25.BM25Okapi``.

    idf(t) = ln(N - n_t + 0.5) - ln(n_t + 0.5) for a term in n_t of N documents; a negative
    idf is replaced by ``epsilon`` x the mean idf over the vocabulary. A query term t adds
    idf(t) * tf (k1 + 1) / (tf + k1 (1 - b + b |d| / avgdl)) to document d (tf: t's count in
    d; |d|: d's length in tokens; avgdl: the mean length). A repeated query term counts each
    time; a term outside the vocabulary adds nothing.

    Args:
        corpus: one token list per document (``words.words(text)``).
        k1, b, epsilon: the BM25 parameters (rank-bm25's defaults).

    Raises:
        ValueError: an empty corpus, or no document with a token (``checks.check_corpus``).
    """

    def __init__(
        self,
        corpus: Sequence[Sequence[str]],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
    ) -> None:
        raise NotImplementedError("TODO(08.4): index the corpus for BM25 - see README task 4")

    def get_scores(self, query: Sequence[str]) -> npt.NDArray[np.float64]:
        """(N,) float64 BM25 score of every document for ``query`` (a token list).

        Raises:
            ValueError: an empty query (``checks.check_query``).
        """
        raise NotImplementedError("TODO(08.4): BM25 scores of every document - see README task 4")

    def search(self, query: Sequence[str], k: int) -> list[Hit]:
        """The ``k`` best documents as ``Hit(index, score)``, best first; equal scores rank
        the lower index first. ``k`` above the corpus size is a ``ValueError``."""
        raise NotImplementedError("TODO(08.4): BM25 top-k - see README task 4")


def hybrid_search(rankings: Sequence[Sequence[Hit]], *, k: int, rrf_k: float = 60.0) -> list[Hit]:
    """Fuse ranked lists (dense, BM25, ...) by reciprocal rank.

    score(d) = sum over the lists holding d of 1 / (rrf_k + rank), where rank is d's position
    in that list (1 for the first hit). Only positions count: the lists' own scores live on
    different scales (cosine in [-1, 1], BM25 unbounded). Returns ``Hit(id, fused score)``,
    best first, at most ``k``; equal fused scores rank the lower id first.

    Raises:
        ValueError: no lists, ``k`` below 1, ``rrf_k`` negative, an id twice in one list.
    """
    raise NotImplementedError("TODO(08.4): reciprocal-rank fusion - see README task 4")


def mmr(query: Tensor, candidates: Tensor, *, k: int, lambda_: float = 0.5) -> list[int]:
    """Maximal marginal relevance: pick ``k`` candidates one at a time, each maximising

        lambda_ * cos(query, c) - (1 - lambda_) * max over already picked s of cos(c, s)

    (the penalty is 0 for the first pick).

    Args:
        query: (D,) vector. candidates: (N, D) vectors; normalise both.
        k: how many to pick, 1 <= k <= N. lambda_: in [0, 1]; 1 is pure relevance.

    Returns:
        Candidate row indices in pick order; equal values pick the lower index.

    Raises:
        ValueError: shapes that do not match, ``k`` out of range, ``lambda_`` outside [0, 1].
    """
    raise NotImplementedError("TODO(08.4): maximal marginal relevance - see README task 4")


PROMPT_HEADER = (
    "Answer the question using only the numbered sources below and cite them as [n]. "
    "If the sources do not contain the answer, say that you do not know."
)
ABSTAIN = "The retrieved documentation does not answer this question."


def build_prompt(
    question: str, chunks: Sequence[Chunk], *, budget_tokens: int, tokenizer: Tokenizer
) -> Prompt:
    """A prompt of numbered sources and the question, within ``budget_tokens``.

    Layout, parts joined by one blank line (``"\\n\\n"``): ``PROMPT_HEADER``; one block
    ``f"[{n}] {chunk.source}\\n{chunk.text.strip()}"`` per included chunk (chunks of one source
    share its number; numbers follow first appearance); ``f"Question: {question.strip()}\\nAnswer:"``.

    Take chunks in the given (rank) order. Drop a chunk whose whitespace-normalised text equals
    an included one's, or whose span lies inside an included chunk of the same source. Skip
    (and go on to the next) a chunk that would make ``len(tokenizer(prompt text))`` exceed
    ``budget_tokens``.

    Returns:
        ``Prompt(text, sources, chunks, tokens)``: ``sources[n - 1]`` is citation [n]'s
        document, ``chunks`` the included ones in order, ``tokens = len(tokenizer(text))``.

    Raises:
        ValueError: an empty question, or a budget too small for the header and question.
        TypeError: ``budget_tokens`` not an int.
    """
    raise NotImplementedError(
        "TODO(08.5): a cited prompt within the token budget - see README task 5"
    )


def answer(
    question: str,
    chunks: Sequence[Chunk],
    *,
    embedder: Embedder,
    budget_tokens: int = 512,
    tokenizer: Tokenizer = str.split,
    max_sentences: int = 3,
    min_score: float = 0.35,
    generator: Callable[[str], str] | None = None,
) -> Answer:
    """Answer from the retrieved ``chunks`` with citations.

    Build the prompt (``build_prompt``). With a ``generator`` (any local model: prompt in,
    text out) the answer is its output; its citations are the valid ``[n]`` it mentions
    (``abstained`` when it cites none). Without one, answer extractively: split the prompt's
    chunks into sentences (``words.units``, leaving out code blocks and fragments under 3
    words, whitespace-normalised), embed the question and the sentences, and keep the
    sentences with the highest cosine to the question, at most ``max_sentences``, only those
    >= ``min_score``, best first, each followed by `` [n]`` of its source, joined by spaces.
    If none qualifies, abstain: text ``ABSTAIN``, no citations, ``abstained=True``.

    Returns:
        ``Answer(question, text, citations, prompt, abstained)``; citations sorted by number.

    Raises:
        ValueError: an empty question, ``max_sentences`` below 1.
    """
    raise NotImplementedError("TODO(08.5): an extractive answer with citations - see README task 5")


def evaluate(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], *, k: int = 10
) -> Evaluation:
    """recall@k, MRR@k and nDCG@k of ranked lists against graded judgements, as trec_eval.

    Args:
        run: query id -> document ids, best first.
        qrels: query id -> {document id: grade}; grade > 0 is relevant; nDCG's gain is the
            grade itself (linear, trec_eval's convention).
        k: the cutoff.

    For each query of ``qrels``: recall@k = relevant documents in the top k / all relevant;
    MRR@k = 1 / rank of the first relevant document in the top k (0 if none); nDCG@k =
    DCG / ideal DCG with DCG = sum over ranks r = 1..k of grade / log2(r + 1), the ideal being
    the judged grades sorted best first. Queries only in ``run`` are ignored.

    Returns:
        ``Evaluation(k, per_query, mean)``: per_query[qid] and mean map "recall@{k}",
        "mrr@{k}", "ndcg@{k}" to floats.

    Raises:
        ValueError: ``k`` below 1, empty qrels, a query without a relevant document, a qrels
            query missing from the run, a document twice in one ranking, a negative grade.
    """
    raise NotImplementedError("TODO(08.6): recall, MRR and nDCG at k - see README task 6")
