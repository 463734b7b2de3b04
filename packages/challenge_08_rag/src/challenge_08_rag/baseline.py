"""Challenge 08 - the baseline: simple and obviously correct, in the most direct way.

What is special here: the chunker re-tokenizes the whole candidate chunk at every step
(quadratic, but the token count is exactly what the tokenizer says); the embedder batches texts
in the order given, so a short text in a batch with a long one pays for the padding; the exact
index scores every stored vector and sorts all of them; BM25 keeps a term-frequency dict per
document and loops over all documents for every query term (rank-bm25's own approach); MMR and
the metrics are Python loops. ``HNSWIndex``, ``build_prompt`` and ``answer`` are the
solution's: they are not where the time goes.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
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
from challenge_08_rag.records import Chunk, Evaluation, Hit, Tokenizer
from challenge_08_rag.solution import HNSWIndex, answer, build_prompt
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

_INDEX_FORMAT = "challenge08-vector-index-v1"


def _pieces(
    text: str, lo: int, hi: int, max_tokens: int, tokenizer: Tokenizer
) -> list[tuple[int, int]]:
    """A unit longer than ``max_tokens`` cut at whitespace: grow each piece word by word."""
    words = [(lo + m.start(), lo + m.end()) for m in re.finditer(r"\S+", text[lo:hi])]
    out: list[tuple[int, int]] = []
    first = 0
    for i in range(1, len(words) + 1):
        if i == len(words) or len(tokenizer(text[words[first][0] : words[i][1]])) > max_tokens:
            out.append((words[first][0], words[i - 1][1]))
            first = i
    return out


def chunk(
    text: str, *, max_tokens: int, overlap: int, tokenizer: Tokenizer, source: str = ""
) -> list[Chunk]:
    """Split ``text`` into chunks of whole sentences and code blocks with overlap (see the
    starter for the full contract)."""
    check_chunk_args(text, max_tokens, overlap, tokenizer, source)
    spans: list[tuple[int, int]] = []
    for lo, hi in units(text):
        if len(tokenizer(text[lo:hi])) <= max_tokens:
            spans.append((lo, hi))
        else:
            spans += _pieces(text, lo, hi, max_tokens, tokenizer)

    def tokens(a: int, b: int) -> int:  # units a..b-1 as one chunk, tokenized whole
        return len(tokenizer(text[spans[a][0] : spans[b - 1][1]])) if b > a else 0

    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and tokens(i, j + 1) <= max_tokens:
            j += 1
        chunks.append(
            Chunk(source, spans[i][0], spans[j - 1][1], text[spans[i][0] : spans[j - 1][1]])
        )
        if j == len(spans):
            break
        back = j
        while back - 1 > i and tokens(back - 1, j) <= overlap:
            back -= 1
        while back < j and tokens(back, j) + tokens(j, j + 1) > max_tokens:
            back += 1
        i = back
    return chunks


class Embedder:
    """all-MiniLM-L6-v2 sentence embeddings, batched in input order (see the starter)."""

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
        self.cache_hits = 0
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> Tensor:
        """(N, 384) float32 unit rows, in input order."""
        texts = check_texts(texts)
        rows: list[Tensor] = []
        for text in texts:
            vector = self._lookup(text)
            if vector is None:
                rows.append(torch.full((self.dim,), math.nan))
            else:
                rows.append(vector)
                self.cache_hits += 1
        todo = [i for i, row in enumerate(rows) if bool(row.isnan().any())]
        for lo in range(0, len(todo), self.batch_size):
            batch = todo[lo : lo + self.batch_size]
            inputs = self.tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=minilm.MAX_TOKENS,
                return_tensors="pt",
            )
            with torch.no_grad():
                hidden = self.model(**inputs).last_hidden_state  # (B, T, 384)
            mask = inputs["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1)  # (B, 384)
            vectors = torch.nn.functional.normalize(pooled, dim=-1)
            for i, vector in zip(batch, vectors, strict=True):
                rows[i] = vector
                self._store(texts[i], vector)
            self.encoded += len(batch)
        return torch.stack(rows) if rows else torch.empty(0, self.dim)

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_id}\0{text}".encode()).hexdigest()

    def _db(self) -> sqlite3.Connection:
        assert self.cache_path is not None
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.cache_path)
        db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")
        return db

    def _lookup(self, text: str) -> Tensor | None:
        if self.cache_path is None:
            return None
        db = self._db()
        try:
            row = db.execute(
                "SELECT vector FROM vectors WHERE key = ?", (self._key(text),)
            ).fetchone()
        finally:
            db.close()
        if row is None or len(row[0]) != 4 * self.dim:
            return None
        return torch.from_numpy(np.frombuffer(row[0], dtype=np.float32).copy())

    def _store(self, text: str, vector: Tensor) -> None:
        if self.cache_path is None:
            return
        db = self._db()
        try:
            with db:
                db.execute(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    (self._key(text), vector.numpy().astype(np.float32).tobytes()),
                )
        finally:
            db.close()


class VectorIndex:
    """Exact cosine search: score every stored vector, sort all scores (see the starter)."""

    def __init__(self, dim: int) -> None:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        self.dim = dim
        self._vectors = torch.empty(0, dim)
        self._ids = torch.empty(0, dtype=torch.int64)

    def __len__(self) -> int:
        return int(self._ids.numel())

    @property
    def ids(self) -> Tensor:
        """The stored ids, in storage order."""
        return self._ids.clone()

    def add(
        self, ids: Sequence[int] | Tensor | npt.NDArray[Any], vectors: Tensor | npt.NDArray[Any]
    ) -> None:
        """Store unit-length copies of ``vectors`` under ``ids``."""
        matrix = unit_rows(vectors, self.dim, "vectors")
        new = as_ids(ids, matrix.shape[0])
        for i in new.tolist():
            if i in set(self._ids.tolist()):
                raise ValueError(f"ids already in the index: {[i]}")
        self._vectors = torch.cat([self._vectors, matrix])
        self._ids = torch.cat([self._ids, new])

    def remove(self, ids: Sequence[int] | Tensor | npt.NDArray[Any]) -> int:
        """Delete the vectors under ``ids``; returns how many."""
        gone = set(as_ids(ids, None).tolist())
        keep = [r for r, i in enumerate(self._ids.tolist()) if i not in gone]
        removed = len(self) - len(keep)
        self._vectors, self._ids = self._vectors[keep], self._ids[keep]
        return removed

    def search(self, queries: Tensor | npt.NDArray[Any], k: int) -> tuple[Tensor, Tensor]:
        """(scores, ids), each (Q, k), best first."""
        k = check_k(k, len(self))
        q = unit_rows(queries, self.dim, "queries")  # (Q, dim)
        scores = q @ self._vectors.T  # (Q, N)
        order = scores.argsort(dim=1, descending=True, stable=True)[:, :k]  # (Q, k)
        return scores.gather(1, order), self._ids[order]

    def save(self, path: str | Path) -> None:
        """Write the index to ``path``."""
        ids, vectors = self._ids.numpy(), self._vectors.numpy()
        with Path(path).open("wb") as handle:
            np.savez(
                handle,
                format=np.array(_INDEX_FORMAT),
                dim=np.array(self.dim),
                ids=ids,
                vectors=vectors,
                checksum=np.array(checksum(ids, vectors)),
            )

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """Read an index written by ``save``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no index file at {path}")
        try:
            data = dict(np.load(path, allow_pickle=False))
        except Exception as exc:
            raise ValueError(f"corrupt index file {path}: {exc}") from exc
        if set(data) != {"format", "dim", "ids", "vectors", "checksum"}:
            raise ValueError(f"corrupt index file {path}: missing arrays")
        if str(data["format"]) != _INDEX_FORMAT:
            raise ValueError(f"corrupt index file {path}: not a vector index")
        if checksum(data["ids"], data["vectors"]) != str(data["checksum"]):
            raise ValueError(f"corrupt index file {path}: checksum mismatch")
        index = cls(int(data["dim"]))
        index._ids = torch.from_numpy(data["ids"].astype(np.int64))
        index._vectors = torch.from_numpy(data["vectors"].astype(np.float32))
        return index


