"""Task 4: reciprocal-rank fusion and maximal marginal relevance."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
import torch
from challenge_08_rag.records import Hit
from hypothesis import given, settings
from hypothesis import strategies as st


def _rrf_oracle(rankings: list[list[int]], rrf_k: float) -> dict[int, float]:
    """The definition, written out: sum of 1 / (rrf_k + 1-based position)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for position, doc in enumerate(ranking):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (rrf_k + position + 1)
    return fused


@pytest.mark.task(4)
def test_rrf_worked_example(impl: ModuleType) -> None:
    dense = [Hit(7, 0.91), Hit(3, 0.90), Hit(5, 0.42)]  # cosine scores
    sparse = [Hit(3, 31.0), Hit(9, 12.5), Hit(7, 0.3)]  # BM25 scores, another scale
    fused = impl.hybrid_search([dense, sparse], k=10, rrf_k=60)
    # 3: 1/62 + 1/61; 7: 1/61 + 1/63; 9: 1/62; 5: 1/63
    assert [h.id for h in fused] == [3, 7, 9, 5]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61, rel=1e-12)
    assert [h.id for h in impl.hybrid_search([dense, sparse], k=2)] == [3, 7]


@pytest.mark.task(4)
@settings(max_examples=40, deadline=None)
@given(
    rankings=st.lists(
        st.lists(st.integers(0, 30), max_size=12, unique=True), min_size=1, max_size=4
    ),
    rrf_k=st.sampled_from([0.0, 1.0, 60.0]),
    scales=st.lists(st.floats(1e-3, 1e3), min_size=4, max_size=4),
)
def test_rrf_uses_ranks_not_scores(
    impl: ModuleType, rankings: list[list[int]], rrf_k: float, scales: list[float]
) -> None:
    # Each list carries scores on its own scale (descending); fusion must ignore them.
    hit_lists = [
        [Hit(doc, scale * (len(r) - pos)) for pos, doc in enumerate(r)]
        for r, scale in zip(rankings, scales, strict=False)
    ]
    want = _rrf_oracle(rankings, rrf_k)
    order = sorted(want, key=lambda d: (-want[d], d))
    fused = impl.hybrid_search(hit_lists, k=50, rrf_k=rrf_k)
    assert [h.id for h in fused] == order
    assert np.allclose([h.score for h in fused], [want[d] for d in order], rtol=1e-12, atol=0)


@pytest.mark.task(4)
def test_rrf_bad_input(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="rankings"):
        impl.hybrid_search([], k=3)
    with pytest.raises(ValueError, match="k"):
        impl.hybrid_search([[Hit(1, 1.0)]], k=0)
    with pytest.raises(ValueError, match="rrf_k"):
        impl.hybrid_search([[Hit(1, 1.0)]], k=1, rrf_k=-1)
    with pytest.raises(ValueError, match="more than once"):
        impl.hybrid_search([[Hit(1, 1.0), Hit(1, 0.5)]], k=1)


def _mmr_oracle(query: torch.Tensor, cands: torch.Tensor, k: int, lam: float) -> list[int]:
    """Brute force over numpy, from the definition."""
    c = cands.double().numpy()
    c = c / np.linalg.norm(c, axis=1, keepdims=True)
    q = query.double().numpy() / np.linalg.norm(query.double().numpy())
    picked: list[int] = []
    for _ in range(k):
        best, value = -1, -np.inf
        for i in range(len(c)):
            if i in picked:
                continue
            penalty = max((float(c[i] @ c[s]) for s in picked), default=0.0)
            v = lam * float(c[i] @ q) - (1 - lam) * penalty
            if v > value + 1e-12:
                best, value = i, v
        picked.append(best)
    return picked


@pytest.mark.task(4)
def test_mmr_skips_near_duplicates(impl: ModuleType) -> None:
    query = torch.tensor([1.0, 0.0, 0.0])
    cands = torch.tensor([
        [0.9, 0.1, 0.0],  # most relevant
        [0.9, 0.1, 0.001],  # a near copy of 0
        [0.7, 0.0, 0.7],  # less relevant, different
    ])  # fmt: skip
    assert impl.mmr(query, cands, k=2, lambda_=1.0) == [0, 1]  # pure relevance keeps the copy
    assert impl.mmr(query, cands, k=2, lambda_=0.5) == [0, 2]  # diversity drops it
    assert impl.mmr(query, cands * 5.0, k=2, lambda_=0.5) == [0, 2], "scale must not matter"


@pytest.mark.task(4)
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 12),
    lam=st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]),
    seed=st.integers(0, 999),
)
def test_mmr_equals_definition(impl: ModuleType, n: int, k: int, lam: float, seed: int) -> None:
    k = min(k, n)
    gen = torch.Generator().manual_seed(seed)
    query, cands = torch.randn(6, generator=gen), torch.randn(n, 6, generator=gen) * 3
    picked = impl.mmr(query, cands, k=k, lambda_=lam)
    assert picked == _mmr_oracle(query, cands, k, lam)
    assert len(set(picked)) == k


@pytest.mark.task(4)
def test_mmr_bad_input(impl: ModuleType) -> None:
    query, cands = torch.ones(3), torch.eye(3)
    with pytest.raises(ValueError, match="lambda_"):
        impl.mmr(query, cands, k=1, lambda_=1.5)
    with pytest.raises(ValueError, match="k"):
        impl.mmr(query, cands, k=4)
    with pytest.raises(ValueError, match="query"):
        impl.mmr(torch.ones(4), cands, k=1)
