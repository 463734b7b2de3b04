"""Challenge 08 - the production-grade solution.

What is special here: the chunker packs whole sentences and code blocks and counts tokens once
per unit; the embedder buckets texts by token length and caps each batch in padded tokens, so a batch
pads to similar lengths and long texts never widen a batch of short ones, and
caches vectors in one SQLite file keyed by model id and content hash; the exact index searches
in fixed-size blocks of rows (bounded memory, one ``topk`` per block, then a merge); BM25
precomputes each posting's score contribution at index time, so a query is a few
``np.add.at`` calls over the postings of its terms; ``evaluate`` is vectorised per query.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from challenge_08_rag import minilm
from challenge_08_rag.checks import (
    as_ids,
    check_chunk_args,
    check_corpus,
    check_k,
    check_query,
    check_texts,
    checksum,
    unit_rows,
)
from challenge_08_rag.records import (
    Answer,
    Chunk,
    Citation,
    Evaluation,
    Hit,
    Prompt,
    Tokenizer,
)
from challenge_08_rag.words import units

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

FloatArray = npt.NDArray[np.float64]

# --------------------------------------------------------------------------------------------
# Task 1: chunking


def _split_long(
    text: str, lo: int, hi: int, max_tokens: int, tokenizer: Tokenizer
) -> list[tuple[int, int, int]]:
    """Cut one unit longer than ``max_tokens`` at whitespace into (start, end, tokens) pieces."""
    pieces: list[tuple[int, int, int]] = []
    start = end = -1
    used = 0
    for match in re.finditer(r"\S+", text[lo:hi]):
        cost = len(tokenizer(match.group()))
        if used and used + cost > max_tokens:
            pieces.append((start, end, used))
            used = 0
        if not used:
            start = lo + match.start()
        end, used = lo + match.end(), used + cost
    pieces.append((start, end, used))
    return pieces


def chunk(
    text: str, *, max_tokens: int, overlap: int, tokenizer: Tokenizer, source: str = ""
) -> list[Chunk]:
    """Split ``text`` into chunks of whole sentences and code blocks with overlap.

    Packs units (sentences; fenced or doctest code blocks) greedily while the chunk's token
    count (the sum of its units' ``len(tokenizer(unit))``) stays within ``max_tokens``. The
    next chunk starts with the previous chunk's last units worth at most ``overlap`` tokens.
    A unit longer than ``max_tokens`` is cut at whitespace into pieces that fit.
    """
    check_chunk_args(text, max_tokens, overlap, tokenizer, source)
    pieces: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for lo, hi in units(text):
        cost = len(tokenizer(text[lo:hi]))
        if cost <= max_tokens:
            pieces.append((lo, hi, cost))
        else:
            pieces += _split_long(text, lo, hi, max_tokens, tokenizer)
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j, used = i, 0
        while j < len(pieces) and used + pieces[j][2] <= max_tokens:
            used += pieces[j][2]
            j += 1
        j = max(j, i + 1)  # a single word over the limit still makes progress
        lo, hi = pieces[i][0], pieces[j - 1][1]
        chunks.append(Chunk(source, lo, hi, text[lo:hi]))
        if j == len(pieces):
            break
        # Step back over trailing units worth <= overlap tokens, but always move forward.
        back, carried = j, 0
        while back - 1 > i and carried + pieces[back - 1][2] <= overlap:
            back -= 1
            carried += pieces[back][2]
        # The next chunk must also fit its first new unit after the carried ones.
        while back < j and carried + pieces[j][2] > max_tokens:
            carried -= pieces[back][2]
            back += 1
        i = back
    return chunks


# --------------------------------------------------------------------------------------------
# Task 2: embeddings

# Padded tokens per forward = batch_size x this: with batch_size 32, 1,024 tokens, i.e. 32
# texts of 32 tokens or 4 of the full 256. Below that, CPU matmuls lose little efficiency, and
# each long text no longer drags up to batch_size - 1 shorter ones to its width.
_TOKENS_PER_TEXT = 32


class Embedder:
    """all-MiniLM-L6-v2 sentence embeddings: (N, 384) float32 rows of unit length.

    Texts are tokenized once (truncated to 256 tokens), sorted by token count and batched in
    that order, so each batch pads only to the longest of similar lengths (length bucketing);
    a batch also stops at ``batch_size`` x 32 padded tokens, so long texts go a few at a time
    and never pad a batch of shorter ones to their width. Rows come back in the caller's order. With ``cache_path``, vectors persist in one SQLite
    file keyed by sha256(model id, text): a text seen before costs a lookup, not a forward.

    Args:
        model_dir: a folder with a BERT checkpoint and tokenizer; ``None`` is the packaged
            all-MiniLM-L6-v2.
        batch_size: at most this many texts per forward pass.
        cache_path: SQLite file for the cache; ``None`` disables caching.

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

        Raises:
            TypeError: ``texts`` is a bare string or holds something other than strings.
        """
        texts = check_texts(texts)
        out = torch.empty(len(texts), self.dim)  # (N, 384)
        keys = [self._key(t) for t in texts]
        cached = self._cache_get(keys)
        todo = [i for i, key in enumerate(keys) if key not in cached]
        for i, key in enumerate(keys):
            if key in cached:
                out[i] = cached[key]
        self.cache_hits += len(texts) - len(todo)
        if todo:
            fresh = self._forward([texts[i] for i in todo])  # (M, 384)
            out[todo] = fresh
            self.encoded += len(todo)
            self._cache_put({keys[i]: fresh[n] for n, i in enumerate(todo)})
        return out

    def _forward(self, texts: list[str]) -> Tensor:
        ids: list[list[int]] = self.tokenizer(
            texts, truncation=True, max_length=minilm.MAX_TOKENS, add_special_tokens=True
        )["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))  # longest first
        # A batch pads to its first (longest) text, so it is capped in padded tokens as well
        # as in texts: many short texts fill one forward, long ones come a few at a time, and
        # short texts never pad up to a long neighbour's width.
        budget = self.batch_size * _TOKENS_PER_TEXT
        out = torch.empty(len(ids), self.dim)
        lo = 0
        with torch.inference_mode():
            while lo < len(order):
                width = len(ids[order[lo]])  # the longest of the bucket
                rows = order[lo : lo + max(1, min(self.batch_size, budget // width))]
                lo += len(rows)
                input_ids = torch.zeros(len(rows), width, dtype=torch.long)  # (B, T), 0 = [PAD]
                mask = torch.zeros(len(rows), width, dtype=torch.long)  # (B, T)
                for r, i in enumerate(rows):
                    input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
                    mask[r, : len(ids[i])] = 1
                hidden = self.model(
                    input_ids=input_ids,
                    attention_mask=mask,
                    token_type_ids=torch.zeros_like(input_ids),
                ).last_hidden_state  # (B, T, 384)
                weights = mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9)  # (B, 384)
                out[rows] = torch.nn.functional.normalize(pooled.float(), dim=-1)
        return out

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_id}\0{text}".encode()).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        assert self.cache_path is not None
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.cache_path)
        db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        return db

    def _cache_get(self, keys: list[str]) -> dict[str, Tensor]:
        if self.cache_path is None or not keys:
            return {}
        found: dict[str, Tensor] = {}
        db = self._connect()
        try:
            unique = sorted(set(keys))
            for lo in range(0, len(unique), 500):  # SQLite caps bound parameters per query
                part = unique[lo : lo + 500]
                marks = ",".join("?" * len(part))
                query = f"SELECT key, vector FROM vectors WHERE key IN ({marks})"
                for key, blob in db.execute(query, part):
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (self.dim,):  # a damaged row is recomputed, not trusted
                        found[key] = torch.from_numpy(vector.copy())
        finally:
            db.close()
        return found

    def _cache_put(self, vectors: dict[str, Tensor]) -> None:
        if self.cache_path is None:
            return
        db = self._connect()
        try:
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(k, v.numpy().astype(np.float32).tobytes()) for k, v in vectors.items()],
                )
        finally:
            db.close()


# --------------------------------------------------------------------------------------------
# Task 3: vector search

_INDEX_FORMAT = "challenge08-vector-index-v1"
_BLOCK_ROWS = 32768  # rows scored per matmul: (Q, 32768) float32 scratch per block


class VectorIndex:
    """Exact cosine-similarity search: rows are stored unit-length, a query's scores are one
    matmul, and the best ``k`` come from ``topk``. Equal to faiss ``IndexFlatIP`` over
    normalised vectors (same ids, same scores to 1e-5).

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
        """Store ``vectors`` (N, dim) under ``ids`` (N,), normalised to unit length.

        Raises:
            ValueError: wrong shape, NaN, a zero vector, or an id already stored or repeated.
            TypeError: ids that are not ints, vectors that are not floating point.
        """
        matrix = unit_rows(vectors, self.dim, "vectors")
        new = as_ids(ids, matrix.shape[0])
        clash = torch.isin(new, self._ids)
        if clash.any():
            raise ValueError(f"ids already in the index: {new[clash][:5].tolist()}")
        self._vectors = torch.cat([self._vectors, matrix])
        self._ids = torch.cat([self._ids, new])

    def remove(self, ids: Sequence[int] | Tensor | npt.NDArray[Any]) -> int:
        """Delete the vectors stored under ``ids`` (unknown ids are ignored); returns how many."""
        gone = torch.isin(self._ids, as_ids(ids, None))
        self._vectors, self._ids = self._vectors[~gone], self._ids[~gone]
        return int(gone.sum())

    def search(self, queries: Tensor | npt.NDArray[Any], k: int) -> tuple[Tensor, Tensor]:
        """The ``k`` most cosine-similar stored vectors of each query.

        Args:
            queries: (Q, dim) or (dim,) floating point; normalised here.
            k: results per query, 1 <= k <= len(self).

        Returns:
            (scores, ids): (Q, k) float32 cosine similarities, best first, and (Q, k) int64 ids.

        Raises:
            ValueError: an empty index, ``k`` out of range, or a query of the wrong width.
        """
        k = check_k(k, len(self))
        q = unit_rows(queries, self.dim, "queries")  # (Q, dim)
        best_scores = torch.full((q.shape[0], 0), -math.inf)  # (Q, <=k) running best
        best_rows = torch.empty(q.shape[0], 0, dtype=torch.int64)
        for lo in range(0, len(self), _BLOCK_ROWS):
            block = self._vectors[lo : lo + _BLOCK_ROWS]  # (B, dim)
            scores = q @ block.T  # (Q, B)
            top = scores.topk(min(k, block.shape[0]), dim=1)  # (Q, k')
            merged = torch.cat([best_scores, top.values], dim=1)  # (Q, <=2k)
            rows = torch.cat([best_rows, top.indices + lo], dim=1)
            keep = merged.topk(min(k, merged.shape[1]), dim=1)  # (Q, k)
            best_scores, best_rows = keep.values, rows.gather(1, keep.indices)
        return best_scores, self._ids[best_rows]

    def save(self, path: str | Path) -> None:
        """Write the index to ``path`` (a .npz with a format tag and a checksum), atomically."""
        path = Path(path)
        ids, vectors = self._ids.numpy(), self._vectors.numpy()
        buffer = io.BytesIO()
        np.savez(
            buffer,
            format=np.array(_INDEX_FORMAT),
            dim=np.array(self.dim),
            ids=ids,
            vectors=vectors,
            checksum=np.array(checksum(ids, vectors)),
        )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """Read an index written by ``save``.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: the file is not an index, is truncated, or fails its checksum.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no index file at {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                tag, dim = str(data["format"]), int(data["dim"])
                ids, vectors = data["ids"], data["vectors"]
                stored = str(data["checksum"])
        except Exception as exc:
            raise ValueError(f"corrupt index file {path}: {type(exc).__name__}: {exc}") from exc
        if tag != _INDEX_FORMAT:
            raise ValueError(
                f"corrupt index file {path}: format {tag!r}, expected {_INDEX_FORMAT!r}"
            )
        if vectors.shape != (ids.shape[0], dim) or checksum(ids, vectors) != stored:
            raise ValueError(f"corrupt index file {path}: checksum or shape mismatch")
        index = cls(dim)
        index._ids = torch.from_numpy(ids.astype(np.int64))
        index._vectors = torch.from_numpy(vectors.astype(np.float32))
        return index


class HNSWIndex:
    """Approximate cosine search with a faiss HNSW graph (``IndexHNSWFlat``, inner product,
    over unit-length rows) under caller-chosen ids.

    Args:
        dim: vector width.
        m: graph degree (neighbours per node per layer); more is better recall, more memory.
        ef_construction: candidate list size while building; more is a better graph.
        ef_search: candidate list size while searching; the recall/latency dial.

    Raises:
        ValueError: a parameter below 1.
    """

    def __init__(
        self, dim: int, *, m: int = 32, ef_construction: int = 200, ef_search: int = 64
    ) -> None:
        import faiss

        for name, value in (("dim", dim), ("m", m), ("ef_construction", ef_construction)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.dim = dim
        self._graph = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        self._graph.hnsw.efConstruction = ef_construction
        self._index = faiss.IndexIDMap(self._graph)
        self.ef_search = ef_search

    @property
    def ef_search(self) -> int:
        return int(self._graph.hnsw.efSearch)

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"ef_search must be a positive int, got {value!r}")
        self._graph.hnsw.efSearch = value

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(
        self, ids: Sequence[int] | Tensor | npt.NDArray[Any], vectors: Tensor | npt.NDArray[Any]
    ) -> None:
        """Insert ``vectors`` (N, dim) under ``ids`` (N,); see ``VectorIndex.add``."""
        import faiss

        matrix = unit_rows(vectors, self.dim, "vectors")
        new = as_ids(ids, matrix.shape[0]).numpy()
        clash = np.isin(new, faiss.vector_to_array(self._index.id_map))  # the ids stored so far
        if clash.any():
            raise ValueError(f"ids already in the index: {new[clash][:5].tolist()}")
        self._index.add_with_ids(matrix.numpy(), new)

    def search(self, queries: Tensor | npt.NDArray[Any], k: int) -> tuple[Tensor, Tensor]:
        """(scores, ids), each (Q, k), best first; approximate (see ``ef_search``)."""
        k = check_k(k, len(self))
        q = unit_rows(queries, self.dim, "queries")
        scores, ids = self._index.search(q.numpy(), k)
        return torch.from_numpy(scores), torch.from_numpy(ids)


# --------------------------------------------------------------------------------------------
# Task 4: BM25, hybrid fusion, MMR


class BM25:
    """Okapi BM25 over pre-tokenized documents, scoring exactly like ``rank_bm25.BM25Okapi``.

    idf(t) = ln(N - n_t + 0.5) - ln(n_t + 0.5); a negative idf (a term in more than half the
    documents) is replaced by ``epsilon`` x the mean idf over the vocabulary. A query term t
    adds idf(t) * tf (k1 + 1) / (tf + k1 (1 - b + b |d| / avgdl)) to document d; a term
    repeated in the query counts each time.

    Args:
        corpus: one token list per document (``words(text)``).
        k1, b, epsilon: the usual BM25 parameters (rank-bm25's defaults).

    Raises:
        ValueError: an empty corpus, or documents without a single token.
    """

    def __init__(
        self,
        corpus: Sequence[Sequence[str]],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
    ) -> None:
        corpus = check_corpus(corpus)
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.size = len(corpus)
        lengths = np.array([len(doc) for doc in corpus], dtype=np.float64)
        self.avgdl = float(lengths.sum()) / self.size
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for d, doc in enumerate(corpus):
            for term, tf in Counter(doc).items():
                docs, tfs = postings.setdefault(term, ([], []))
                docs.append(d)
                tfs.append(tf)
        self.idf = _okapi_idf({t: len(p[0]) for t, p in postings.items()}, self.size, epsilon)
        norm = k1 * (1 - b + b * lengths / self.avgdl)  # (N,) per-document length factor
        # Precompute each posting's whole contribution: a query only adds them up.
        self._postings: dict[str, tuple[npt.NDArray[np.int64], FloatArray]] = {}
        for term, (docs, tfs) in postings.items():
            d_ids = np.array(docs, dtype=np.int64)
            counts = np.array(tfs, dtype=np.float64)
            self._postings[term] = (
                d_ids,
                self.idf[term] * (counts * (k1 + 1) / (counts + norm[d_ids])),
            )

    def get_scores(self, query: Sequence[str]) -> npt.NDArray[np.float64]:
        """(N,) float64 BM25 score of every document for ``query`` (a token list).

        Raises:
            ValueError: an empty query.
        """
        query = check_query(query)
        scores = np.zeros(self.size)
        for term in query:
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]  # a term's postings name each document once
        return scores

    def search(self, query: Sequence[str], k: int) -> list[Hit]:
        """The ``k`` best documents, best first; equal scores rank the lower index first."""
        k = check_k(k, self.size)
        scores = self.get_scores(query)
        if k < self.size:
            part = np.argpartition(-scores, k - 1)[:k]
            cutoff = scores[part].min()
            part = np.flatnonzero(scores >= cutoff)  # every tie at the cutoff competes
        else:
            part = np.arange(self.size)
        order = part[np.lexsort((part, -scores[part]))][:k]
        return [Hit(int(i), float(scores[i])) for i in order]


def _okapi_idf(df: Mapping[str, int], n: int, epsilon: float) -> dict[str, float]:
    idf = {t: math.log(n - f + 0.5) - math.log(f + 0.5) for t, f in df.items()}
    floor = epsilon * (sum(idf.values()) / len(idf))
    return {t: (floor if v < 0 else v) for t, v in idf.items()}


def hybrid_search(rankings: Sequence[Sequence[Hit]], *, k: int, rrf_k: float = 60.0) -> list[Hit]:
    """Fuse ranked lists (dense, BM25, ...) by reciprocal rank: score(d) = sum over lists
    holding d of 1 / (rrf_k + rank), rank 1 for a list's first hit. Only positions count, not
    the lists' scores (which live on different scales). Equal fused scores rank the lower id
    first; returns at most ``k`` hits.

    Raises:
        ValueError: no lists, ``k`` below 1, ``rrf_k`` negative, an id twice in one list.
    """
    if not rankings:
        raise ValueError("rankings is empty: give at least one ranked list")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if rrf_k < 0:
        raise ValueError(f"rrf_k must be >= 0, got {rrf_k!r}")
    fused: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        ids = [hit.id for hit in ranking]
        if len(set(ids)) != len(ids):
            raise ValueError(f"rankings[{n}] lists an id more than once")
        for rank, doc in enumerate(ids, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (rrf_k + rank)
    order = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [Hit(doc, score) for doc, score in order[:k]]


def mmr(query: Tensor, candidates: Tensor, *, k: int, lambda_: float = 0.5) -> list[int]:
    """Maximal marginal relevance: pick ``k`` candidates one at a time, each maximising
    lambda_ * cos(query, c) - (1 - lambda_) * max over picked s of cos(c, s).

    Args:
        query: (D,) vector. candidates: (N, D) vectors (normalised here).
        k: how many to pick (at most N). lambda_: 1 is pure relevance, 0 pure diversity.

    Returns:
        Candidate row indices in pick order; equal values pick the lower index.

    Raises:
        ValueError: shapes that do not match, ``k`` out of range, ``lambda_`` outside [0, 1].
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_!r}")
    if not isinstance(candidates, Tensor) or candidates.ndim != 2:
        raise ValueError("candidates must be an (N, D) tensor")
    if not isinstance(query, Tensor) or query.shape != (candidates.shape[1],):
        raise ValueError(f"query must have shape ({candidates.shape[1]},) to match candidates")
    c = unit_rows(candidates, candidates.shape[1], "candidates").double()  # (N, D)
    q = unit_rows(query, candidates.shape[1], "query").double()[0]  # (D,)
    k = check_k(k, c.shape[0])
    relevance = c @ q  # (N,)
    similarity = c @ c.T  # (N, N)
    redundancy = torch.full_like(relevance, -math.inf)  # max similarity to a picked one
    picked: list[int] = []
    available = torch.ones_like(relevance, dtype=torch.bool)
    for _ in range(k):
        penalty = redundancy.clamp_min(-1.0) if picked else torch.zeros_like(relevance)
        value = lambda_ * relevance - (1 - lambda_) * penalty
        value[~available] = -math.inf
        best = int(value.argmax())  # the first maximum: lower index on ties
        picked.append(best)
        available[best] = False
        redundancy = torch.maximum(redundancy, similarity[best])
    return picked


# --------------------------------------------------------------------------------------------
# Task 5: cited prompts and answers

PROMPT_HEADER = (
    "Answer the question using only the numbered sources below and cite them as [n]. "
    "If the sources do not contain the answer, say that you do not know."
)
ABSTAIN = "The retrieved documentation does not answer this question."


def _normalised(text: str) -> str:
    return " ".join(text.split())


def build_prompt(
    question: str, chunks: Sequence[Chunk], *, budget_tokens: int, tokenizer: Tokenizer
) -> Prompt:
    """A prompt of numbered sources and the question, within ``budget_tokens``.

    Layout: ``PROMPT_HEADER``, then one block ``[n] <source>\\n<chunk text>`` per chunk (chunks
    of one source share its number; numbers follow first appearance), then
    ``Question: <question>\\nAnswer:``, parts separated by blank lines. Chunks are taken in the
    given (rank) order; a chunk whose text (whitespace-normalised) repeats an included one, or
    whose span lies inside an included chunk of the same source, is dropped; a chunk that
    would push ``len(tokenizer(prompt))`` over the budget is skipped and the next one tried.

    Raises:
        ValueError: an empty question, or a budget too small for the header and question.
    """
    if not isinstance(question, str) or not question.strip():
        raise ValueError("question is empty")
    if not isinstance(budget_tokens, int) or isinstance(budget_tokens, bool):
        raise TypeError(f"budget_tokens must be an int, got {type(budget_tokens).__name__}")
    tail = f"Question: {question.strip()}\nAnswer:"

    def render(picked: list[Chunk]) -> tuple[str, tuple[str, ...]]:
        numbers: dict[str, int] = {}
        blocks = []
        for c in picked:
            n = numbers.setdefault(c.source, len(numbers) + 1)
            blocks.append(f"[{n}] {c.source}\n{c.text.strip()}")
        return "\n\n".join([PROMPT_HEADER, *blocks, tail]), tuple(numbers)

    text, sources = render([])
    if len(tokenizer(text)) > budget_tokens:
        raise ValueError(
            f"budget_tokens={budget_tokens} cannot hold even the header and the question "
            f"({len(tokenizer(text))} tokens)"
        )
    picked: list[Chunk] = []
    for c in chunks:
        duplicate = any(
            _normalised(c.text) == _normalised(p.text)
            or (c.source == p.source and p.start <= c.start and c.end <= p.end)
            for p in picked
        )
        if duplicate:
            continue
        trial, trial_sources = render([*picked, c])
        if len(tokenizer(trial)) <= budget_tokens:
            picked.append(c)
            text, sources = trial, trial_sources
    return Prompt(text, sources, tuple(picked), len(tokenizer(text)))


def _sentences(text: str) -> list[str]:
    """The prose sentences of a chunk (code blocks left out: they quote, not explain)."""
    out = []
    for lo, hi in units(text):
        sentence = text[lo:hi]
        if not sentence.lstrip().startswith((">>>", "```")) and len(sentence.split()) >= 3:
            out.append(_normalised(sentence))
    return out


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

    Builds the prompt (``build_prompt``). With a ``generator`` (any local model: prompt text
    in, answer text out) the answer is its output, citing the ``[n]`` it mentions. Without one
    the answer is extractive: the prompt's sentences most similar to the question (cosine of
    ``embedder`` vectors), at most ``max_sentences``, best first, each followed by its source's
    ``[n]``. If no sentence reaches ``min_score`` the answer abstains (``ABSTAIN``, no
    citations) rather than quote something unrelated.

    Raises:
        ValueError: an empty question, ``max_sentences`` below 1.
    """
    if not isinstance(max_sentences, int) or max_sentences < 1:
        raise ValueError(f"max_sentences must be a positive int, got {max_sentences!r}")
    prompt = build_prompt(question, chunks, budget_tokens=budget_tokens, tokenizer=tokenizer)
    number = {source: n for n, source in enumerate(prompt.sources, start=1)}
    if generator is not None:
        text = generator(prompt.text)
        cited = sorted(
            {int(m) for m in re.findall(r"\[(\d+)\]", text) if 0 < int(m) <= len(prompt.sources)}
        )
        citations = tuple(Citation(n, prompt.sources[n - 1]) for n in cited)
        return Answer(question, text, citations, prompt, abstained=not citations)
    candidates = [(s, c.source) for c in prompt.chunks for s in _sentences(c.text)]
    if candidates:
        vectors = embedder.encode([question, *(s for s, _ in candidates)])  # (1 + S, 384)
        scores = (vectors[1:] @ vectors[0]).tolist()  # (S,)
        ranked = sorted(range(len(candidates)), key=lambda i: -scores[i])
        best = [i for i in ranked[:max_sentences] if scores[i] >= min_score]
    else:
        best = []
    if not best:
        return Answer(question, ABSTAIN, (), prompt, abstained=True)
    parts, used = [], set()
    for i in best:
        sentence, source = candidates[i]
        parts.append(f"{sentence} [{number[source]}]")
        used.add(number[source])
    citations = tuple(Citation(n, prompt.sources[n - 1]) for n in sorted(used))
    return Answer(question, " ".join(parts), citations, prompt)


# --------------------------------------------------------------------------------------------
# Task 6: retrieval metrics


def evaluate(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], *, k: int = 10
) -> Evaluation:
    """recall@k, MRR@k and nDCG@k of ranked lists against graded judgements (trec_eval's).

    Args:
        run: query id -> document ids, best first (at least the top ``k``).
        qrels: query id -> {document id: grade}; grade > 0 is relevant, and nDCG's gain is
            the grade itself; every query needs one relevant document.
        k: the cutoff.

    recall@k = relevant in the top k / all relevant; MRR@k = 1 / rank of the first relevant
    hit in the top k (0 if none); nDCG@k = DCG / ideal DCG, DCG = sum over the top k of
    grade / log2(rank + 1), the ideal ranking being every judged document by grade, best
    first. Means are over the queries of ``qrels``; run-only queries are ignored.

    Raises:
        ValueError: ``k`` below 1, empty qrels, a query without relevant documents, a qrels
            query missing from the run, a document twice in one ranking, a negative grade.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if not qrels:
        raise ValueError("qrels is empty: nothing to evaluate")
    discount = 1.0 / np.log2(np.arange(2, k + 2))  # (k,) 1/log2(rank + 1) for rank 1..k
    per_query: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        if any(g < 0 for g in judged.values()):
            raise ValueError(f"qrels[{qid!r}] holds a negative grade")
        relevant = {d for d, g in judged.items() if g > 0}
        if not relevant:
            raise ValueError(f"qrels[{qid!r}] has no relevant document (grade > 0)")
        if qid not in run:
            raise ValueError(f"run has no ranking for query {qid!r}")
        ranking = list(run[qid])
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"run[{qid!r}] lists a document more than once")
        gains = np.array([judged.get(d, 0) for d in ranking[:k]], dtype=np.float64)  # (<=k,)
        hits = np.flatnonzero(gains > 0)
        ideal = np.sort(np.array([g for g in judged.values() if g > 0], dtype=np.float64))[::-1][:k]
        per_query[qid] = {
            f"recall@{k}": len(hits) / len(relevant),
            f"mrr@{k}": 1.0 / (hits[0] + 1) if len(hits) else 0.0,
            f"ndcg@{k}": float(gains @ discount[: len(gains)])
            / float(ideal @ discount[: len(ideal)]),
        }
    names = [f"recall@{k}", f"mrr@{k}", f"ndcg@{k}"]
    mean = {name: float(np.mean([m[name] for m in per_query.values()])) for name in names}
    return Evaluation(k, per_query, mean)