class BM25:
    """Okapi BM25 exactly like ``rank_bm25.BM25Okapi`` (see the starter)."""

    def __init__(
        self,
        corpus: Sequence[Sequence[str]],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
    ) -> None:
        docs = check_corpus(corpus)
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.size = len(docs)
        self.doc_len = [len(d) for d in docs]
        self.avgdl = sum(self.doc_len) / self.size
        self.doc_freqs = [Counter(d) for d in docs]
        df: Counter[str] = Counter()
        for freqs in self.doc_freqs:
            df.update(freqs.keys())
        idf = {t: math.log(self.size - n + 0.5) - math.log(n + 0.5) for t, n in df.items()}
        floor = epsilon * sum(idf.values()) / len(idf)
        self.idf = {t: floor if v < 0 else v for t, v in idf.items()}

    def get_scores(self, query: Sequence[str]) -> npt.NDArray[np.float64]:
        """(N,) float64 scores."""
        terms = check_query(query)
        scores = np.zeros(self.size)
        lengths = np.array(self.doc_len, dtype=np.float64)
        for term in terms:
            tf = np.array([freqs.get(term, 0) for freqs in self.doc_freqs], dtype=np.float64)
            norm = self.k1 * (1 - self.b + self.b * lengths / self.avgdl)
            scores += self.idf.get(term, 0.0) * (tf * (self.k1 + 1) / (tf + norm))
        return scores

    def search(self, query: Sequence[str], k: int) -> list[Hit]:
        """The ``k`` best documents, best first, lower index first on ties."""
        k = check_k(k, self.size)
        scores = self.get_scores(query)
        order = sorted(range(self.size), key=lambda i: (-scores[i], i))[:k]
        return [Hit(i, float(scores[i])) for i in order]


