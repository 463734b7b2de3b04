"""Task 4: BM25 scores equal rank-bm25's BM25Okapi, on real docstrings and on edge cases."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from challenge_08_rag.records import Document
from challenge_08_rag.words import words
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi  # type: ignore[import-untyped]

from prep.testing import assert_close

QUERIES = [
    "mask future positions in attention",
    "loss for classification from raw logits",
    "the the the of",  # stop words: idf floored by epsilon
    "resize image bilinear bilinear",  # a repeated term counts twice
    "zzz_not_a_word",  # out of vocabulary: all zeros
]


@pytest.mark.task(4)
def test_scores_equal_rank_bm25_on_real_docs(
    impl: ModuleType, functional_docs: list[Document]
) -> None:
    corpus = [words(d.text) for d in functional_docs]
    ours, ref = impl.BM25(corpus), BM25Okapi(corpus)
    for query in QUERIES:
        q = words(query)
        # Same formula in float64; the order of additions may differ.
        assert_close(
            ours.get_scores(q),
            ref.get_scores(q),
            rtol=1e-12,
            atol=1e-12,
            task=4,
            what=f"BM25 scores of {query!r}",
        )


@pytest.mark.task(4)
@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (1.5, 0.0), (2.0, 1.0)])
def test_parameters_match(
    impl: ModuleType, functional_docs: list[Document], k1: float, b: float
) -> None:
    corpus = [words(d.text) for d in functional_docs[:40]]
    q = words("apply dropout during training")
    want = BM25Okapi(corpus, k1=k1, b=b).get_scores(q)
    assert_close(
        impl.BM25(corpus, k1=k1, b=b).get_scores(q),
        want,
        rtol=1e-12,
        atol=1e-12,
        task=4,
        what="scores",
    )


@pytest.mark.task(4)
@settings(max_examples=30, deadline=None)
@given(
    corpus=st.lists(
        st.lists(st.sampled_from("abcdefg"), max_size=12), min_size=1, max_size=15
    ).filter(any),
    query=st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=5),
)
def test_scores_equal_rank_bm25_on_any_corpus(
    impl: ModuleType, corpus: list[list[str]], query: list[str]
) -> None:
    # Tiny vocabularies make terms common: negative idf and the epsilon floor get exercised.
    want = BM25Okapi(corpus).get_scores(query)
    assert_close(
        impl.BM25(corpus).get_scores(query), want, rtol=1e-12, atol=1e-12, task=4, what="scores"
    )


@pytest.mark.task(4)
def test_search_ranks_best_first_and_breaks_ties_by_index(impl: ModuleType) -> None:
    corpus = [["cat"], ["dog", "cat"], ["cat"], ["bird"], ["dog"]]
    scores = BM25Okapi(corpus).get_scores(["cat"])
    hits = impl.BM25(corpus).search(["cat"], 4)
    assert [h.id for h in hits] == [0, 2, 1, 3]  # 0 and 2 tie; 3 and 4 tie at zero
    assert_close(
        [h.score for h in hits], scores[[0, 2, 1, 3]], rtol=1e-12, task=4, what="hit scores"
    )


@pytest.mark.task(4)
def test_bad_input(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="corpus"):
        impl.BM25([])
    with pytest.raises(ValueError, match="corpus"):
        impl.BM25([[], []])
    with pytest.raises(TypeError, match="corpus"):
        impl.BM25(["a string, not tokens"])
    bm25 = impl.BM25([["a", "b"], ["b"]])
    with pytest.raises(ValueError, match="query"):
        bm25.get_scores([])
    with pytest.raises(TypeError, match="query"):
        bm25.get_scores("a b")
    with pytest.raises(ValueError, match="k=3"):
        bm25.search(["a"], 3)
    assert np.all(bm25.get_scores(["zzz"]) == 0)
