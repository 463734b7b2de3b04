"""Known wrong: "reciprocal rank" fusion that puts each list's score where the rank belongs,
1 / (rrf_k + score): BM25's unbounded scores and cosine's [-1, 1] then decide the order
instead of positions (caught by test_rrf_worked_example and the scale-invariance test)."""

from __future__ import annotations

from collections.abc import Sequence

from challenge_08_rag.records import Hit

from prep.impl import patched


def _fuse_scores(rankings: Sequence[Sequence[Hit]], *, k: int, rrf_k: float = 60.0) -> list[Hit]:
    if not rankings:
        raise ValueError("rankings is empty: give at least one ranked list")
    if k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    fused: dict[int, float] = {}
    for ranking in rankings:
        for hit in ranking:
            fused[hit.id] = fused.get(hit.id, 0.0) + 1.0 / (rrf_k + hit.score)  # the bug
    order = sorted(fused, key=lambda d: (-fused[d], d))
    return [Hit(d, fused[d]) for d in order[:k]]


IMPLEMENTATION = patched("challenge_08_rag.solution", hybrid_search=_fuse_scores)

TASK = 4  # whose tests reject it: `prep verify` runs them first