def hybrid_search(rankings: Sequence[Sequence[Hit]], *, k: int, rrf_k: float = 60.0) -> list[Hit]:
    """Reciprocal-rank fusion of ranked lists (see the starter)."""
    if not rankings:
        raise ValueError("rankings is empty: give at least one ranked list")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if rrf_k < 0:
        raise ValueError(f"rrf_k must be >= 0, got {rrf_k!r}")
    fused: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        if len({h.id for h in ranking}) != len(ranking):
            raise ValueError(f"rankings[{n}] lists an id more than once")
        for position, hit in enumerate(ranking):
            fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (rrf_k + position + 1)
    best = sorted(fused, key=lambda i: (-fused[i], i))[:k]
    return [Hit(i, fused[i]) for i in best]


def mmr(query: Tensor, candidates: Tensor, *, k: int, lambda_: float = 0.5) -> list[int]:
    """Maximal marginal relevance, one Python loop per pick (see the starter)."""
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"lambda_ must be in [0, 1], got {lambda_!r}")
    if not isinstance(candidates, Tensor) or candidates.ndim != 2:
        raise ValueError("candidates must be an (N, D) tensor")
    if not isinstance(query, Tensor) or query.shape != (candidates.shape[1],):
        raise ValueError(f"query must have shape ({candidates.shape[1]},) to match candidates")
    c = unit_rows(candidates, candidates.shape[1], "candidates").double()
    q = unit_rows(query, candidates.shape[1], "query").double()[0]
    k = check_k(k, c.shape[0])
    picked: list[int] = []
    for _ in range(k):
        best, best_value = -1, -math.inf
        for i in range(c.shape[0]):
            if i in picked:
                continue
            redundancy = max((float(c[i] @ c[s]) for s in picked), default=0.0)
            value = lambda_ * float(c[i] @ q) - (1 - lambda_) * redundancy
            if value > best_value:
                best, best_value = i, value
        picked.append(best)
    return picked


def evaluate(
    run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], *, k: int = 10
) -> Evaluation:
    """recall@k, MRR@k, nDCG@k per query and their means (see the starter)."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if not qrels:
        raise ValueError("qrels is empty: nothing to evaluate")
    per_query: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        if any(g < 0 for g in judged.values()):
            raise ValueError(f"qrels[{qid!r}] holds a negative grade")
        relevant = [d for d, g in judged.items() if g > 0]
        if not relevant:
            raise ValueError(f"qrels[{qid!r}] has no relevant document (grade > 0)")
        if qid not in run:
            raise ValueError(f"run has no ranking for query {qid!r}")
        ranking = list(run[qid])
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"run[{qid!r}] lists a document more than once")
        top = ranking[:k]
        found = [d for d in top if judged.get(d, 0) > 0]
        first = next((r for r, d in enumerate(top, start=1) if judged.get(d, 0) > 0), None)
        dcg = sum(judged.get(d, 0) / math.log2(r + 1) for r, d in enumerate(top, start=1))
        best = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
        ideal = sum(g / math.log2(r + 1) for r, g in enumerate(best, start=1))
        per_query[qid] = {
            f"recall@{k}": len(found) / len(relevant),
            f"mrr@{k}": 1.0 / first if first else 0.0,
            f"ndcg@{k}": dcg / ideal,
        }
    names = [f"recall@{k}", f"mrr@{k}", f"ndcg@{k}"]
    mean = {n: sum(m[n] for m in per_query.values()) / len(per_query) for n in names}
    return Evaluation(k, per_query, mean)
